"""Merging a day's partitions of several datasets in one call (what the base asset does) gives the database that
merging them one by one gives — on SQLite and the real PostgreSQL, for any grouping, in any chunking — and counts
each touched key once."""

from __future__ import annotations

from datetime import date

import pytest
from base_testkit import dump, hand_frame, wipe

from jilin_pipelines.base import merge_partition, merge_partitions
from jilin_pipelines.base.golden import canon_datetime

DL, INSURED, QUAL = "traffic_police.driving_licences", "social_security.insured_persons", "transport.practitioner_qualifications"


def _days(sample) -> list[date]:
    return sorted({d for days in sample.values() for d in days})[:3]


def test_a_day_merged_together_equals_its_datasets_merged_one_by_one(engine, sample):
    days = _days(sample)
    for day in days:
        for dataset_id in sorted(sample):
            if day in sample[dataset_id]:
                merge_partition(engine, dataset_id, day, sample[dataset_id][day])
    one_by_one = dump(engine)
    assert sum(len(rows) for rows in one_by_one.values()) > 5_000

    for chunk_keys in (None, 40):
        wipe(engine)
        for day in days:
            merge_partitions(engine, day, {ds: parts[day] for ds, parts in sample.items() if day in parts},
                             chunk_keys=chunk_keys)
        assert dump(engine) == one_by_one, chunk_keys

    # grouped differently (each day in two calls, the second first), then a whole day again: still the same
    wipe(engine)
    for day in days:
        delivered = sorted(ds for ds, parts in sample.items() if day in parts)
        half = len(delivered) // 2
        merge_partitions(engine, day, {ds: sample[ds][day] for ds in delivered[half:]})
        merge_partitions(engine, day, {ds: sample[ds][day] for ds in delivered[:half]})
    merge_partitions(engine, days[0], {ds: parts[days[0]] for ds, parts in sample.items() if days[0] in parts})
    assert dump(engine) == one_by_one


def test_a_day_merge_counts_each_touched_key_once(engine):
    d1 = date(2025, 6, 2)
    x = "220102199001011239"
    licence = {"id_number": x, "name": "张三", "sex": "1", "birth_date": "1990-01-01", "licence_classes": "C1",
               "first_issue_date": "2010-01-01", "valid_from": "2020-01-01", "valid_to": "2030-01-01",
               "status_code": "A", "points": "0", "division_code": "220102", "updated_at": "2025-06-02 08:00:00"}
    insured = {"person_no": "P1", "id_number": x, "name": "张三", "sex": "1", "birth_date": "1990-01-01",
               "employer_no": "2201000001", "insurance_type": "110", "status": "1", "contribution_base": "3000",
               "start_date": "2015-01-01", "handled_at": "2025-06-02 09:00:00"}
    stats = merge_partitions(engine, d1, {DL: hand_frame(DL, d1, [licence]), INSURED: hand_frame(INSURED, d1, [insured])})
    person = stats.tables["person"]
    assert (person.versions, person.inserted, person.updated, person.unchanged) == (2, 1, 0, 0)
    assert stats.datasets == (INSURED, DL)  # sorted
    with pytest.raises(ValueError, match="do not feed"):
        merge_partitions(engine, d1, {DL: hand_frame(DL, d1, [licence]), QUAL: hand_frame(QUAL, d1, [])},
                         tables=["vehicle"])


@pytest.mark.parametrize("tz", [None, "Asia/Shanghai", "UTC"])
def test_canonical_datetimes_are_the_wall_time_in_shanghai_to_the_microsecond(tz):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import pandas as pd
    from hypothesis import given, settings
    from hypothesis import strategies as st

    shanghai = ZoneInfo("Asia/Shanghai")

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.one_of(st.none(), st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2200, 1, 1))),
                    max_size=30))
    def check(values):
        aware = [None if v is None else (v if tz is None else v.replace(tzinfo=ZoneInfo(tz))) for v in values]
        series = pd.Series(pd.to_datetime(pd.Series(aware, dtype=object)), dtype=None)
        # the oracle, value by value: the wall time in Shanghai, formatted by Python's own datetime
        want = [None if v is None else (v if tz is None else v.astimezone(shanghai)).strftime("%Y-%m-%d %H:%M:%S.%f")
                for v in aware]
        assert canon_datetime(series).tolist() == want
        # and the canonical text read back (as SQLite keeps it) stays as it is
        assert canon_datetime(pd.Series(want, dtype=object)).tolist() == want

    check()
