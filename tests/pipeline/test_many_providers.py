"""Many providers per dataset, end to end (``jilin-pipelines sample --providers counties``, ``jilin-pipelines run``):
each provider's delivery landed, counted and quarantined on its own, the counts adding up to the dataset's; one
county's broken file held alone while the rest of the province is merged and decided; its re-delivery re-landing
and merging only that county."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.providers import load_registry
from jilin_pipelines.quality import holds
from jilin_pipelines.raw import landed_summary, late_providers
from jilin_pipelines.lake import partition_path
from jilin_pipelines.runner import run_days
from jilin_tools.sample import generate
from jilin_tools.sample.providers import COUNTY_DATASETS
from jilin_pipelines.settings import Settings

DAYS = (date(2025, 6, 2), date(2025, 6, 3))
DATASET = "traffic_police.violations"


@pytest.fixture(scope="module")
def province(tmp_path_factory):
    """A two-day multi-provider sample, run once."""
    root = tmp_path_factory.mktemp("providers")
    sources = root / "sources"
    generate(sources, start=DAYS[0], days=len(DAYS), scale=400, providers="counties")
    env = {"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(root / "data"),
           "DAGSTER_HOME": str(root / "home"),
           # the committed sample's week, as the other tests of the process have the definitions' partitions
           "JILIN_PARTITIONS_START": "2025-06-02", "JILIN_PARTITIONS_END": "2025-06-08"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        out = io.StringIO()
        assert run_days(start=DAYS[0], end=DAYS[-1], force=False, out=out) == 0, out.getvalue()
        yield Settings.from_env(env), out.getvalue(), mp


def clean_rows(sources: Path) -> pd.DataFrame:
    """The ground truth: one row per delivered row, with its dataset, day and provider."""
    parts = []
    for path in sorted((sources / "_ground_truth" / "clean").glob("*.parquet")):
        frame = pd.read_parquet(path)
        if "provider" in frame.columns:
            parts.append(frame[["day", "provider", "source_row"]].assign(dataset=path.stem))
    return pd.concat(parts, ignore_index=True)


def test_each_providers_counts_add_up_to_the_datasets_and_name_it(province):
    settings, out, _ = province
    registry = load_registry(settings.sources_dir / "providers.yaml")
    truth = clean_rows(settings.sources_dir)
    assert set(truth["dataset"]) == {*COUNTY_DATASETS, "municipal.urban_cases", "traffic_police.motor_vehicles"}
    engine = sa.create_engine(settings.base_db_url)
    try:
        with engine.connect() as conn:
            quarantine = pd.read_sql("SELECT dataset, partition, provider, source_row FROM quarantine", conn)
            deliveries = pd.read_sql("SELECT dataset, partition, provider, delivered_rows, standardised_rows "
                                     "FROM delivery", conn)
    finally:
        engine.dispose()
    for dataset, rows in truth.groupby("dataset"):
        entry = catalogue().entry(dataset)
        for day in DAYS:
            facts = landed_summary(partition_path(entry, day, settings))
            assert set(facts["providers"]) == set(registry.codes(dataset))
            expected = rows[rows["day"] == day.isoformat()].groupby("provider").size()
            delivered = {c: f["delivered_rows"] for c, f in facts["providers"].items()}
            assert {c: n for c, n in delivered.items() if n} == expected.to_dict(), (dataset, day)
            assert sum(delivered.values()) == facts["delivered_rows"] == len(rows[rows["day"] == day.isoformat()])
            # each provider's file is its own delivery in the base, with its own counts
            mine = deliveries[(deliveries["dataset"] == dataset) & (deliveries["partition"].astype(str) == str(day))]
            assert mine["provider"].notna().all() and set(mine["provider"]) <= set(delivered)
            for row in mine.itertuples():
                assert row.delivered_rows == delivered[row.provider]
    # every quarantined row of a dataset of many providers names its provider and a row of that provider's file
    many = quarantine[quarantine["dataset"].isin(set(truth["dataset"]))]
    assert len(many) and many["provider"].notna().all()
    known = set(zip(truth["dataset"], truth["day"], truth["provider"], truth["source_row"].astype(int), strict=True))
    for row in many.itertuples():
        assert (row.dataset, str(row.partition)[:10], row.provider, int(row.source_row)) in known
    assert quarantine.loc[~quarantine["dataset"].isin(set(truth["dataset"])), "provider"].isna().all()


def _violations_of(settings: Settings, day: date) -> pd.DataFrame:
    engine = sa.create_engine(settings.base_db_url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(sa.text(
                "SELECT v.violation_no, d.provider, v.rowid AS stored_at "
                "FROM violation_source_version v JOIN delivery d "
                "ON d.id = v._delivery WHERE v._partition = :p"), conn, params={"p": day.isoformat()})
    finally:
        engine.dispose()


def _decisions(settings: Settings, day: date) -> int:
    engine = sa.create_engine(settings.base_db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT COUNT(*) FROM commercial_vehicle_risk WHERE as_of = :p"),
                                {"p": day.isoformat()}).scalar_one()
    finally:
        engine.dispose()


def test_one_countys_broken_file_is_held_alone_and_its_redelivery_lands_only_that_county(province):
    settings, _, _ = province
    day = DAYS[1]
    entry = catalogue().entry(DATASET)
    merged = _violations_of(settings, day)
    assert merged["provider"].nunique() > 10
    broken = merged["provider"].value_counts().index[0]  # the county with the most violations that day
    path = settings.sources_dir / "traffic_police" / "violations" / broken / f"violations_{day:%Y%m%d}.csv"
    good = path.read_bytes()
    others = merged[merged["provider"] != broken]

    # the county's export renames a column: its file cannot be read
    path.write_bytes(good.replace("违法编号".encode("gbk"), "违法编码".encode("gbk"), 1))
    out = io.StringIO()
    assert run_days(start=day, end=day, force=False, out=out) == 0, out.getvalue()
    engine = sa.create_engine(settings.base_db_url)
    try:
        held = holds.holds(engine, day, day)
    finally:
        engine.dispose()
    assert [(h.dataset, h.provider, h.kind) for h in held] == [(DATASET, broken, holds.UNREADABLE)]
    assert f"{DATASET} (provider {broken})" in out.getvalue()
    facts = landed_summary(partition_path(entry, day, settings))
    assert [c for c, f in facts["providers"].items() if f["relanded"]] == [broken]
    assert facts["providers"][broken]["unreadable"] and "违法编码" in facts["providers"][broken]["unreadable"]
    now = _violations_of(settings, day)
    assert broken not in set(now["provider"])  # none of its rows in the base ...
    # ... the rest as merged: the very same rows, not deleted and written again (their SQLite rowids unchanged)
    pd.testing.assert_frame_equal(now.sort_values("violation_no").reset_index(drop=True),
                                  others.sort_values("violation_no").reset_index(drop=True))
    assert _decisions(settings, day) > 0  # the province decided the day
    # freshness, provider by provider against its own update time: on the next day, after it, only this one is late
    noon = datetime(2025, 6, 4, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert late_providers(entry, settings, noon, timedelta(hours=1)) == [(broken, DAYS[0], day)]
    assert late_providers(entry, settings, noon.replace(hour=1), timedelta(hours=1)) == []  # before 02:00: not due
    assert len(late_providers(entry, settings, noon + timedelta(days=1), timedelta(hours=1))) == 60
    alerts = [json.loads(line) for line in (settings.data_dir / "alerts" / "alerts.jsonl").read_text().splitlines()]
    assert any(a.get("provider") == broken and a["kind"] == "held" for a in alerts)

    # re-delivered as it should be: only that county is landed again, its hold lifted, its rows merged
    path.write_bytes(good)
    out = io.StringIO()
    assert run_days(start=day, end=day, force=False, out=out) == 0, out.getvalue()
    facts = landed_summary(partition_path(entry, day, settings))
    assert [c for c, f in facts["providers"].items() if f["relanded"]] == [broken]
    engine = sa.create_engine(settings.base_db_url)
    try:
        assert holds.holds(engine, day, day) == []
    finally:
        engine.dispose()
    again = _violations_of(settings, day)
    pd.testing.assert_frame_equal(again.drop(columns="stored_at").sort_values("violation_no").reset_index(drop=True),
                                  merged.drop(columns="stored_at").sort_values("violation_no").reset_index(drop=True))
    kept = again[again["provider"] != broken]  # only the county's versions were written again
    pd.testing.assert_frame_equal(kept.sort_values("violation_no").reset_index(drop=True),
                                  others.sort_values("violation_no").reset_index(drop=True))
