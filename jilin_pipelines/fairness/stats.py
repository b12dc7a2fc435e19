"""The fairness figures of one scenario's decisions, per group: pure, over one frame per window.

The frame holds one row per decision: ``adverse`` (the outcome goes against the subject), ``missing_only`` (it
does only because of reasons that rest on missing data), ``reasons`` (a tuple), a column per dimension (the
subject's group) and ``covered:<source>`` per source (the source holds a record of the subject).

Per group of each dimension (after :func:`~jilin_pipelines.fairness.groups.suppress`) and per window:

* ``n``, ``adverse``, ``adverse_rate``;
* ``ratio``: the group's favourable-outcome rate over the rest of the province's (everyone else, suppressed groups
  included) — the disparate-impact ratio the four-fifths rule reads; null when the rest has no favourable outcome;
* ``p_value``: Fisher's exact test of the group against the rest (two-sided; it holds for small groups), adjusted
  for the number of groups tested over every dimension and window of the scenario's day (Benjamini-Hochberg: with
  no real difference anywhere, the chance that any group is called significant stays under the level);
  the group ``unknown`` (an ID that cannot be read, no record) is shown but not tested;
* ``flagged``: ``ratio`` under the threshold, ``p_value`` under the level and ``n`` at least the support;
* ``drivers``: the reasons more frequent in the group than in the rest (the three largest differences);
* ``coverage``: per source, the share of the group's and of the rest's subjects it holds a record of;
  ``missing_data_rate``: the share of the group's decisions that are adverse only because data about the subject
  were missing; ``coverage_explains``: whether the ratio, counting those decisions as favourable (in the group and
  in the rest), is back at or above the threshold — the gap is one of data, not of evidence.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control, fisher_exact

from jilin_pipelines.fairness.groups import UNKNOWN, suppress

PROVINCE = "province"  # the dimension of the one all-decisions row
COVERED = "covered:"
COLUMNS = ("window", "dimension", "group", "n", "adverse", "adverse_rate", "ratio", "p_value", "flagged",
           "missing_data_rate", "coverage_explains", "coverage", "drivers")
DRIVERS = 3


def _ratio(fav_g: np.ndarray, n_g: np.ndarray, fav_r: np.ndarray, n_r: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_r = fav_r / n_r
        out = (fav_g / n_g) / rate_r
    return np.where((n_g > 0) & (n_r > 0) & (rate_r > 0), out, np.nan)


def _share(part: float, whole: float) -> float | None:
    return None if whole <= 0 else round(float(part) / float(whole), 4)


def dimension_rows(frame: pd.DataFrame, dimension: str, k: int, window: str,
                   reasons: pd.Series | None = None) -> list[dict]:
    """The rows of one dimension (p-values unadjusted, not yet flagged). ``reasons``: the frame's reasons, one per
    row and reason (``frame["reasons"].explode()``, shared by the window's dimensions)."""
    sources = [c for c in frame.columns if c.startswith(COVERED)]
    n_total = len(frame)
    groups = frame[dimension].astype(object).fillna("unknown")
    counts = groups.value_counts().rename("n").to_frame()
    label = suppress(counts, k, dimension)
    shown = groups.map(label)
    keep = shown.notna().to_numpy()
    if not keep.any():
        return []
    by = shown[keep]
    sub = frame[keep]
    g = pd.DataFrame({
        "n": by.value_counts(),
        "adverse": sub.groupby(by)["adverse"].sum(),
        "missing": sub.groupby(by)["missing_only"].sum(),
    }).fillna(0).astype("int64")
    covered = {s: sub.groupby(by)[s].sum() for s in sources}
    totals = {"adverse": int(frame["adverse"].sum()), "missing": int(frame["missing_only"].sum()),
              **{s: int(frame[s].sum()) for s in sources}}
    if reasons is None:
        reasons = frame["reasons"].explode().dropna()
    reasons = pd.DataFrame({"_g": shown.loc[reasons.index].to_numpy(), "reasons": reasons.to_numpy()})
    by_reason = pd.crosstab(reasons["_g"], reasons["reasons"]) if len(reasons) else pd.DataFrame()
    reason_totals = reasons["reasons"].value_counts()
    n_g = g["n"].to_numpy(float)
    n_r = n_total - n_g
    adv_g = g["adverse"].to_numpy(float)
    adv_r = totals["adverse"] - adv_g
    ratio = _ratio(n_g - adv_g, n_g, n_r - adv_r, n_r)
    miss_g = g["missing"].to_numpy(float)
    miss_r = totals["missing"] - miss_g
    # counting the decisions adverse only for missing data as favourable, in the group and in the rest
    ratio_on_evidence = _ratio(n_g - adv_g + miss_g, n_g, n_r - adv_r + miss_r, n_r)
    rows = []
    for i, group in enumerate(g.index):
        a, n = int(adv_g[i]), int(n_g[i])
        rest_n, rest_a = int(n_r[i]), int(adv_r[i])
        # a group the subject's data cannot tell (an unreadable ID, no record) is shown, never tested: it is a
        # group of the data, not of people, and often the very reason of its outcome (an invalid ID is rejected)
        tested = rest_n and group != UNKNOWN
        p = fisher_exact([[a, n - a], [rest_a, rest_n - rest_a]]).pvalue if tested else np.nan
        coverage = {s[len(COVERED):]: {"group": _share(covered[s].get(group, 0), n),
                                       "rest": _share(totals[s] - covered[s].get(group, 0), rest_n)}
                    for s in sources}
        drivers = []
        if group in by_reason.index:
            for reason, hits in by_reason.loc[group].items():
                if not hits:
                    continue
                in_group, in_rest = hits / n, (reason_totals[reason] - hits) / rest_n if rest_n else 0.0
                if in_group > in_rest:
                    drivers.append((in_group - in_rest, reason, round(in_group, 4), round(in_rest, 4)))
        drivers = [{"reason": r, "group": x, "rest": y} for _, r, x, y in sorted(drivers, reverse=True)[:DRIVERS]]
        rows.append({
            "window": window, "dimension": dimension, "group": str(group), "n": n, "adverse": a,
            "adverse_rate": round(a / n, 4), "ratio": None if np.isnan(ratio[i]) else round(float(ratio[i]), 4),
            "p_value": None if np.isnan(p) else float(p), "flagged": False,
            "missing_data_rate": round(miss_g[i] / n, 4),
            "coverage_explains": None if np.isnan(ratio_on_evidence[i]) else round(float(ratio_on_evidence[i]), 4),
            "coverage": json.dumps(coverage, sort_keys=True), "drivers": json.dumps(drivers, ensure_ascii=False),
        })
    return rows


def province_row(frame: pd.DataFrame, window: str) -> dict:
    """Every decision of the window: the baseline each group is compared with."""
    n = len(frame)
    sources = [c for c in frame.columns if c.startswith(COVERED)]
    return {"window": window, "dimension": PROVINCE, "group": "all", "n": n, "adverse": int(frame["adverse"].sum()),
            "adverse_rate": _share(frame["adverse"].sum(), n), "ratio": None, "p_value": None, "flagged": False,
            "missing_data_rate": _share(frame["missing_only"].sum(), n), "coverage_explains": None,
            "coverage": json.dumps({s[len(COVERED):]: {"group": _share(frame[s].sum(), n), "rest": None}
                                    for s in sources}, sort_keys=True),
            "drivers": "[]"}


@dataclass(frozen=True)
class WindowSummary:
    """A scenario day's rolling window (the day, when there is none) in a line: its rows, decisions and adverse
    rate."""

    window: str
    rows: pd.DataFrame
    n: int
    adverse_rate: float | None


def rolling_window(rows: pd.DataFrame) -> WindowSummary:
    """The rolling window of one scenario day's figures (``scenario_fairness`` rows or :func:`audit`'s)."""
    windows = sorted(w for w in rows["window"].unique() if w != "day")
    window = windows[-1] if windows else "day"
    shown = rows[rows["window"] == window]
    province = shown[shown["dimension"] == PROVINCE]
    if not len(province):
        return WindowSummary(window, shown, 0, None)
    return WindowSummary(window, shown, int(province["n"].iloc[0]), float(province["adverse_rate"].iloc[0]))


def audit(windows: dict[str, pd.DataFrame], dimensions: tuple[str, ...], *, k: int, ratio: float, alpha: float,
          min_support: int) -> pd.DataFrame:
    """The figures of every window (name -> decision frame) and dimension: :data:`COLUMNS`, one row per shown
    group plus one ``province`` row per window. The p-values are adjusted over every group tested; a group is
    flagged when its ratio is under ``ratio`` with an adjusted p-value under ``alpha`` and at least
    ``min_support`` decisions. ``coverage_explains`` becomes True or False for the groups under ``ratio`` (whether
    the ratio on evidence alone is back at or above it), null for the others."""
    rows = []
    for window, frame in windows.items():
        if frame.empty:
            continue
        rows.append(province_row(frame, window))
        reasons = frame["reasons"].explode().dropna()
        for d in dimensions:
            rows += dimension_rows(frame, d, k, window, reasons)
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    if out.empty:
        return out
    tested = out["p_value"].notna().to_numpy()
    if tested.any():
        adjusted = false_discovery_control(out.loc[tested, "p_value"].astype(float).to_numpy(), method="bh")
        out.loc[tested, "p_value"] = adjusted
    r = pd.to_numeric(out["ratio"], errors="coerce")
    p = pd.to_numeric(out["p_value"], errors="coerce")
    out["flagged"] = ((r < ratio) & (p < alpha) & (out["n"] >= min_support)).fillna(False).astype(bool)
    on_evidence = pd.to_numeric(out["coverage_explains"], errors="coerce")
    under = (r < ratio).fillna(False)
    out["coverage_explains"] = pd.Series((on_evidence >= ratio).to_numpy(), dtype=object).where(
        under.to_numpy() & on_evidence.notna().to_numpy(), None)
    out["p_value"] = p.astype(object).where(p.notna(), None)
    return out
