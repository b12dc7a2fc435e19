"""One default sample per test session (generated into a temporary directory), read back independently."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sample_spec import SPEC, read_rows

START = date(2025, 6, 2)
DAYS = 7


@dataclass
class Sample:
    root: Path
    summary: object
    manifest: pd.DataFrame
    rows: dict[tuple[str, str], list[dict] | None]  # (dataset, day) -> delivered rows
    clean: dict[str, pd.DataFrame]

    @property
    def days(self) -> list[date]:
        return [START + timedelta(days=i) for i in range(DAYS)]

    def world(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.root / "_ground_truth" / "world" / f"{name}.parquet")


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> Sample:
    from jilin_tools.sample import generate

    root = tmp_path_factory.mktemp("sample") / "sources"
    messages: list[str] = []
    summary = generate(root, progress=messages.append)
    assert messages, "no progress was reported"
    lines = (root / "_ground_truth" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    manifest = pd.DataFrame([json.loads(x) for x in lines])
    manifest["source_row"] = manifest["source_row"].astype("Int64")
    wrong = manifest[manifest["problem"] == "file_wrong_encoding"]
    utf8 = set(zip(wrong["dataset"], wrong["day"], strict=True))
    rows = {}
    for name, ds in SPEC.items():
        for i in range(DAYS):
            day = START + timedelta(days=i)
            rows[(name, day.isoformat())] = read_rows(root, ds, day, utf8=(name, day.isoformat()) in utf8)
    clean = {name: pd.read_parquet(root / "_ground_truth" / "clean" / f"{name}.parquet") for name in SPEC}
    return Sample(root, summary, manifest, rows, clean)
