"""The fairness figures on generated decision worlds (pure: ``fairness.stats.audit``, no database).

A world: subjects spread over counties (of unequal size), sexes and ages, each decided adverse with a base rate;
a *gap* county whose subjects one source does not cover, so that a share of them are adverse for missing data.
Expected values are written from the world's own construction, not from the code under test.
"""

from __future__ import annotations

import json
from math import comb

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jilin_pipelines.fairness.groups import OTHER, suppress
from jilin_pipelines.fairness.stats import COVERED, PROVINCE, audit

COUNTIES = [f"2201{i:02d} county{i}" for i in range(2, 12)] + [f"2202{i:02d} county{i}" for i in range(2, 12)]
DIMENSIONS = ("county", "sex", "age_band")
DEFAULTS = {"k": 10, "ratio": 0.8, "alpha": 0.05, "min_support": 30}


def world(seed: int, n: int = 3000, base_rate: float = 0.3, gap: str | None = None,
          gap_missing: float = 0.7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.2, 1.0, len(COUNTIES))
    county = rng.choice(COUNTIES, n, p=weights / weights.sum())
    adverse = rng.random(n) < base_rate
    reasons = np.where(adverse, "evidence_flag", "")
    covered = rng.random(n) < 0.9
    missing = np.zeros(n, dtype=bool)
    if gap is not None:
        in_gap = county == gap
        covered[in_gap] = False
        missing = in_gap & ~adverse & (rng.random(n) < gap_missing)  # adverse only because the data is missing
        adverse = adverse | missing
    frame = pd.DataFrame({
        "adverse": adverse,
        "missing_only": missing,
        "reasons": [(("identity_unverified",) if m else ()) + (("evidence_flag",) if r else ())
                    for m, r in zip(missing, reasons, strict=True)],
        "county": county,
        "sex": rng.choice(["male", "female"], n),
        "age_band": rng.choice(["18-29", "30-44", "45-59", "60 and over"], n),
        COVERED + "insured_person": covered,
    })
    return frame


def run(frame: pd.DataFrame, **overrides) -> pd.DataFrame:
    return audit({"30d": frame}, DIMENSIONS, **{**DEFAULTS, **overrides})


def test_a_county_with_a_data_gap_is_flagged_with_coverage_named_as_the_cause():
    gap = COUNTIES[3]
    rows = run(world(7, gap=gap))
    flagged = rows[rows["flagged"]]
    assert list(flagged["group"]) == [gap], flagged
    row = flagged.iloc[0]
    assert row["coverage_explains"] is True
    assert json.loads(row["drivers"])[0]["reason"] == "identity_unverified"
    coverage = json.loads(row["coverage"])["insured_person"]
    assert coverage["group"] == 0.0 and coverage["rest"] > 0.8
    # the favourable-outcome ratio: the world's construction gives about (0.7 * 0.3) / 0.7 = 0.3 for the gap county
    assert 0.15 < row["ratio"] < 0.5
    assert row["p_value"] < 1e-6


def test_a_gap_that_rests_on_evidence_is_flagged_without_coverage_as_the_cause():
    rng = np.random.default_rng(3)
    frame = world(3)
    unfair = COUNTIES[5]
    # the county is decided adverse far more often, on evidence alone (no missing data)
    hit = (frame["county"] == unfair).to_numpy() & (rng.random(len(frame)) < 0.6)
    frame.loc[hit, "adverse"] = True
    frame.loc[hit, "reasons"] = pd.Series([("evidence_flag",)] * int(hit.sum()), index=frame.index[hit])
    rows = run(frame)
    row = rows[rows["flagged"]].set_index("group").loc[unfair]
    assert row["coverage_explains"] is False
    assert json.loads(row["drivers"])[0]["reason"] == "evidence_flag"


@pytest.mark.parametrize("base_rate", [0.1, 0.3, 0.6])
def test_worlds_without_a_gap_raise_a_flag_less_often_than_the_level(base_rate):
    seeds = range(200)
    flagged = sum(bool(run(world(seed, base_rate=base_rate))["flagged"].any()) for seed in seeds)
    # with no real difference the chance that any group of a day is flagged stays under alpha (0.05)
    assert flagged / len(seeds) <= DEFAULTS["alpha"], f"{flagged} of {len(seeds)} null worlds raised a flag"


def test_the_figures_of_a_hand_made_world():
    # county A: 40 decisions, 30 adverse; county B: 60 decisions, 6 adverse
    frame = pd.DataFrame({
        "adverse": [True] * 30 + [False] * 10 + [True] * 6 + [False] * 54,
        "missing_only": False,
        "reasons": [()] * 100,
        "county": ["220102 A"] * 40 + ["220103 B"] * 60,
        COVERED + "s": True,
    })
    rows = audit({"day": frame}, ("county",), **DEFAULTS).set_index(["dimension", "group"])
    a = rows.loc[("county", "220102 A")]
    assert (a["n"], a["adverse"], a["adverse_rate"]) == (40, 30, 0.75)
    # favourable 10/40 = 0.25 against 54/60 = 0.9 in the rest
    assert a["ratio"] == pytest.approx(0.25 / 0.9, abs=1e-4)
    assert a["flagged"]
    b = rows.loc[("county", "220103 B")]
    assert b["ratio"] == pytest.approx(0.9 / 0.25, abs=1e-4) and not b["flagged"]
    # Fisher's exact test of [[30, 10], [6, 54]], summed here from the hypergeometric law: the tables with the same
    # margins no more likely than the observed one (both groups test the same table: the adjustment keeps it)
    def prob(x):  # x adverse decisions in A, of 36, A holding 40 of 100
        return comb(40, x) * comb(60, 36 - x) / comb(100, 36)

    observed = prob(30)
    p = sum(prob(x) for x in range(0, 37) if prob(x) <= observed * (1 + 1e-7))
    assert a["p_value"] == pytest.approx(p, rel=1e-6)
    assert b["p_value"] == pytest.approx(p, rel=1e-6)
    assert rows.loc[(PROVINCE, "all"), "n"] == 100


def test_support_below_the_minimum_is_never_flagged():
    frame = pd.DataFrame({
        "adverse": [True] * 20 + [False] * 5 + [False] * 200,
        "missing_only": False, "reasons": [()] * 225,
        "county": ["220102 A"] * 25 + ["220103 B"] * 200,
    })
    rows = audit({"day": frame}, ("county",), **DEFAULTS).set_index("group")
    assert rows.loc["220102 A", "ratio"] < 0.8 and rows.loc["220102 A", "p_value"] < 0.05
    assert not rows.loc["220102 A", "flagged"]  # n 25 < 30
    lower = audit({"day": frame}, ("county",), **{**DEFAULTS, "min_support": 20}).set_index("group")
    assert lower.loc["220102 A", "flagged"]


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=12), k=st.integers(2, 15))
def test_no_group_of_fewer_than_k_ever_appears(sizes, k):
    groups = [f"sex{i}" for i in range(len(sizes))]
    counts = pd.DataFrame({"n": sizes}, index=groups)
    label = suppress(counts, k, "sex")
    shown = counts.groupby(label.dropna())["n"].sum()
    assert (shown >= k).all(), shown
    hidden = counts["n"][label.isna()].sum()
    # what is hidden is either nothing or at least k: it cannot be told from the total and the groups shown
    assert hidden == 0 or hidden >= k or shown.empty
    if OTHER in shown.index:
        assert shown[OTHER] >= k


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(5, 40))
def test_audited_worlds_show_no_group_under_k(seed, k):
    rows = run(world(seed, n=600), k=k)
    groups = rows[rows["dimension"] != PROVINCE]
    assert (groups["n"] >= k).all()
    for dimension, part in groups.groupby("dimension"):
        hidden = 600 - part["n"].sum()
        assert hidden == 0 or hidden >= k, (dimension, hidden)


def test_small_counties_are_merged_into_their_city_first():
    counts = pd.DataFrame({"n": [4, 5, 3, 50, 40]},
                          index=["220102 a", "220103 b", "220104 c", "220202 d", "220203 e"])
    label = suppress(counts, 10, "county")
    merged = label[["220102 a", "220103 b", "220104 c"]].unique()
    assert len(merged) == 1 and merged[0].startswith("220100 ")
    assert label["220202 d"] == "220202 d"


def test_the_unknown_group_is_shown_but_never_tested():
    # an unreadable ID is rejected for being unreadable: its group says nothing about people
    frame = pd.DataFrame({
        "adverse": [True] * 50 + [False] * 200,
        "missing_only": False, "reasons": [()] * 250,
        "county": ["unknown"] * 50 + ["220102 A"] * 100 + ["220103 B"] * 100,
    })
    rows = audit({"day": frame}, ("county",), **DEFAULTS).set_index("group")
    assert rows.loc["unknown", "n"] == 50 and rows.loc["unknown", "adverse_rate"] == 1.0
    assert rows.loc["unknown", "p_value"] is None and not rows.loc["unknown", "flagged"]


def _resident_id(body17: str) -> str:
    """GB 11643: the check character of the ISO 7064 MOD 11-2 sum."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body17 + "10X98765432"[sum(int(c) * w for c, w in zip(body17, weights, strict=True)) % 11]


def test_person_groups_from_the_id():
    from datetime import date

    from jilin_pipelines.fairness.groups import person_groups

    ids = pd.Series([
        _resident_id("22020019800621611"),  # 吉林市, born 1980-06-21, 17th digit odd: male, 44 on the day
        _resident_id("22240219510824062"),  # 图们市, 1951: female, 73
        _resident_id("22038120070601001"),  # retired 220381 公主岭市 -> 220184; 18 on its birthday
        _resident_id("22038120070602002"),  # ... and 17 the day before it
        "912208820220H45827",  # an entity (USCC): its registration authority's county, no sex or age
        "not an id",
    ])
    groups = person_groups(ids, date(2025, 6, 1))
    assert groups["county"].tolist() == ["220200 吉林市", "222402 图们市", "220184 公主岭市", "220184 公主岭市",
                                         "220882 大安市", "unknown"]
    assert groups["sex"].tolist() == ["male", "female", "male", "female", "unknown", "unknown"]
    assert groups["age_band"].tolist() == ["30-44", "60 and over", "18-29", "under 18", "unknown", "unknown"]
