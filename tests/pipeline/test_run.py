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


def test_the_reports_of_the_run_are_linked_from_the_ui(sample_run):
    """Each day's quality and fairness pages, the index linking them, and the scorecard asset's link to its page by
    the URL the reports server (make ui) answers; numeric pass rates per partition for Dagster's plots."""
    from lxml import html as lhtml

    settings = sample_run.settings
    index = lhtml.fromstring((settings.reports_dir / "index.html").read_bytes())
    days = [f"2025-06-0{d}" for d in range(8, 1, -1)]
    assert index.xpath("//table//tr/td[1]/text()") == days
    for href in index.xpath("//table//a/@href"):
        assert (settings.reports_dir / href).exists(), href
    assert len(index.xpath("//table//a/@href")) == 2 * len(days)  # the scorecard and the fairness page of each day
    page = (settings.reports_dir / "scorecard_2025-06-08.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "Pass rate by day, 2025-06-02 … 2025-06-08" in page
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        record = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["quality", "scorecard"]), asset_partitions=["2025-06-08"]),
            limit=1).records[0]
        metadata = record.asset_materialization.metadata
        assert metadata["report"] == dg.MetadataValue.url("http://127.0.0.1:3001/scorecard_2025-06-08.html")
        assert 0 < metadata["pass_rate_traffic_police_normativity"].value < 1
        std = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["traffic_police", "standardised", "violations"]),
                                  asset_partitions=["2025-06-08"]), limit=1).records[0]
        assert 0 < std.asset_materialization.metadata["pass_rate_normativity"].value <= 1
