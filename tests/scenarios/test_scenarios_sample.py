"""The scenarios over the committed sample, run through Dagster day by day (the shared ``sample_run``): every
decision equals what the rules give on the generator's ground truth (``oracle.py``, written from the truth, not
from the pipeline); re-running a partition changes nothing; deciding an earlier day after later days were loaded
gives the decisions that day had.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from oracle import (
    Truth,
    budget,
    certificate_verification,
    commercial_vehicles,
    social_assistance,
    social_security_approval,
)

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.raw import landed_summary
from jilin_pipelines.lake import partition_path
from jilin_pipelines.scenarios import SCENARIOS, scenario
from jilin_pipelines.scenarios.core import Thresholds
from jilin_pipelines.scenarios.store import input_dataset, load_units, load_view, outputs, run_scenario

DAYS = [date(2025, 6, 2) + timedelta(days=i) for i in range(7)]
CASES = {
    # scenario: (oracle, key columns, compared columns)
    "social_assistance_verification": (social_assistance, ["application_id"], ["decision", "reasons"]),
    "social_security_approval": (social_security_approval, ["source_row"], ["decision", "reasons"]),
    "certificate_verification": (certificate_verification, ["request_id"], ["result"]),
    "budget_staff_basic_info": (budget, ["employer_uscc"],
                                ["pension_headcount", "headcount_by_insurance", "contribution_base_total"]),
    "commercial_vehicle_safety": (commercial_vehicles, ["plate_no", "plate_type"],
                                  ["violations_30d", "points_30d", "unqualified_driver", "risk"]),
}


@pytest.fixture(scope="module")
def truth(sample_run) -> Truth:
    return Truth(sample_run.settings.sources_dir)


@pytest.fixture(scope="module")
def engine(sample_run):
    eng = sa.create_engine(sample_run.settings.base_db_url)
    yield eng
    eng.dispose()


def compare(name: str, truth: Truth, engine, day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(certain disagreements, the merged comparison) of one scenario partition against the oracle."""
    oracle, key, columns = CASES[name]
    expected = oracle(truth, day)
    if "uncertain" not in expected:
        expected["uncertain"] = False
    got = outputs(engine, scenario(name), day)
    if "unqualified_driver" in got:
        got["unqualified_driver"] = got["unqualified_driver"].astype(bool)
    merged = expected.merge(got, on=key, how="outer", suffixes=("_expected", ""), indicator=True)
    merged["uncertain"] = merged["uncertain"].astype("boolean").fillna(False).astype(bool)
    differs = merged["_merge"] != "both"
    for c in columns:
        differs |= merged[f"{c}_expected"].astype(str) != merged[c].astype(str)
    return merged[differs & ~merged["uncertain"]], merged


@pytest.mark.parametrize("name", list(CASES))
def test_decisions_equal_the_rules_on_the_ground_truth(name, truth, engine):
    compared = uncertain = 0
    for day in DAYS:
        wrong, merged = compare(name, truth, engine, day)
        assert wrong.empty, f"{name} {day}: {len(wrong)} decisions differ from the truth:\n{wrong.head(10).to_string()}"
        compared += len(merged)
        uncertain += int(merged["uncertain"].sum())
    assert compared > 50
    # the truth decides most of them: only decisions resting on an input field damaged beyond repair are open
    assert uncertain <= 0.45 * compared, (uncertain, compared)


def test_the_sample_exercises_every_outcome(engine):
    """The comparison above means something only if the sample holds every kind of case."""
    sa_out = outputs(engine, scenario("social_assistance_verification"))
    flags = {f for text in sa_out["reasons"] for f in json.loads(text)}
    assert flags == {"owns_private_vehicle", "operates_transport_business", "income_above_threshold",
                     "pension_above_threshold", "identity_unverified"}
    assert set(sa_out["decision"]) == {"eligible", "ineligible", "manual_review"}
    cv = outputs(engine, scenario("certificate_verification"))
    assert set(cv["result"]) == {"valid", "expired", "suspended", "revoked", "holder_mismatch", "not_found"}
    ss = outputs(engine, scenario("social_security_approval"))
    assert {f for text in ss["reasons"] for f in json.loads(text)} == {
        "invalid_id", "birth_date_mismatch", "name_mismatch", "employer_invalid", "duplicate_enrollment"}
    vehicles = outputs(engine, scenario("commercial_vehicle_safety"))
    assert set(vehicles["risk"]) == {"low", "medium", "high"} and vehicles["unqualified_driver"].astype(bool).any()


def test_employers_of_every_type_and_drivers_of_every_kind(truth, engine):
    """Budget rows exist exactly for the organs (10) and institutions (30) among employers of all five types; the
    world's drivers without a qualification, with the wrong one, an expired or a revoked one all drive vehicles
    that the scenario flags when they commit a violation."""
    entities = truth.world("entities")
    assert set(entities["aab019"]) == {"10", "30", "50", "70", "90"}
    budget_rows = outputs(engine, scenario("budget_staff_basic_info"))
    kinds = entities.set_index("uscc")["aab019"]
    assert set(kinds.reindex(budget_rows["employer_uscc"].unique())) == {"10", "30"}

    drivers = truth.world("vehicle_drivers")
    assert set(drivers["qualification"]) == {"qualified", "none", "wrong_type", "expired", "revoked"}
    violations = truth.delivered("traffic_police.violations")
    caught = drivers.merge(violations, left_on=["plate", "plate_type", "driver_id"],
                           right_on=["号牌号码", "号牌种类", "当事人证件号码"])
    vehicles = outputs(engine, scenario("commercial_vehicle_safety"))
    vehicles["unqualified_driver"] = vehicles["unqualified_driver"].astype(bool)
    flagged = set(map(tuple, vehicles.loc[vehicles["unqualified_driver"], ["plate_no", "plate_type"]].to_numpy()))
    for kind in ("none", "wrong_type", "expired", "revoked"):
        plates = set(map(tuple, caught.loc[caught["qualification"] == kind, ["plate", "plate_type"]].to_numpy()))
        assert plates and plates & flagged, kind


def test_households_with_several_members_are_judged_on_every_member(truth, engine):
    """A household designed to fail through a member other than the applicant does fail."""
    members = truth.world("household_members")
    households = truth.world("households")
    by_member = members[members["slot"] > 0].merge(households, on="applicationId")
    flagged = by_member[by_member["profile"].isin(["car_owner", "high_income", "high_pension", "operator"])]
    decided = outputs(engine, scenario("social_assistance_verification"))
    hit = decided[decided["application_id"].isin(flagged["applicationId"])]
    assert len(hit) >= 5
    assert (hit["decision"] == "ineligible").mean() > 0.8, hit.to_string()


def test_designed_inconsistencies_are_rejected_with_their_flag(truth, engine):
    """The generator's deliberate disagreements between departments are caught — unless the row that makes the
    disagreement was itself damaged beyond repair on delivery (then the platform cannot see it)."""
    flag = {"name_mismatch": "name_mismatch", "birth_date_mismatch": "birth_date_mismatch",
            "duplicate_enrollment": "duplicate_enrollment", "unknown_employer": "employer_invalid"}
    designed = truth.world("inconsistencies")
    designed = designed[designed["dataset"] == "social_security.insured_persons"]
    insured = truth.delivered("social_security.insured_persons")
    approvals = outputs(engine, scenario("social_security_approval"))
    approvals["partition"] = approvals["partition"].astype(str)
    checked = 0
    for row in designed.itertuples():
        own = insured[(insured["day"] == row.day) & (insured["source_row"] == row.source_row)].iloc[0]
        related = insured[(insured["AAC002"] == own["AAC002"]) & (insured["day"] <= row.day)]
        if related["defects"].map(len).any():
            continue
        got = approvals[(approvals["partition"] == row.day) & (approvals["source_row"] == row.source_row)]
        assert len(got) == 1, row
        assert got["decision"].iloc[0] == "rejected" and flag[row.kind] in json.loads(got["reasons"].iloc[0]), \
            (row, got.to_dict("records"))
        checked += 1
    assert checked >= 0.75 * len(designed) and checked >= 5


def test_evidence_leads_back_to_the_delivery_rows(engine, sample_run):
    """Every decision has evidence; every evidence row names a delivery (dataset, day, row, file SHA-256) that
    the lake's raw landing of that day holds."""
    evidence = pd.read_sql("select * from scenario_evidence", engine)
    for s in SCENARIOS:
        decided = outputs(engine, s)
        ids = decided[list(s.decision_id)].astype("string").fillna("").agg("/".join, axis=1)
        have = set(evidence.loc[evidence["scenario"] == s.name, "decision_id"])
        missing = set(ids) - have
        assert not missing, f"{s.name}: {len(missing)} decisions without evidence, e.g. {sorted(missing)[:3]}"
    entries = {e.id: e for e in catalogue().entries}
    for row in evidence.drop_duplicates(["dataset", "delivery_partition", "sha256"]).itertuples():
        landed = landed_summary(partition_path(entries[row.dataset], date.fromisoformat(str(row.delivery_partition)),
                                             sample_run.settings))
        assert landed is not None and landed["source_sha256"] == row.sha256, row


def test_a_partition_twice_and_an_earlier_day_after_later_ones(engine, sample_run, tmp_path):
    """The daily run decided each day before later days were loaded. Deciding again now — every partition of the
    base loaded — gives the same decisions and evidence: the scenarios see the base as of their day."""
    copy = tmp_path / "base.sqlite"
    shutil.copy(sample_run.settings.base_db_url.removeprefix("sqlite:///"), copy)
    again = sa.create_engine(f"sqlite:///{copy}")
    entries = {e.id: e for e in catalogue().entries}
    try:
        for s in SCENARIOS:
            for day in (DAYS[0], DAYS[3]):
                before = outputs(engine, s, day)
                standardised = None
                if s.input:
                    path = partition_path(entries[input_dataset(s.input)], day, sample_run.settings, layer="standardised")
                    standardised = pq.read_table(path).to_pandas()
                first = run_scenario(again, s, day, standardised)
                second = run_scenario(again, s, day, standardised)
                pd.testing.assert_frame_equal(outputs(again, s, day), before, check_dtype=False)
                assert first.evidence == second.evidence > 0
                with again.connect() as conn:
                    n = conn.execute(sa.text("select count(*) from scenario_evidence where scenario = :s and "
                                             "partition = :d"), {"s": s.name, "d": day.isoformat()}).scalar_one()
                assert n == second.evidence
    finally:
        again.dispose()


def _evidence(engine, name: str, day: date) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(sa.text("select decision_id, used_for, base_table, base_key, base_valid_from, person_id, "
                                    "dataset, delivery_partition, source_row, sha256 from scenario_evidence "
                                    "where scenario = :s and partition = :d"), conn,
                            params={"s": name, "d": day.isoformat()})
    return frame.sort_values(list(frame.columns), ignore_index=True)


@pytest.mark.parametrize("chunk_rows", [1, 7])
def test_deciding_in_chunks_gives_the_same_partition(engine, sample_run, tmp_path, chunk_rows):
    """The inputs, or the records of a scenario's units, are decided a chunk at a time (bounded memory): any chunk
    gives the daily run's decisions and evidence, row for row."""
    copy = tmp_path / "base.sqlite"
    shutil.copy(sample_run.settings.base_db_url.removeprefix("sqlite:///"), copy)
    again = sa.create_engine(f"sqlite:///{copy}")
    entries = {e.id: e for e in catalogue().entries}
    try:
        for s in SCENARIOS:
            day = DAYS[2]
            standardised = None
            if s.input:
                path = partition_path(entries[input_dataset(s.input)], day, sample_run.settings, layer="standardised")
                standardised = pq.read_table(path).to_pandas()
            assert len(standardised if s.input else load_units(again, s, day)) > 3 * chunk_rows, "too few to split"
            run = run_scenario(again, s, day, standardised, chunk_rows=chunk_rows)
            pd.testing.assert_frame_equal(outputs(again, s, day), outputs(engine, s, day), check_dtype=False)
            assert run.evidence == len(_evidence(again, s.name, day)) > 0
            pd.testing.assert_frame_equal(_evidence(again, s.name, day), _evidence(engine, s.name, day),
                                          check_dtype=False)
    finally:
        again.dispose()


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS if s.narrow is not None])
def test_the_narrowed_view_decides_as_the_whole_base(engine, sample_run, name):
    """A scenario reads only the base records that matter to its inputs or its units (Scenario.narrow): on every
    day of the sample its decisions and evidence equal those decided against the whole base tables, and it reads
    less."""
    s = scenario(name)
    entries = {e.id: e for e in catalogue().entries}
    narrower = False
    for day in DAYS:
        if s.input:
            path = partition_path(entries[input_dataset(s.input)], day, sample_run.settings, layer="standardised")
            standardised = pq.read_table(path).to_pandas()
            whole = load_view(engine, s, day, standardised, narrow=False)
            narrow = load_view(engine, s, day, standardised)
        else:
            whole = load_view(engine, s, day, narrow=False)
            narrow = load_view(engine, s, day, units=load_units(engine, s, day))
        for read, frame in narrow.as_of.items():
            assert set(frame.columns) == set(whole[read].columns) and len(frame) <= len(whole[read])
            narrower |= len(frame) < len(whole[read])
        a, b = s.decide(whole, day, Thresholds()), s.decide(narrow, day, Thresholds())
        pd.testing.assert_frame_equal(a.table, b.table)
        key = list(a.evidence.columns)
        pd.testing.assert_frame_equal(a.evidence.sort_values(key, ignore_index=True),
                                      b.evidence.sort_values(key, ignore_index=True))
    assert narrower, f"{name}: the narrowed view read every record"
