"""The groups a decision's subject belongs to, per dimension, and the privacy rule that no group of fewer than k
decisions is ever shown.

* persons: ``county`` (the ID's address code, a retired code mapped to the county that took it over — GB/T 2260 at
  county level, shown as ``220184 公主岭市``), ``sex`` and ``age_band`` (from the ID, the age on the day decided);
* employers: ``county`` (the record's division code) and ``employer_type``;
* vehicles: ``county`` (the record's division code) and ``use`` (the use code).

A subject whose group cannot be told (an invalid ID, no record, no code) is in the group ``unknown``.
"""

from __future__ import annotations

import functools
from datetime import date

import numpy as np
import pandas as pd

from jilin_pipelines.standards import validate_division, validate_resident_id, validate_uscc

UNKNOWN = "unknown"
OTHER = "other groups (each fewer than k)"
AGE_BANDS = ((0, "under 18"), (18, "18-29"), (30, "30-44"), (45, "45-59"), (60, "60 and over"))
SEXES = {"1": "male", "2": "female"}
DIMENSIONS = {
    "person": ("county", "sex", "age_band"),
    "employer": ("county", "employer_type"),
    "vehicle": ("county", "use"),
}


def counties(codes: pd.Series) -> pd.Series:
    """GB/T 2260 codes -> ``<current code> <name>`` (a retired code as the code that took it over), else unknown."""
    codes = codes.astype("string").str.strip()
    distinct = pd.Series(codes.dropna().unique(), dtype="string")
    checked = validate_division(distinct, to_current=True)
    label = (checked.value + " " + checked.derived["name"].astype("string")).where(checked.valid)
    names = dict(zip(distinct, label.fillna(UNKNOWN), strict=True))
    return codes.map(names).fillna(UNKNOWN).astype(object)


def person_groups(ids: pd.Series, day: date) -> pd.DataFrame:
    """Per resident ID: county, sex and age band on ``day`` (unknown for an ID that is not valid). A subject named
    by a USCC instead (an entity presenting a certificate) has the county of its registration authority (the
    USCC's characters 3-8) and no sex or age."""
    checked = validate_resident_id(ids.astype("string"), today=day)
    valid = checked.valid.to_numpy(bool)
    value = checked.value.astype("string")
    entity = validate_uscc(ids.astype("string").where(~checked.valid))
    code = value.str[:6].where(checked.valid, entity.value.astype("string").str[2:8].where(entity.valid))
    county = counties(code)
    sex = checked.derived["sex"].astype("string").map(SEXES).where(checked.valid, UNKNOWN).fillna(UNKNOWN)
    birth = pd.to_datetime(checked.derived["birth_date"])
    # the age in whole years on the day
    before = (birth.dt.month > day.month) | ((birth.dt.month == day.month) & (birth.dt.day > day.day))
    years = day.year - birth.dt.year - before.astype(int)
    bounds = [lo for lo, _ in AGE_BANDS]
    labels = np.array([name for _, name in AGE_BANDS], dtype=object)
    band = labels[np.clip(np.searchsorted(bounds, years.fillna(0).to_numpy(), side="right") - 1, 0, len(labels) - 1)]
    band = np.where(valid, band, UNKNOWN)
    return pd.DataFrame({"county": county.to_numpy(), "sex": sex.to_numpy(dtype=object), "age_band": band},
                        index=ids.index)


def record_groups(division_code: pd.Series, kind: pd.Series, kind_name: str) -> pd.DataFrame:
    """Employers or vehicles by their record's division code (``county``) and a code of their own (``kind_name``:
    ``employer_type``, ``use``); unknown where there is no record or no code."""
    kinds = kind.astype("string").str.strip().replace("", pd.NA).fillna(UNKNOWN).astype(object)
    return pd.DataFrame({"county": counties(division_code).to_numpy(), kind_name: kinds.to_numpy()},
                        index=division_code.index)


def city_of(county: str) -> str | None:
    """The prefecture a county group belongs to (``2201xx …`` -> ``220100``), or None when it is one already."""
    code = county.split(" ", 1)[0]
    if len(code) != 6 or not code.isdigit() or code.endswith("00"):
        return None
    return code[:4] + "00"


@functools.cache
def city_label(code: str) -> str:
    """``220100 长春市 (other counties)``: the counties of a city merged."""
    checked = validate_division(pd.Series([code]), to_current=True)
    name = checked.derived["name"].iloc[0] if checked.valid.iloc[0] else ""
    return f"{code} {name} (counties of fewer than k)".replace("  ", " ")


def suppress(counts: pd.DataFrame, k: int, dimension: str) -> pd.Series:
    """Which shown group each group's decisions count in, so that no shown group has fewer than ``k``.

    ``counts``: per group (the index) its ``n``. Counties under k are first merged into their city; then every
    group still under k goes into one pooled group (:data:`OTHER`), and while that pool is itself under k (yet not
    empty) the smallest shown group joins it, so that no group can be told from the others and the total. A pool
    that never reaches k is suppressed: its decisions count in no shown group (the returned label is None) — they
    still count in the rest of the province every group is compared with."""
    label = pd.Series(counts.index.to_numpy(dtype=object), index=counts.index, dtype=object)
    n = counts["n"]
    if dimension == "county":
        small = [g for g in counts.index if n[g] < k and city_of(g)]
        if small:
            cities = {g: city_of(g) for g in small}
            merged = pd.Series(cities).map(city_label)
            label[merged.index] = merged.to_numpy()
    sizes = n.groupby(label).sum()
    pooled = set(sizes[sizes < k].index)
    shown = sizes[~sizes.index.isin(pooled)].sort_values(kind="stable")
    pool = int(sizes[sizes.index.isin(pooled)].sum())
    while 0 < pool < k and len(shown):
        smallest = shown.index[0]
        pooled.add(smallest)
        pool += int(shown.iloc[0])
        shown = shown.iloc[1:]
    out = label.map(lambda g: OTHER if g in pooled else g)
    if pool < k:
        out[out == OTHER] = None
    return out
