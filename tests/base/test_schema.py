"""The schema comes from the migrations, matches the metadata built from tables.yaml, and the YAML is validated."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from base_testkit import dump, fake_sha, hand_frame

from jilin_pipelines.base import (
    base_config,
    current_revision,
    head_revision,
    lineage,
    merge_partition,
    metadata,
    tables_fed_by,
    upgrade,
)
from jilin_pipelines.base.config import TABLES_YAML, BaseConfigError, load_base_config
from jilin_pipelines.base.migrate import alembic_config
from jilin_pipelines.base.schema import DELIVERY, DELIVERY_TABLE, newest_table_name, version_table_name

CONTRACT = {
    "person": {"id_number", "name", "sex", "birth_date", "division_code"},
    "legal_entity": {"uscc", "name", "division_code"},
    "certificate": {"cert_type", "cert_no", "holder_id", "holder_name", "valid_to", "status"},
    "vehicle": {"plate_no", "plate_type", "owner_id", "owner_name", "use_code", "status_code", "division_code"},
    "video_point": {"device_id", "name", "longitude", "latitude", "division_code", "owner", "status"},
    "quarantine": {"id", "dataset", "partition", "source_row", "rule", "reason", "dimension", "severity", "raw"},
    "exchange_audit": {"id", "time", "consumer", "purpose", "dataset", "fields", "record_count", "run_id",
                       "prev_hash", "entry_hash"},
    # the scenario outputs named by issue 6, and the record-level provenance behind them
    "social_assistance_decision": {"application_id", "partition", "decision", "reasons"},
    "social_security_approval": {"id_number", "insurance_type", "employer_no", "partition", "decision", "reasons"},
    "certificate_verification": {"request_id", "partition", "result"},
    "budget_staff_basic_info": {"employer_uscc", "as_of", "pension_headcount", "headcount_by_insurance",
                                "contribution_base_total"},
    "commercial_vehicle_risk": {"plate_no", "plate_type", "as_of", "violations_30d", "points_30d",
                                "unqualified_driver", "risk"},
    "partition_hold": {"dataset", "partition", "provider", "kind", "reason", "source_sha256", "held_rows", "held_at",
                       "released_at", "release_reason"},
    "scenario_held_input": {"scenario", "partition", "dataset", "delivery_partition", "provider", "reason"},
    "scenario_fairness": {"scenario", "partition", "window", "dimension", "group", "n", "adverse", "adverse_rate",
                          "ratio", "p_value", "flagged", "missing_data_rate", "coverage_explains", "coverage", "drivers"},
    "delivery": {"id", "dataset", "partition", "sha256", "provider", "size_bytes", "delivered_rows", "standardised_rows"},
    "scenario_evidence": {"scenario", "partition", "decision_id", "purpose", "base_table", "base_key",
                          "base_valid_from", "person_id", "dataset", "delivery_partition", "source_row", "sha256"},
}


def test_upgrade_creates_the_contract_tables_and_is_repeatable(db_url):
    assert upgrade(db_url) == head_revision() == "0011"
    assert upgrade(db_url) == "0011"  # a second run changes nothing
    assert current_revision(db_url) == "0011"
    engine = sa.create_engine(db_url)
    try:
        insp = sa.inspect(engine)
        names = set(insp.get_table_names())
        for table, columns in CONTRACT.items():
            assert table in names
            assert columns <= {c["name"] for c in insp.get_columns(table)}, table
        for table in ("person", "certificate", "insured_person", "violation", "assistance_application"):
            cols = {c["name"] for c in insp.get_columns(table)}
            assert {"_valid_from", "_valid_to", "placeholder", "provenance"} <= cols
            assert f"{table}_source_version" in names
        indexes = {tuple(ix["column_names"]) for ix in insp.get_indexes("quarantine")}
        assert ("dataset", "partition") in indexes
    finally:
        engine.dispose()


def test_migrated_schema_equals_the_metadata(engine):
    """A change of tables.yaml without a migration fails here."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, metadata())
    diffs = [d for d in diffs if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name.startswith("base_alembic"))]
    assert diffs == []


def test_check_constraints_hold(engine):
    row = {"cert_type": "lawyer_licence", "cert_no": "1", "placeholder": False, "provenance": "{}",
           "_valid_from": "2025-06-02", "_record_hash": 1}
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO certificate (cert_type, cert_no, placeholder, provenance, _valid_from, "
                             "_record_hash) VALUES (:cert_type, :cert_no, :placeholder, :provenance, "
                             "CAST(:_valid_from AS DATE), :_record_hash)"), row)


def test_lineage_and_feeds_are_the_yaml_mapping():
    lin = lineage()
    assert set(lin["person"].datasets) == {
        "traffic_police.driving_licences", "transport.practitioner_qualifications", "social_security.insured_persons",
        "traffic_police.motor_vehicles", "transport.road_transport_permits", "traffic_police.violations",
        "social_security.benefit_payments", "social_security.assistance_applications", "municipal.urban_cases",
    }
    assert ("social_security.insured_persons", "name") in lin["person"].columns["name"]
    assert ("traffic_police.motor_vehicles", "owner_name") in lin["person"].columns["name"]
    assert lin["person"].columns["division_code"] == [("traffic_police.driving_licences", "division_code")]
    assert lin["certificate"].columns["holder_id"] == [
        ("traffic_police.driving_licences", "id_number"), ("transport.road_transport_permits", "operator_id"),
        ("transport.practitioner_qualifications", "id_number"), ("municipal.construction_permits", "builder_uscc"),
    ]
    assert lin["certificate"].columns["cert_type"] == []  # constants have no source field
    assert tables_fed_by("transport.road_transport_permits") == (
        "certificate", "legal_entity", "person", "road_transport_permit", "vehicle")
    assert tables_fed_by("jishiban.verification_requests") == ("verification_request",)


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = TABLES_YAML.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "tables.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("columns: {id_number: id_number, name: name}", "columns: {id_number: id_number, name: nom}", "nom"),
        ("priority: [social_security.employers]", "priority: [jishiban.verification_requests]", "not a source"),
        ("dataset: traffic_police.video_points", "dataset: traffic_police.video_pts", "video_pts"),
        ("key: [device_id]", "key: [device]", "device"),
    ],
)
def test_a_broken_yaml_fails_at_load_naming_the_problem(tmp_path, old, new, message):
    with pytest.raises(BaseConfigError, match=message):
        load_base_config(_broken(tmp_path, old, new))


def _newest_tables(engine: sa.Engine) -> None:
    """The merge of today writes ``<table>_newest`` (0008), ``delivery`` and the versions' ``_delivery`` (0010):
    created by hand in a database kept at an older revision, so that the code of today can merge into it."""
    md = metadata()
    with engine.begin() as conn:
        md.tables[DELIVERY_TABLE].create(conn, checkfirst=True)
        for name in base_config().tables:
            md.tables[newest_table_name(name)].create(conn, checkfirst=True)
            conn.exec_driver_sql(f'ALTER TABLE "{version_table_name(name)}" ADD COLUMN "{DELIVERY}" BIGINT')


def test_0004_rewrites_golden_rows_left_in_the_old_provenance_form(db_url):
    """A database merged before 0004 (provenance repeated per attribute, record hashes of that form) reads, after
    the upgrade, exactly as one merged by the current code; a downgrade writes the old form back."""
    upgrade(db_url, "0003")
    engine = sa.create_engine(db_url)
    _newest_tables(engine)
    try:
        day = date(2025, 6, 2)
        licences = hand_frame("traffic_police.driving_licences", day, [
            {"id_number": "220102199001011239", "name": "张三", "sex": "1", "birth_date": "1990-01-01",
             "status_code": "A", "division_code": "220102", "updated_at": "2025-06-02 08:00:00"},
            {"id_number": "220102198502023452", "name": "李四", "sex": "2", "status_code": "A",
             "updated_at": "2025-06-02 09:00:00"},
        ])
        merge_partition(engine, "traffic_police.driving_licences", day, licences)
        merged = dump(engine)
        merged.pop("base_alembic_version")
        golden = [t for t in base_config().tables if merged[t]]
        assert golden, "the partition fed no golden table"
        old_form: dict[str, list[str]] = {}
        with engine.begin() as conn:  # the form before 0004, by hand, and hashes that no longer match
            for t in golden:
                rows = conn.execute(sa.text(f'SELECT rowid, provenance FROM "{t}"') if conn.dialect.name == "sqlite"
                                    else sa.text(f'SELECT ctid::text, provenance FROM "{t}"')).fetchall()
                for rid, text in rows:
                    compact = json.loads(text)
                    old = json.dumps({a: None if k is None else compact["sources"][k]
                                      for a, k in compact["attributes"].items()})
                    where = "rowid = :r" if conn.dialect.name == "sqlite" else "ctid = CAST(:r AS tid)"
                    conn.execute(sa.text(f'UPDATE "{t}" SET provenance = :p, _record_hash = 7 WHERE {where}'),
                                 {"p": old, "r": rid})
                    old_form.setdefault(t, []).append(old)
        before = dump(engine)
        before.pop("base_alembic_version")
        assert before != merged
        assert upgrade(db_url, "0004") == "0004"
        after = dump(engine)
        assert after.pop("base_alembic_version") == [("0004",)]
        assert after == merged

        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0003")
        assert current_revision(db_url) == "0003"
        with engine.connect() as conn:
            for t in golden:
                provenance = [r[0] for r in conn.execute(sa.text(f'SELECT provenance FROM "{t}"'))]
                assert sorted(provenance) == sorted(old_form[t]), t
    finally:
        engine.dispose()


def test_0007_joins_golden_versions_that_a_redelivery_started(db_url):
    """A database merged before 0007 holds a golden version for each day a record was re-delivered unchanged;
    after the upgrade it reads exactly as one merged by the current code: one version, from the first delivery."""
    upgrade(db_url, "0006")
    engine = sa.create_engine(db_url)
    _newest_tables(engine)
    x = "220102199001011239"
    try:
        d1, d2 = date(2025, 6, 2), date(2025, 6, 3)
        for day in (d1, d2):
            merge_partition(engine, "traffic_police.driving_licences", day, hand_frame(
                "traffic_police.driving_licences", day,
                [{"id_number": x, "name": "张三", "sex": "1", "birth_date": "1990-01-01", "status_code": "A",
                  "updated_at": f"{day.isoformat()} 08:00:00"}]))
        merged = dump(engine)
        merged.pop("base_alembic_version")
        with engine.begin() as conn:  # what the code before 0007 wrote: a second version from the re-delivery
            row = conn.execute(sa.text("SELECT * FROM person WHERE id_number = :x"), {"x": x}).mappings().one()
            assert str(row["_valid_from"]) == "2025-06-02" and row["_valid_to"] is None
            conn.execute(sa.text("UPDATE person SET _valid_to = :d, _record_hash = 7 WHERE id_number = :x"),
                         {"d": d2, "x": x})
            conn.execute(sa.text("INSERT INTO person (id_number, name, sex, birth_date, division_code, placeholder, "
                                 "provenance, _valid_from, _valid_to, _record_hash) VALUES (:x, :name, :sex, :birth, "
                                 ":division, :placeholder, :provenance, :d, NULL, 8)"),
                         {"x": x, "name": row["name"], "sex": row["sex"], "birth": row["birth_date"],
                          "division": row["division_code"], "placeholder": row["placeholder"],
                          "provenance": row["provenance"].replace("2025-06-02", "2025-06-03"), "d": d2})
        before = dump(engine)
        before.pop("base_alembic_version")
        assert before != merged
        assert upgrade(db_url, "0007") == "0007"
        after = dump(engine)
        assert after.pop("base_alembic_version") == [("0007",)]
        assert after == merged
    finally:
        engine.dispose()


def test_0010_references_deliveries_and_its_downgrade_writes_them_inline(db_url):
    """Merged by today's code, downgraded to 0009: the versions carry their delivery's SHA-256 again and each
    golden version's provenance lists dataset, role, partition, source row and SHA-256 inline (what the code of 0009
    wrote); upgraded again: the same database as merged, the ``delivery`` table included."""
    upgrade(db_url)
    engine = sa.create_engine(db_url)
    x = "220102199001011239"
    try:
        days = (date(2025, 6, 2), date(2025, 6, 3))
        for day, name in zip(days, ("张三", "张叁"), strict=True):
            merge_partition(engine, "traffic_police.driving_licences", day, hand_frame(
                "traffic_police.driving_licences", day,
                [{"id_number": x, "name": name, "sex": "1", "status_code": "A",
                  "updated_at": f"{day.isoformat()} 08:00:00"}]))
        merged = dump(engine)
        merged.pop("base_alembic_version")
        assert len(merged["delivery"]) == 2

        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0009")
        with engine.connect() as conn:
            assert "delivery" not in sa.inspect(conn).get_table_names()
            versions = conn.execute(sa.text("SELECT _partition, _source_sha256 FROM person_source_version "
                                            "ORDER BY _partition")).fetchall()
            assert [r[1] for r in versions] == [fake_sha("traffic_police.driving_licences", d) for d in days]
            provenance = [json.loads(r[0]) for r in conn.execute(
                sa.text("SELECT provenance FROM person ORDER BY _valid_from"))]
        assert [p["sources"] for p in provenance] == [
            [{"dataset": "traffic_police.driving_licences", "role": "", "partition": d.isoformat(), "source_row": 1,
              "sha256": fake_sha("traffic_police.driving_licences", d)}] for d in days]
        assert provenance[0]["attributes"]["name"] == 0 and provenance[0]["attributes"]["birth_date"] is None

        assert upgrade(db_url) == head_revision()
        after = dump(engine)
        after.pop("base_alembic_version")
        assert after == merged
    finally:
        engine.dispose()


def test_0011_holds_are_per_provider_and_its_downgrade_keeps_the_datasets_own(db_url):
    """At head a dataset-day holds one hold per provider held ('' for a dataset of one provider); downgraded to
    0010, the providers' holds go (nothing could tell them apart) and the dataset's own stays; upgraded again, it
    is the dataset's ('')."""
    from jilin_pipelines.quality import holds

    upgrade(db_url)
    engine = sa.create_engine(db_url)
    day, ds = date(2025, 6, 2), "traffic_police.violations"
    try:
        holds.judge(engine, ds, day, "a", holds.BLOCKED, "3 of 4 rows blocked", 1, provider="220102")
        holds.judge(engine, ds, day, "b", holds.UNREADABLE, "a missing column", 0, provider="220103")
        holds.judge(engine, ds, day, "c", holds.BLOCKED, "5 of 6 rows blocked", 1)
        assert [(h.provider, h.kind) for h in holds.holds(engine)] == [
            ("", holds.BLOCKED), ("220102", holds.BLOCKED), ("220103", holds.UNREADABLE)]
        assert holds.release(engine, ds, day, "reviewed", provider="220102").release_reason == "reviewed"
        assert holds.get(engine, ds, day).active  # the dataset's own hold is another one
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0010")
        with engine.connect() as conn:
            assert "provider" not in {c["name"] for c in sa.inspect(conn).get_columns("partition_hold")}
            assert conn.execute(sa.text("SELECT source_sha256 FROM partition_hold")).scalars().all() == ["c"]
        assert upgrade(db_url) == head_revision()
        assert [(h.provider, h.source_sha256) for h in holds.holds(engine)] == [("", "c")]
    finally:
        engine.dispose()
