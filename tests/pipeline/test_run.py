"""`jilin-pipelines run` (what `make run` calls) materialises every day of the sample through Dagster on the
instance in DAGSTER_HOME, prints the summary, and a second run is quick and changes nothing."""

from __future__ import annotations

import io
from pathlib import Path

import dagster as dg
import pandas as pd

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.runner import run_days


def personal_values(sample_dir: Path) -> set[str]:
    """Every personal value of the sample (ID numbers, names, birth dates excluded), clean and as delivered."""
    values: set[str] = set()
    for entry in catalogue().entries:
        personal = [f.source for f in entry.dataset.fields if f.personal and f.type.value in ("string", "json_list")]
        clean = pd.read_parquet(sample_dir / "_ground_truth" / "clean" / f"{entry.id}.parquet", columns=personal)
        for column in personal:
            for v in clean[column].dropna().astype(str):
                values.update(x for x in v.strip('[]').replace('"', "").split(",") if len(x.strip()) >= 2)
    return {v.strip() for v in values}


def stored_text(home: Path) -> str:
    """Everything the Dagster instance stored: event logs, run records, compute logs."""
    return "\n".join(p.read_bytes().decode("utf-8", errors="ignore") for p in home.rglob("*") if p.is_file())


def test_run_twice(sample_run, monkeypatch):
    settings = sample_run.settings
    monkeypatch.setenv("JILIN_SOURCES_DIR", str(settings.sources_dir))
    monkeypatch.setenv("JILIN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(settings.dagster_home))

    text = sample_run.output
    assert text.count("succeeded") == 7, text
    assert "traffic_police.motor_vehicles" in text and "social_security.insured_persons" in text

    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 7
        assert {r.tags.get("dagster/partition") for r in runs} == {f"2025-06-0{d}" for d in range(2, 9)}

    # No raw ID number or name anywhere in the event log or metadata of the run.
    secrets = personal_values(settings.sources_dir)
    assert len(secrets) > 500
    stored = stored_text(settings.dagster_home)
    assert "ASSET_MATERIALIZATION" in stored and "ASSET_CHECK_EVALUATION" in stored
    leaked = sorted(v for v in secrets if v in stored)
    assert leaked == [], f"{len(leaked)} personal values in the Dagster instance, e.g. {leaked[:3]}"

    second = io.StringIO()
    assert run_days(start=None, end=None, force=False, out=second) == 0
    assert second.getvalue().count("unchanged, skipped") == 7, second.getvalue()
    # the summary is the same, and no new run was made
    assert text.split("dataset", 1)[1] == second.getvalue().split("dataset", 1)[1]
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        assert len(instance.get_runs()) == 7
