"""The exchange audit log: entries chain, the chain verifies, and changing or deleting an entry is caught and named
(on SQLite and on the real PostgreSQL); concurrent appenders do not fork the chain; the CLI exits non-zero."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from jilin_pipelines.base import metadata
from jilin_pipelines.cli import main
from jilin_pipelines.privacy import AuditEntry, AuditError, head, record, verify
from jilin_pipelines.privacy.audit import GENESIS, audit_key, entry_hash

T0 = datetime(2025, 6, 2, 9, 30, 0, 123456)


def entries(n: int, start: int = 0) -> list[AuditEntry]:
    return [
        AuditEntry(
            consumer="scenario/commercial_vehicle_safety",
            purpose="commercial_vehicle_safety",
            dataset="traffic_police.violations" if i % 2 else "transport.road_transport_permits",
            fields=["plate_no", "driver_id", "plate_no"] if i % 2 else ["status", "plate_no"],
            record_count=100 + i,
            run_id=f"run-{i // 3}",
            time=T0 + timedelta(minutes=i),
        )
        for i in range(start, start + n)
    ]


def rows(engine) -> list[dict]:
    with engine.connect() as conn:
        table = metadata().tables["exchange_audit"]
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]


def test_a_chain_of_entries_verifies(engine):
    assert verify(engine).ok and verify(engine).entries == 0
    record(engine, entries(3))
    record(engine, entries(2, start=3))
    record(engine, [])  # nothing to do
    result = verify(engine)
    assert result.ok, result
    assert result.entries == 5
    stored = rows(engine)
    assert [r["id"] for r in stored] == [1, 2, 3, 4, 5]
    assert stored[0]["prev_hash"] == GENESIS
    assert all(stored[i]["prev_hash"] == stored[i - 1]["entry_hash"] for i in range(1, 5))
    assert json.loads(stored[1]["fields"]) == ["driver_id", "plate_no"]  # sorted, no repeats
    assert stored[1]["record_count"] == 101 and stored[1]["run_id"] == "run-0"
    assert stored[0]["time"] == T0  # exact to the microsecond on both backends
    assert head(engine) == (5, stored[4]["entry_hash"]) == (5, result.head_hash)
    assert all(entry_hash(r, audit_key()) == r["entry_hash"] for r in stored)


def test_an_aware_time_is_stored_as_shanghai_wall_clock(engine):
    record(engine, [AuditEntry("c", "p", "d.x", ["f"], 1, time=datetime(2025, 6, 2, 1, 0, tzinfo=UTC))])
    assert rows(engine)[0]["time"] == datetime(2025, 6, 2, 9, 0)
    assert verify(engine).ok


@pytest.mark.parametrize(
    ("column", "value"),
    [("record_count", 99999), ("fields", '["driver_id"]'), ("consumer", "someone_else"), ("run_id", None),
     ("time", datetime(2025, 6, 3))],
)
def test_changing_an_entry_is_caught_and_named(engine, column, value):
    record(engine, entries(5))
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE exchange_audit SET {column} = :v WHERE id = 3"), {"v": value})
    result = verify(engine)
    assert not result.ok
    assert result.broken_id == 3
    assert "changed" in result.reason
    assert "BROKEN at entry 3" in str(result)


def test_changing_an_entry_and_its_hash_is_caught_at_the_next_link(engine):
    record(engine, entries(5))
    row = rows(engine)[1]
    row["record_count"] = 1
    forged = entry_hash(row, audit_key())
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE exchange_audit SET record_count = 1, entry_hash = :h WHERE id = 2"), {"h": forged})
    result = verify(engine)
    assert not result.ok and result.broken_id == 3
    assert "does not match entry 2's hash" in result.reason


def test_deleting_an_entry_is_caught_and_named(engine):
    record(engine, entries(5))
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM exchange_audit WHERE id = 2"))
    result = verify(engine)
    assert not result.ok and result.broken_id == 2
    assert "entry 2 is missing (deleted)" in result.reason


def test_deleting_the_newest_entries_is_caught_with_an_anchor(engine, monkeypatch, tmp_path):
    record(engine, entries(4))
    _, anchor = head(engine)
    assert verify(engine, anchor=anchor).ok
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM exchange_audit WHERE id = 4"))
    result = verify(engine)  # the anchor file, written at every append, knows entry 4
    assert not result.ok and "names entry 4" in result.reason and "removed from its end" in result.reason
    monkeypatch.setenv("JILIN_AUDIT_ANCHOR", str(tmp_path / "elsewhere.jsonl"))  # no file: only the anchor given
    result = verify(engine, anchor=anchor)
    assert not result.ok and "anchor given" in result.reason and "is not the hash of any of the 3 entries" in result.reason


def test_deleting_every_entry_is_caught(engine):
    record(engine, entries(3))
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM exchange_audit"))
    result = verify(engine)
    assert not result.ok and "the log is empty" in result.reason and "anchor file" in result.reason


def _plain(row: dict) -> str:
    """What a forger without the key computes: the unkeyed SHA-256 of the entry (the chain before it was keyed)."""
    import hashlib

    from jilin_pipelines.privacy.audit import canonical

    return hashlib.sha256(canonical(row)).hexdigest()


def test_a_forged_entry_appended_with_a_recomputed_hash_is_caught(engine):
    record(engine, entries(3))
    last = rows(engine)[-1]
    forged = {**last, "id": 4, "prev_hash": last["entry_hash"], "record_count": 1, "consumer": "someone"}
    forged["entry_hash"] = _plain(forged)
    with engine.begin() as conn:
        conn.execute(metadata().tables["exchange_audit"].insert(), [forged])
    result = verify(engine, anchor=forged["entry_hash"])
    assert not result.ok and result.broken_id == 4 and "forged" in result.reason


def test_an_entry_changed_mid_chain_and_everything_after_it_rehashed_is_caught(engine):
    record(engine, entries(5))
    stored = rows(engine)
    stored[1]["record_count"] = 7
    prev = stored[0]["entry_hash"]
    with engine.begin() as conn:
        for row in stored[1:]:
            row["prev_hash"] = prev
            row["entry_hash"] = prev = _plain(row)
            conn.execute(sa.text("UPDATE exchange_audit SET record_count = :c, prev_hash = :p, entry_hash = :h "
                                 "WHERE id = :i"), {"c": row["record_count"], "p": row["prev_hash"],
                                                     "h": row["entry_hash"], "i": row["id"]})
    result = verify(engine)
    assert not result.ok and result.broken_id == 2


def test_production_refuses_an_audit_log_without_its_key(engine, monkeypatch):
    from jilin_pipelines.privacy.audit import AuditKeyError

    monkeypatch.setenv("JILIN_ENV", "production")
    monkeypatch.delenv("JILIN_AUDIT_KEY", raising=False)
    with pytest.raises(AuditKeyError, match="JILIN_AUDIT_KEY is not set"):
        record(engine, entries(1))
    assert rows(engine) == []
    monkeypatch.setenv("JILIN_AUDIT_KEY", "k" * 40)
    record(engine, entries(1))
    assert verify(engine).ok


def test_concurrent_appenders_do_not_fork_the_chain(engine):
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for i in range(5):
                record(engine, entries(2, start=worker * 100 + i * 2))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = verify(engine)
    assert result.ok, result
    assert result.entries == 40
    assert len({r["prev_hash"] for r in rows(engine)}) == 40  # no two entries chained onto the same predecessor


def test_bad_entries_are_refused_before_anything_is_written(engine):
    with pytest.raises(AuditError, match="record_count must be a count"):
        record(engine, [*entries(1), AuditEntry("c", "p", "d.x", ["f"], -1)])
    with pytest.raises(AuditError, match="fields must be a list of field names"):
        record(engine, [AuditEntry("c", "p", "d.x", "driver_id", 1)])
    with pytest.raises(AuditError, match="consumer must be a non-empty string"):
        record(engine, [AuditEntry("", "p", "d.x", ["f"], 1)])
    assert rows(engine) == []


def test_the_command_verifies_and_names_the_first_broken_entry(engine, db_url, capsys):
    record(engine, entries(3))
    assert main(["audit", "verify", "--db-url", db_url]) == 0
    assert "verifies: 3 entries" in capsys.readouterr().out
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE exchange_audit SET purpose = 'budget_staff_basic_info' WHERE id = 2"))
    assert main(["audit", "verify", "--db-url", db_url]) == 1
    assert "BROKEN at entry 2" in capsys.readouterr().err


def test_a_database_without_the_table_is_a_clear_error(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    sa.create_engine(url).connect().close()  # an empty database file
    assert main(["audit", "verify", "--db-url", url]) == 2
    assert "has no exchange_audit table (run the migrations" in capsys.readouterr().err
    with pytest.raises(AuditError, match="no exchange_audit table"):
        record(sa.create_engine(url), entries(1))


def test_entries_from_check_reads_pairs_one_per_dataset(engine):
    from jilin_pipelines.privacy import check_reads, entries_for_reads

    pairs = check_reads("commercial_vehicle_safety", "commercial_vehicle_safety",
                        {"violation": ["plate_no", "points", "driver_id"], "road_transport_permit": ["plate_no"]})
    made = entries_for_reads("scenario/commercial_vehicle_safety", "commercial_vehicle_safety", pairs,
                             {"traffic_police.violations": 12, "transport.road_transport_permits": 3}, run_id="r1")
    assert [(e.dataset, list(e.fields), e.record_count) for e in made] == [
        ("traffic_police.violations", ["driver_id", "plate_no", "points"], 12),
        ("transport.road_transport_permits", ["plate_no"], 3),
    ]
    record(engine, made)
    assert verify(engine).entries == 2
    with pytest.raises(AuditError, match="no record count for transport.road_transport_permits"):
        entries_for_reads("c", "p", pairs, {"traffic_police.violations": 1})


def test_verifying_a_database_that_does_not_exist_creates_nothing(tmp_path, capsys):
    path = tmp_path / "base.sqlite' OR '1'='1"
    assert main(["audit", "verify", "--db-url", f"sqlite:///{path}"]) == 2
    assert "no database" in capsys.readouterr().err
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_0006_rechains_an_existing_plain_log_under_the_key(db_url):
    from jilin_pipelines.base import upgrade
    upgrade(db_url, "0005")
    engine = sa.create_engine(db_url)
    try:
        prev, made = GENESIS, []
        for i, e in enumerate(entries(4), 1):  # a log as the code before 0006 wrote it: plain SHA-256
            row = {**e.validated(T0), "id": i, "prev_hash": prev}
            row["entry_hash"] = prev = _plain(row)
            made.append(row)
        with engine.begin() as conn:
            conn.execute(metadata().tables["exchange_audit"].insert(), made)
        assert not verify(engine).ok  # not under the key
        assert upgrade(db_url, "0006") == "0006"
        result = verify(engine)
        assert result.ok and result.entries == 4, result
        assert [(r["consumer"], r["record_count"]) for r in rows(engine)] == [
            (r["consumer"], r["record_count"]) for r in made]
    finally:
        engine.dispose()
