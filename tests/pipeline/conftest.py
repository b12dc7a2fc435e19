"""Fixtures over the committed sample sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jilin_pipelines.settings import CHECKOUT, Settings

SAMPLE = CHECKOUT / "sample_sources"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    assert (SAMPLE / "_ground_truth" / "manifest.jsonl").exists(), "sample_sources/ is missing: run `make sample`"
    return SAMPLE


@pytest.fixture(scope="session")
def manifest(sample_dir) -> list[dict]:
    lines = (sample_dir / "_ground_truth" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture()
def settings(tmp_path, sample_dir) -> Settings:
    """The embedded default over the committed sample, with a fresh data directory and DAGSTER_HOME."""
    return Settings.from_env(
        {
            "JILIN_SOURCES_DIR": str(sample_dir),
            "JILIN_DATA_DIR": str(tmp_path / "data"),
            "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        }
    )
