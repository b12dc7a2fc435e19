"""The committed sample's clean truth merged into the base: as-of answers agree with the truth for every day,
re-materialising changes nothing, and an out-of-order backfill gives the same database as loading in order.

Expectations are computed here from the generator's clean truth (source column names, its own ``day`` and
``source_row``) with the rules written out by hand, never by the code under test."""

from __future__ import annotations

import random
from datetime import date

import pandas as pd
from base_testkit import clean_truth, dump, wipe

from jilin_pipelines.base import as_of, merge_partition

# datasets whose interplay builds persons, entities, certificates and vehicles (two departments' persons, a
# permit's operators and vehicles, applications' household members)
ORDER_DATASETS = (
    "traffic_police.driving_licences",
    "social_security.insured_persons",
    "transport.road_transport_permits",
    "social_security.assistance_applications",
)
TRUTH_DATASETS = (
    "traffic_police.driving_licences",
    "social_security.insured_persons",
    "traffic_police.motor_vehicles",
    "transport.road_transport_permits",
    "transport.practitioner_qualifications",
    "social_security.employers",
    "municipal.construction_permits",
    "municipal.urban_cases",
)


def load(engine, sample, datasets, days=None, order="forward"):
    jobs = [(ds, d) for ds in datasets for d in sample[ds] if days is None or d in days]
    if order == "backfill":  # the newest days first, datasets in any order
        rng = random.Random(20250602)
        jobs = sorted(jobs, key=lambda j: (j[1], rng.random()), reverse=True)
    elif order == "shuffle":
        random.Random(20250602).shuffle(jobs)
    else:
        jobs = sorted(jobs, key=lambda j: (j[1], j[0]))
    return [merge_partition(engine, ds, d, sample[ds][d]) for ds, d in jobs]


def newest(truth: pd.DataFrame, key: list[str], updated: str | None) -> pd.DataFrame:
    """Per key the newest delivered row: newest update time, then latest day, then highest source row."""
    order = ([updated] if updated else []) + ["day", "source_row"]
    return truth.sort_values(order).drop_duplicates(key, keep="last").set_index(key)


def upto(truth: pd.DataFrame, day: date) -> pd.DataFrame:
    return truth[truth["day"] <= day.isoformat()]


def sample_days(sample) -> list[date]:
    return sorted({d for parts in sample.values() for d in parts})


def test_as_of_every_day_agrees_with_the_clean_truth(engine, sample):
    load(engine, sample, TRUTH_DATASETS)
    mv, rtp = clean_truth("traffic_police.motor_vehicles"), clean_truth("transport.road_transport_permits")
    dl, ip = clean_truth("traffic_police.driving_licences"), clean_truth("social_security.insured_persons")
    pq = clean_truth("transport.practitioner_qualifications")
    cp, emp = clean_truth("municipal.construction_permits"), clean_truth("social_security.employers")
    uc = clean_truth("municipal.urban_cases")
    days = sample_days(sample)
    assert len(days) == 7
    for day in days:
        # vehicles: the newest registration of each plate; plates only in a permit are placeholders
        vehicles = as_of(engine, "vehicle", day).set_index(["plate_no", "plate_type"])
        want = newest(upto(mv, day), ["号牌号码", "号牌种类"], "更新时间")
        known = vehicles[~vehicles["placeholder"]]
        assert sorted(known.index) == sorted(want.index)
        got = known.loc[want.index, ["owner_id", "owner_name", "use_code", "status_code", "division_code"]]
        exp = want[["所有人证件号码", "所有人名称", "使用性质", "机动车状态", "行政区划"]]
        assert got.to_numpy().tolist() == exp.to_numpy().tolist()
        permit_plates = set(map(tuple, upto(rtp, day)[["车辆号牌", "号牌种类"]].to_numpy()))
        assert set(vehicles[vehicles["placeholder"]].index) == permit_plates - set(want.index)

        # certificates: status mapped by the written rules, holder by type
        certs = as_of(engine, "certificate", day).set_index(["cert_type", "cert_no"])
        expected = {}
        zt = {"A": "valid", "B": "expired", "E": "revoked", "G": "suspended"}
        for k, r in newest(upto(dl, day), ["sfzmhm"], "gxsj").iterrows():
            expected[("driving_licence", k)] = (zt[r["zt"]], k, r["xm"])
        rts = {"营运": "valid", "注销": "deregistered", "吊销": "revoked"}
        for k, r in newest(upto(rtp, day), ["道路运输证号"], "更新时间").iterrows():
            expected[("road_transport_permit", k)] = (rts[r["证件状态"]], r["业户证件号码"], r["业户名称"])
        for k, r in newest(upto(pq, day), ["certNo"], "updatedAt").iterrows():
            expected[("practitioner_qualification", k)] = (r["status"], r["idNumber"], r["name"])
        for k, r in newest(upto(cp, day), ["PermitNo"], "UpdateTime").iterrows():
            expected[("construction_permit", k)] = (r["Status"], r["BuilderUSCC"], r["BuilderName"])
        got = {k: (r.status, r.holder_id, r.holder_name) for k, r in zip(certs.index, certs.itertuples())}
        assert got == expected

        # persons: known when an identity-bearing dataset names them; the licence's name first, then transport's,
        # then social security's
        persons = as_of(engine, "person", day).set_index("id_number")
        names = {}
        for frame, id_col, name_col, upd in ((ip, "AAC002", "AAC003", "AAE036"), (pq, "idNumber", "name", "updatedAt"),
                                             (dl, "sfzmhm", "xm", "gxsj")):
            names.update(newest(upto(frame, day), [id_col], upd)[name_col].to_dict())
        known = persons[~persons["placeholder"]]
        assert set(known.index) == set(names)
        assert known["name"].to_dict() == names
        referenced = set(upto(mv, day).query("所有人证件类型 == 'A'")["所有人证件号码"]) | set(
            upto(uc, day)["party_id_number"].dropna())
        assert referenced - set(names) <= set(persons[persons["placeholder"]].index)

        # legal entities: known when social security delivers the employer
        entities = as_of(engine, "legal_entity", day).set_index("uscc")
        employers = newest(upto(emp, day), ["AAB003"], "AAE036")
        assert set(entities[~entities["placeholder"]].index) == set(employers.index)
        assert entities.loc[employers.index, "name"].tolist() == employers["AAB004"].tolist()
        builders = set(upto(cp, day)["BuilderUSCC"]) | set(upto(cp, day)["ContractorUSCC"])
        assert builders - set(employers.index) == set(entities[entities["placeholder"]].index) & builders


def test_rematerialising_partitions_changes_nothing(engine, sample):
    datasets = ORDER_DATASETS[:3]
    days = sample_days(sample)[:2]
    load(engine, sample, datasets, days)
    before = dump(engine)
    assert sum(len(rows) for rows in before.values()) > 1000
    for stats in load(engine, sample, datasets, days, order="shuffle"):
        for table, s in stats.tables.items():
            assert (s.inserted, s.updated, s.deleted) == (0, 0, 0), (stats.dataset, stats.partition, table)
            assert s.unchanged > 0 or s.versions == 0
    assert dump(engine) == before


def test_out_of_order_backfill_equals_the_in_order_load(engine, sample):
    days = sample_days(sample)
    load(engine, sample, ORDER_DATASETS)
    forward = dump(engine)
    views = {(t, d): as_of(engine, t, d) for t in ("person", "legal_entity", "certificate", "vehicle") for d in days}
    wipe(engine)
    assert all(not rows for name, rows in dump(engine).items() if name != "base_alembic_version")
    load(engine, sample, ORDER_DATASETS, order="backfill")
    for (t, d), frame in views.items():
        pd.testing.assert_frame_equal(as_of(engine, t, d), frame, obj=f"{t} as of {d}")
    assert dump(engine) == forward
