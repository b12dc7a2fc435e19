"""The incremental merge (a day merged after every earlier one extends each key's golden history at its end) gives
exactly the database a full recomputation gives: for random delivery sequences of three departments about three
persons — merged in day order, reversed, shuffled, with partitions re-delivered and merged again — recomputing
every golden history from the delivered versions afterwards (``rebuild_golden``) changes nothing. On SQLite and
the real PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from base_testkit import dump, hand_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jilin_pipelines.base import merge_partition, metadata
from jilin_pipelines.base.merge import rebuild_golden, write_transaction

DAY0 = date(2025, 6, 2)
PEOPLE = ["220102199001011239", "220102198502023452", "220104197703154411"]
NAMES = ["张三", "张三丰", "李四"]
DATASETS = ["traffic_police.driving_licences", "social_security.insured_persons",
            "transport.practitioner_qualifications"]


def _row(dataset: str, person: str, name: str, updated: datetime) -> dict:
    stamp = updated.isoformat(sep=" ")
    if dataset == "traffic_police.driving_licences":
        return {"id_number": person, "name": name, "sex": "1", "birth_date": "1990-01-01", "status_code": "A",
                "updated_at": stamp}
    if dataset == "social_security.insured_persons":
        return {"person_no": "P" + person[-8:], "id_number": person, "name": name, "sex": "1",
                "employer_no": "2201000001", "insurance_type": "110", "status": "1", "handled_at": stamp}
    return {"cert_no": "Q" + person[-6:], "id_number": person, "name": name, "qualification_type": "freight_driver",
            "status": "valid", "updated_at": stamp}


@st.composite
def histories(draw) -> list[tuple[str, int, list[tuple[str, str, int]]]]:
    """Merges in the order done: (dataset, day, rows of (person, name, update time in hours since DAY0)); a
    (dataset, day) drawn twice is a re-delivery, merged again with its new rows."""
    merges = []
    for _ in range(draw(st.integers(1, 9))):
        dataset = draw(st.sampled_from(DATASETS))
        day = draw(st.integers(0, 5))
        people = draw(st.lists(st.sampled_from(PEOPLE), max_size=3, unique=True))
        rows = [(p, draw(st.sampled_from(NAMES)), day * 24 - draw(st.integers(0, 60))) for p in people]
        merges.append((dataset, day, rows))
    if draw(st.booleans()):  # the daily case: in day order
        merges.sort(key=lambda m: m[1])
    return merges


def _clear(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata().sorted_tables):
            if table.name != "base_alembic_version":
                conn.execute(table.delete())


def test_the_incremental_merge_is_the_full_recomputation(engine):
    @settings(max_examples=40, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(merges=histories())
    def prop(merges):
        _clear(engine)
        for dataset, d, rows in merges:
            day = DAY0 + timedelta(days=d)
            start = datetime.combine(DAY0, time(12))
            frame = hand_frame(dataset, day, [_row(dataset, p, n, start + timedelta(hours=h)) for p, n, h in rows])
            merge_partition(engine, dataset, day, frame)
        merged = dump(engine)
        # <table>_newest is each key's newest version per source over everything merged, by the recency order
        for table in ("person", "certificate"):
            versions = merged[f"{table}_source_version"]
            assert merged[f"{table}_newest"] == sorted(_newest_by_hand(engine, table, versions), key=repr), table
        with write_transaction(engine) as conn:
            stats = rebuild_golden(conn)
        assert all(s.inserted == s.updated == s.deleted == 0 for s in stats.values()), \
            {t: s.as_dict() for t, s in stats.items() if s.inserted or s.updated or s.deleted}
        assert dump(engine) == merged

    prop()


def _newest_by_hand(engine: sa.Engine, table: str, versions: list[tuple]) -> list[tuple]:
    """Per (key, dataset, role): the version row with the greatest (update time, none oldest; partition; source
    row) — by Python over the dumped rows."""
    names = [c.name for c in metadata().tables[f"{table}_source_version"].columns]
    at = {n: i for i, n in enumerate(names)}
    key = [c.name for c in metadata().tables[table].primary_key.columns if c.name != "_valid_from"]
    best: dict[tuple, tuple] = {}
    for row in versions:
        group = (*[row[at[k]] for k in key], row[at["_dataset"]], row[at["_role"]])
        rank = (row[at["_updated_at"]] is not None, str(row[at["_updated_at"]] or ""), str(row[at["_partition"]]),
                row[at["_source_row"]])
        if group not in best or rank > best[group][0]:
            best[group] = (rank, row)
    return [row for _, row in best.values()]
