"""`jilin-pipelines run` (what `make run` calls) materialises every day of the sample through Dagster on the
instance in DAGSTER_HOME, prints the summary, and a second run is quick and changes nothing."""

from __future__ import annotations

import io

import dagster as dg

from jilin_pipelines.runner import run_days


def test_run_twice(sample_run, monkeypatch):
    settings = sample_run.settings
    monkeypatch.setenv("JILIN_SOURCES_DIR", str(settings.sources_dir))
    monkeypatch.setenv("JILIN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(settings.dagster_home))

    text = sample_run.output
    assert text.count("succeeded") == 7, text
    assert "traffic_police.motor_vehicles" in text and "social_security.insured_persons" in text
    decisions = text.split("decisions over the days", 1)[1]  # and what the scenarios decided
    assert "social_assistance_verification" in decisions and "not_found" in decisions and "approved" in decisions

    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 7
        assert {r.tags.get("dagster/partition") for r in runs} == {f"2025-06-0{d}" for d in range(2, 9)}

    # (that nothing personal is in the instance, the events, the logs and reports: tests/privacy)
    second = io.StringIO()
    assert run_days(start=None, end=None, force=False, out=second) == 0
    assert second.getvalue().count("unchanged, skipped") == 7, second.getvalue()
    # the summary is the same, and no new run was made
    assert text.split("dataset", 1)[1] == second.getvalue().split("dataset", 1)[1]
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        assert len(instance.get_runs()) == 7
