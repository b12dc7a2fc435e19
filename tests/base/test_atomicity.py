"""A merge is one transaction: a failure anywhere in it (a constraint violated after other tables were already
merged, an exception between two statements) leaves the previous state intact; concurrent merges give the same
database as merging one after the other. Real databases, nothing mocked."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import sqlalchemy as sa
from stdnum.cn import ric
from base_testkit import dump, hand_frame, wipe

from jilin_pipelines.base import as_of, merge_partition

D1, D2 = date(2025, 6, 2), date(2025, 6, 3)
DL = "traffic_police.driving_licences"


def licence(id_number, name, sex="1", updated="2025-06-03 08:00:00"):
    return {"id_number": id_number, "name": name, "sex": sex, "birth_date": "1990-01-01", "licence_classes": "C1",
            "first_issue_date": "2010-01-01", "valid_from": "2020-01-01", "valid_to": "2030-01-01",
            "status_code": "A", "points": "0", "division_code": "220102", "updated_at": updated}


class Boom(RuntimeError):
    pass


@pytest.fixture()
def loaded(engine, sample):
    """A base with two days of driving licences and insured persons."""
    for ds in (DL, "social_security.insured_persons"):
        for day in sorted(sample[ds])[:2]:
            merge_partition(engine, ds, day, sample[ds][day])
    return engine


@pytest.mark.parametrize(
    ("table", "step"),
    [("certificate", "golden_deleted"), ("person", "versions_written"), ("person", "golden_written")],
)
def test_an_exception_between_two_statements_rolls_the_whole_merge_back(loaded, sample, table, step):
    before = dump(loaded)
    day = sorted(sample[DL])[1]
    changed = sample[DL][day].assign(name="改名")  # a merge that would change every person of the day

    def hook(t, s):
        if (t, s) == (table, step):
            raise Boom(f"{t}/{s}")

    with pytest.raises(Boom):
        merge_partition(loaded, DL, day, changed, on_step=hook)
    assert dump(loaded) == before
    merge_partition(loaded, DL, day, changed)  # the engine is usable and the merge goes through afterwards
    assert "改名" in set(as_of(loaded, "person", day)["name"])


def valid_id(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def test_a_constraint_violated_halfway_leaves_the_previous_state(loaded):
    before = dump(loaded)
    # valid resident IDs (python-stdnum's check character): an invalid key would never reach the person table
    rows = [licence(valid_id(f"22010219900101{i:03d}"), f"人{i}") for i in range(20)]
    rows[10]["sex"] = "3"  # the person table's CHECK (sex in 1, 2) fails after the certificates were merged
    frame = hand_frame(DL, D2, rows)
    with pytest.raises(sa.exc.IntegrityError):
        merge_partition(loaded, DL, D2, frame)
    assert dump(loaded) == before


def test_a_frame_of_another_day_is_refused_before_anything_is_written(loaded):
    before = dump(loaded)
    with pytest.raises(ValueError, match="_partition"):
        merge_partition(loaded, DL, D2, hand_frame(DL, D1, [licence("220102199001011239", "张三")]))
    assert dump(loaded) == before


def test_concurrent_merges_equal_sequential_merges(engine, sample):
    """Partitions of three departments' datasets touching the same persons, merged by four threads at once."""
    jobs = [(ds, day) for ds in (DL, "social_security.insured_persons", "transport.practitioner_qualifications",
                                 "transport.road_transport_permits")
            for day in sorted(sample[ds])[:3]]
    for ds, day in jobs:
        merge_partition(engine, ds, day, sample[ds][day])
    sequential = dump(engine)
    for _ in range(2):
        wipe(engine)
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(merge_partition, engine, ds, day, sample[ds][day]) for ds, day in reversed(jobs)]
            for f in futures:
                f.result()
        assert dump(engine) == sequential
    # the same partition twice at once: still the same database
    with ThreadPoolExecutor(max_workers=2) as pool:
        for f in [pool.submit(merge_partition, engine, ds, day, sample[ds][day]) for ds, day in jobs[:2] * 2]:
            f.result()
    assert dump(engine) == sequential
