"""The fairness report of a day: ``<data>/reports/fairness_<day>.html``, one chart per scenario (matplotlib, inline
SVG: the page needs nothing from the network) and the flagged groups in words.

Per scenario, one panel per dimension of the rolling window: a bar per shown group, its favourable-outcome ratio to
the rest of the province (1 = the same as everyone else), the threshold as a dashed line (0.8, the four-fifths
rule), flagged groups in red, groups under the threshold whose gap coverage explains hatched, and each bar labelled
with its n. Built from the stored figures (``scenario_fairness``) only, so it is the same whoever writes it.
"""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path

import pandas as pd

from jilin_pipelines.fairness.stats import PROVINCE, rolling_window
from jilin_pipelines.fairness.store import describe
from jilin_pipelines.reports import INDEX, page, pyplot, svg, write_index, write_page

FLAGGED, UNDER, FINE, UNTESTED = "#c0392b", "#e67e22", "#5d8aa8", "#aaaaaa"


def chart_svg(rows: pd.DataFrame, title: str, threshold: float) -> str:
    """One scenario's window: a panel per dimension, a horizontal bar per group (its ratio)."""
    plt = pyplot()
    groups = rows[(rows["dimension"] != PROVINCE) & rows["ratio"].notna()]
    dimensions = list(dict.fromkeys(groups["dimension"]))
    heights = [max(1.2, 0.28 * (groups["dimension"] == d).sum() + 0.6) for d in dimensions] or [1.0]
    fig, axes = plt.subplots(len(heights), 1, figsize=(8, sum(heights) + 0.6), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, dimension in zip(axes[:, 0], dimensions or [None], strict=True):
        if dimension is None:
            ax.text(0.5, 0.5, "no group to show (none of k or more decisions)", ha="center", va="center")
            ax.set_axis_off()
            continue
        part = groups[groups["dimension"] == dimension].sort_values("ratio")
        ratio = part["ratio"].astype(float).to_numpy()
        colours = [UNTESTED if p is None or pd.isna(p) else FLAGGED if f else UNDER if r < threshold else FINE
                   for f, r, p in zip(part["flagged"].astype(bool), ratio, part["p_value"], strict=True)]
        bars = ax.barh(range(len(part)), ratio, color=colours)
        for bar, explains in zip(bars, part["coverage_explains"], strict=True):
            if explains is True:
                bar.set_hatch("//")
        ax.set_yticks(range(len(part)), [str(g) for g in part["group"]], fontsize=7)
        for i, n in enumerate(part["n"]):  # the figure beside each bar: a ratio of 0 has no bar to see
            ax.text(ratio[i], i, f" {ratio[i]:.2f} (n {n})", va="center", fontsize=6, color=colours[i])
        ax.axvline(threshold, color="black", linestyle="--", linewidth=0.8)
        ax.axvline(1.0, color="grey", linewidth=0.5)
        ax.set_title(dimension, fontsize=9, loc="left")
        ax.set_xlim(0, max(1.5, float(ratio.max()) * 1.15 if len(ratio) else 1.5))
    axes[-1, 0].set_xlabel("favourable-outcome rate of the group / of the rest of the province")
    axes[0, 0].set_title(f"{title} — {axes[0, 0].get_title(loc='left')}", fontsize=9, loc="left")
    return svg(fig)


INTRO = ("<p>Per group, the favourable-outcome rate over the rest of the province's (dashed: the threshold; red: "
         "flagged — under it with a significant difference and enough support; orange: under it without; grey: not "
         "tested (unknown); hatched: the gap is one of missing data, not of evidence). Groups of fewer than k "
         "decisions are merged or suppressed. README, \"Fairness\".</p>")


def render_section(scenario: str, rows: pd.DataFrame, title: str, threshold: float) -> str:
    """One scenario's part of the day's page: the window's decisions, its flagged groups in words, its chart (a
    scenario without decisions in the window: says so)."""
    summary = rolling_window(rows)
    window, n = summary.window, summary.n
    parts = [f"<h2 id='{html.escape(scenario)}'>{html.escape(title)}</h2>",
             f"<p>{n} decisions in the window {html.escape(window)}; adverse rate "
             f"{summary.adverse_rate:.1%}</p>" if n else "<p>no decisions</p>"]
    flagged = rows[rows["flagged"].astype(bool)]
    if len(flagged):
        items = "".join(f"<li>{html.escape(describe(r))}</li>" for _, r in flagged.iterrows())
        parts.append(f"<p class='flag'>Flagged:</p><ul>{items}</ul>")
    else:
        parts.append("<p class='ok'>No group flagged.</p>")
    if n:
        parts.append(f"<div class='chart'>{chart_svg(summary.rows, f'{scenario} ({window})', threshold)}</div>")
    return "\n".join(parts)


def render_page(day: date, sections: list[str]) -> str:
    return page(f"Fairness of the scenarios' decisions — {day}", INTRO + "\n".join(sections),
                nav={"all days": INDEX, "quality scorecard": f"scorecard_{day.isoformat()}.html"})


def write_report(scenario: str, rows: pd.DataFrame, day: date, reports_dir: Path, title: str,
                 threshold: float) -> Path:
    """Write one scenario's section of the day (``fairness_<day>/<scenario>.html``: its chart is drawn once, by
    its own audit) and the day's page ``fairness_<day>.html`` from every section written so far; return the page."""
    sections = reports_dir / f"fairness_{day.isoformat()}"
    write_page(sections / f"{scenario}.html", render_section(scenario, rows, title, threshold))
    out = write_page(reports_dir / f"fairness_{day.isoformat()}.html",
                     render_page(day, [p.read_text("utf-8") for p in sorted(sections.glob("*.html"))]))
    write_index(reports_dir)
    return out
