"""Golden versions mean a change (issue: the merge at provincial scale): for random delivery sequences of one
source, merged in any order, the golden history of a person is exactly the days on which the newest delivered name
changed — computed here independently, from the deliveries, by the survivorship rule's recency order (update time,
then partition, then source row) — and nothing else: a re-delivery of the same name starts no version."""

from __future__ import annotations

import shutil
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from base_testkit import hand_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jilin_pipelines.base import merge_partition, record_versions, upgrade

X = "220102199001011239"
DAY0 = date(2025, 6, 2)
NAMES = ["张三", "张三丰", "李四"]


@st.composite
def deliveries(draw) -> list[tuple[int, str, int]]:
    """(day index, name, update time in hours since DAY0) per partition, days distinct, each updated up to three
    days before its delivery day (a late or stale re-delivery can be older than an earlier day's); merged in a
    drawn order."""
    days = draw(st.lists(st.integers(0, 9), min_size=1, max_size=7, unique=True))
    return [(d, draw(st.sampled_from(NAMES)), d * 24 - draw(st.integers(0, 72))) for d in days]


def expected_history(items: list[tuple[int, str, int]]) -> list[tuple[int, str]]:
    """(first day, name) of each golden version: as of each delivery day, the newest delivery so far by (update
    time, partition) names the person; a version starts where that name changes."""
    history: list[tuple[int, str]] = []
    for day in sorted(d for d, _, _ in items):
        name = max((hours, d, name) for d, name, hours in items if d <= day)[2]
        if not history or history[-1][1] != name:
            history.append((day, name))
    return history


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """An empty base database at the newest revision, migrated once: each example starts from a copy."""
    path = tmp_path_factory.mktemp("migrated") / "base.sqlite"
    upgrade(f"sqlite:///{path}")
    return path


@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=deliveries(), order=st.randoms(use_true_random=False))
def test_a_version_starts_only_where_the_newest_name_changes(tmp_path_factory, migrated, items, order):
    path = tmp_path_factory.mktemp("v") / "base.sqlite"
    shutil.copyfile(migrated, path)
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        shuffled = list(items)
        order.shuffle(shuffled)
        for d, name, hours in shuffled:
            day = DAY0 + timedelta(days=d)
            updated = datetime.combine(DAY0, time(12)) + timedelta(hours=hours)
            row = {"id_number": X, "name": name, "sex": "1", "birth_date": "1990-01-01", "status_code": "A",
                   "updated_at": updated.isoformat(sep=" ")}
            merge_partition(engine, "traffic_police.driving_licences", day,
                            hand_frame("traffic_police.driving_licences", day, [row]))
        versions = record_versions(engine, "person", X)
        got = [((v - DAY0).days, n) for v, n in zip(versions["_valid_from"], versions["name"], strict=True)]
        assert got == expected_history(items)
    finally:
        engine.dispose()
