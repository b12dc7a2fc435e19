"""The fairness assets in the shared run of the sample through Dagster: every scenario audited every day, the
figures stored, the reads in the exchange audit log, the warning check answered per day, the per-group figures in
OpenLineage ``dataQualityMetrics`` — and no group of fewer than k decisions, no personal value anywhere in them."""

from __future__ import annotations

import json
from datetime import date, timedelta

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from jilin_pipelines.defs.fairness_assets import CHECK
from jilin_pipelines.defs.keys import fairness_key
from jilin_pipelines.fairness import stored
from jilin_pipelines.lineage import default_path, validate_event
from jilin_pipelines.scenarios import SCENARIOS
from jilin_pipelines.settings import CHECKOUT

DAYS = [date(2025, 6, 2) + timedelta(days=i) for i in range(7)]
SPEC = CHECKOUT / "tests" / "lineage" / "openlineage-spec"


@pytest.fixture(scope="module")
def engine(sample_run):
    eng = sa.create_engine(sample_run.settings.base_db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def figures(engine) -> pd.DataFrame:
    return stored(engine)


def test_every_scenario_is_audited_every_day_for_the_day_and_the_window(figures):
    for s in SCENARIOS:
        mine = figures[figures["scenario"] == s.name]
        for day in DAYS:
            windows = set(mine[pd.to_datetime(mine["partition"]).dt.date == day]["window"])
            assert "30d" in windows, (s.name, day)
        last = mine[(pd.to_datetime(mine["partition"]).dt.date == DAYS[-1]) & (mine["window"] == "30d")]
        province = last[last["dimension"] == "province"].iloc[0]
        assert province["n"] > 0
        # each group is compared with the province: its n never exceeds the province's
        assert (last["n"] <= province["n"]).all()


def test_no_group_of_fewer_than_k_and_no_personal_value(figures, sample_run):
    groups = figures[figures["dimension"] != "province"]
    assert len(groups) and (groups["n"] >= 10).all()
    text = figures.to_json(force_ascii=False)
    leaked = sorted(v for v in sample_run.personal_values() if len(v) >= 6 and v in text)
    assert not leaked, leaked[:5]


def test_the_fairness_reads_are_in_the_exchange_audit_log(engine):
    with engine.connect() as conn:
        entries = pd.read_sql(sa.text("SELECT consumer, dataset, fields, record_count FROM exchange_audit "
                                      "WHERE consumer LIKE 'fairness_audit/%'"), conn)
    for s in SCENARIOS:
        mine = entries[entries["consumer"] == f"fairness_audit/{s.name}"]
        assert f"scenario.{s.output}" in set(mine["dataset"]), s.name
        assert all(json.loads(f) for f in mine["fields"])
    assistance = entries[entries["consumer"] == "fairness_audit/social_assistance_verification"]
    assert {"base.insured_person", "traffic_police.driving_licences"} <= set(assistance["dataset"])


def test_each_day_has_its_materialisation_and_its_check(sample_run):
    with dg.DagsterInstance.from_config(str(sample_run.settings.dagster_home)) as instance:
        for s in SCENARIOS:
            key = fairness_key(s)
            records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=100).records
            assert {r.partition_key for r in records} == {d.isoformat() for d in DAYS}, s.name
            meta = records[0].asset_materialization.metadata
            assert meta["flagged_groups"].value >= 0 and "groups" in meta and "audit_head" in meta
            history = instance.event_log_storage.get_asset_check_execution_history(
                dg.AssetCheckKey(key, CHECK), limit=20)
            # one evaluation per day's run (Dagster 1.13 stores the planned row with the partition, the result
            # without: issue 21 takes up per-day check views)
            evaluated = [h for h in history if h.status.value in ("SUCCEEDED", "FAILED")]
            assert len({h.run_id for h in evaluated}) == len(DAYS), s.name


def test_openlineage_carries_the_per_group_figures(sample_run):
    events = [json.loads(line) for line in default_path(sample_run.settings.data_dir).read_text("utf-8").splitlines()]
    complete = [e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"].startswith("fairness/")]
    assert {e["job"]["name"] for e in complete} == {f"fairness/{s.name}" for s in SCENARIOS}
    for event in complete:
        validate_event(event, SPEC)
        metrics = event["outputs"][0]["facets"]["dataQualityMetrics"]["columnMetrics"]
        province = [k for k in metrics if k.startswith("adverse_rate[30d province=all]")]
        assert province, list(metrics)[:5]
        assert all(m["count"] >= 10 for k, m in metrics.items() if "province=" not in k)


def test_the_fairness_command(sample_run, monkeypatch, capsys):
    from jilin_pipelines.cli import main

    monkeypatch.setenv("JILIN_DATA_DIR", str(sample_run.settings.data_dir))
    monkeypatch.delenv("JILIN_BASE_DB_URL", raising=False)
    assert main(["fairness"]) == 0
    out = capsys.readouterr().out.splitlines()
    heads = [line for line in out if not line.startswith("  ")]
    assert len(heads) == len(SCENARIOS) and all(f"{DAYS[-1]}: " in h and " decisions in 30d" in h for h in heads)
    # the UI's names work too, and --groups lists the window's groups (never one under k)
    assert main(["fairness", "scenario/commercial_vehicle_risk", "--day", str(DAYS[2]), "--groups"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"commercial_vehicle_safety {DAYS[2]}: ") and len(lines) > 2
    assert main(["fairness", "--day", "2024-01-01"]) == 2
    assert "no fairness audit for 2024-01-01" in capsys.readouterr().err
