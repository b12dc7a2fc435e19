"""The sample's multi-provider layouts (``jilin-pipelines sample --providers counties``): Jilin's 9 cities and 60
counties deliver the datasets that are local by nature, each its own rows — the rows about its own division — in
its own folder (``providers.py``); the provincial departments deliver the rest as before.

``counties``: the counties' civil-affairs bureaus send their assistance applications and their traffic-police
brigades their violations; the cities' urban-management bureaus send their cases and their traffic-police
detachments their vehicle registrations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from jilin_pipelines.providers import REGISTRY_FILE, Provider, write_registry
from jilin_tools.sample import codes
from jilin_tools.sample.datasets import SPECS

LAYOUTS = ("counties",)
COUNTY_DATASETS = ("social_security.assistance_applications", "traffic_police.violations")
CITY_DATASETS = ("municipal.urban_cases", "traffic_police.motor_vehicles")
PROVINCE = "220000"


def layout_providers(layout: str) -> list[Provider]:
    """The registry of a layout: the province, its cities and its counties, each county and city with the datasets
    it delivers (codes are the GB/T 2260 division codes)."""
    if layout not in LAYOUTS:
        raise ValueError(f"providers: unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")
    counties = codes.current_counties()
    cities = sorted({c[:4] + "00" for c in counties})
    out = [Provider(PROVINCE, PROVINCE, "province", "吉林省")]
    out += [Provider(c, c, "city", codes.county_name(c) or c, PROVINCE, CITY_DATASETS) for c in cities]
    out += [Provider(c, c, "county", (codes.county_name(c[:4] + "00") or "") + codes.county_name(c), c[:4] + "00",
                     COUNTY_DATASETS) for c in counties]
    return out


def write_layout_registry(out: Path, providers: list[Provider]) -> Path:
    path = Path(out) / REGISTRY_FILE
    write_registry(path, providers)
    return path


def division_column(dataset: str) -> str:
    """The source column holding the division a row is about."""
    return next(f.name for f in SPECS[dataset].fields if f.kind == "division")


def assign(dataset: str, clean: pd.DataFrame, providers: list[Provider]) -> np.ndarray:
    """The code of the provider that delivers each row (``clean``: the rows' true values, in delivery order): the
    provider of the row's division (a county's, or its city's); a division no provider of the dataset has (a
    prefecture-level code) goes to the first provider of its prefecture, else to the first provider."""
    mine = sorted(p.code for p in providers if dataset in p.datasets)
    level = next(p.level for p in providers if dataset in p.datasets)
    division = clean[division_column(dataset)].astype("string").fillna("").str[:6].to_numpy(dtype=object)
    wanted = division if level == "county" else np.array([d[:4] + "00" for d in division], dtype=object)
    known = set(mine)
    by_prefecture: dict[str, str] = {}
    for code in mine:
        by_prefecture.setdefault(code[:4], code)
    return np.array([w if w in known else by_prefecture.get(w[:4], mine[0]) for w in wanted], dtype=object)


def local_rows(owner: np.ndarray) -> np.ndarray:
    """Each row's 1-based position within its provider's file (rows keep their delivery order)."""
    frame = pd.DataFrame({"owner": owner})
    return (frame.groupby("owner", sort=False).cumcount() + 1).to_numpy(dtype=np.int64)
