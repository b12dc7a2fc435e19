"""The committed sample, landed and standardised once per session (pure functions, no Dagster)."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pyarrow.parquet as pq
import pytest

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.raw import days_in_sources, land_day
from jilin_pipelines.settings import CHECKOUT, Settings
from jilin_pipelines.quality.standardise import standardise

SAMPLE = CHECKOUT / "sample_sources"


@pytest.fixture(scope="session")
def sample_outcomes(tmp_path_factory):
    """{(dataset id, day): (raw landing table, Outcome)} over the whole sample."""
    settings = Settings.from_env(
        {"JILIN_SOURCES_DIR": str(SAMPLE), "JILIN_DATA_DIR": str(tmp_path_factory.mktemp("data"))}
    )
    entries = catalogue().entries
    outcomes = {}
    for day in days_in_sources(settings, list(entries)):
        for entry in entries:
            landing = land_day(entry, day, settings)
            raw = pq.read_table(landing.path)
            outcomes[(entry.id, day.isoformat())] = (raw, standardise(entry, raw, day, landing.delivery.sha256))
    return outcomes


@pytest.fixture(scope="session")
def manifest() -> pd.DataFrame:
    lines = (SAMPLE / "_ground_truth" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return pd.DataFrame([json.loads(line) for line in lines if line.strip()])


@pytest.fixture(scope="session")
def clean():
    """The generator's clean truth per dataset: {dataset id: DataFrame indexed by (day, source_row)}."""
    out = {}
    for entry in catalogue().entries:
        frame = pd.read_parquet(SAMPLE / "_ground_truth" / "clean" / f"{entry.id}.parquet")
        frame["day"] = frame["day"].astype(str)
        out[entry.id] = frame.set_index(["day", "source_row"])
    return out


def as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
