"""`jilin-pipelines run` (what `make run` calls) materialises every day of the sample through Dagster on the
instance in DAGSTER_HOME, prints the summary, and a second run is quick and changes nothing."""

from __future__ import annotations

import io
import re

import dagster as dg

from jilin_pipelines.runner import run_days


def test_run_twice(sample_run, monkeypatch):
    settings = sample_run.settings
    monkeypatch.setenv("JILIN_SOURCES_DIR", str(settings.sources_dir))
    monkeypatch.setenv("JILIN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(settings.dagster_home))

    text = sample_run.output
    assert text.count("succeeded") == 7, text
    # progress within a day: a line per finished step, with its rows and seconds, before the day's verdict
    first_day = text.split("[1/7] 2025-06-02: run ", 1)[0]
    steps = re.findall(r"^\[1/7\] 2025-06-02: (\d+)/(\d+) assets · (\S+)(?: ([\d,]+) rows)? in \d+\.\d s$", first_day, re.M)
    assert len(steps) > 30, first_day
    assert [int(done) for done, *_ in steps] == sorted(int(done) for done, *_ in steps)  # counting up
    assert steps[-1][0] == steps[-1][1]  # every asset of the day
    by_step = {name: rows for _, _, name, rows in steps}
    assert by_step["traffic_police/raw/motor_vehicles"] and by_step["base_merge"], by_step
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
