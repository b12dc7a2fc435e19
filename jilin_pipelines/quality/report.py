"""The day's quality report, ``<data>/reports/scorecard_<day>.html``: the day's scorecard coloured by pass rate,
and the pass rate by day of every department and GB/T 36344 dimension over the last ``HISTORY_DAYS`` days up to
the day — a heatmap (a row per department and dimension, a column per day) and trend lines (a panel per
department, a line per dimension). Built from the scorecards the lake keeps (``lake/quality/scorecard/<day>``),
so a day's page costs the same on the tenth day as on the thousandth. Pure: no Dagster.
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from jilin_pipelines.quality.scorecard import COLUMNS, PROVIDER_COLUMNS
from jilin_pipelines.reports import INDEX, page, pyplot, svg, write_index, write_page

#: How many days of history a day's charts show (the index links every day).
HISTORY_DAYS = 90
#: Below the city level, the report lists this many providers (the held ones, then the lowest pass rates)
PROVIDERS_LISTED = 30
#: Pass rates at or under this are red, at 100 % green; the scale between (a rate under it is no better).
FLOOR = 0.8


def scorecard_dir(lake_dir: Path) -> Path:
    return lake_dir / "quality" / "scorecard"


def history(lake_dir: Path, day: date, days: int = HISTORY_DAYS) -> pd.DataFrame:
    """The stored scorecards of the ``days`` days up to ``day``: a row per (day, department, dimension)."""
    frames = []
    for n in range(days - 1, -1, -1):
        d = day - timedelta(days=n)
        path = scorecard_dir(lake_dir) / f"{d.isoformat()}.parquet"
        if path.exists():
            frame = pq.read_table(path).to_pandas()
            frames.append(frame.assign(day=pd.Timestamp(d)))
    if not frames:
        return pd.DataFrame(columns=["day", *COLUMNS])
    return pd.concat(frames, ignore_index=True)


def colour(rate: float) -> str:
    """A pass rate's colour: red at FLOOR and under, through yellow, to green at 100 %."""
    import matplotlib

    return matplotlib.colors.to_hex(matplotlib.colormaps["RdYlGn"](max(0.0, (rate - FLOOR) / (1 - FLOOR))))


def heatmap_svg(hist: pd.DataFrame) -> str:
    """A row per department and dimension, a column per day, the cell coloured by its pass rate."""
    plt = pyplot()
    grid = hist.pivot_table(index=["department", "dimension"], columns="day", values="pass_rate", aggfunc="min")
    days = list(grid.columns)
    fig, ax = plt.subplots(figsize=(max(7.0, min(14.0, 3.5 + 0.12 * len(days))), 0.9 + 0.22 * len(grid)))
    image = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap="RdYlGn", vmin=FLOOR, vmax=1.0,
                      interpolation="nearest")
    ax.set_yticks(range(len(grid)), [f"{dep} · {dim}" for dep, dim in grid.index], fontsize=7)
    step = max(1, len(days) // 15)
    ax.set_xticks(range(0, len(days), step), [d.strftime("%m-%d") for d in days[::step]], fontsize=7, rotation=45)
    ax.set_title("pass rate by day (white: nothing checked)", fontsize=9, loc="left")
    fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01, format=lambda v, _: f"{v:.0%}")
    return svg(fig)


def trends_svg(hist: pd.DataFrame) -> str:
    """A panel per department, a line per dimension: the pass rate by day."""
    plt = pyplot()
    departments = sorted(hist["department"].unique())
    cols = 3
    rows = -(-len(departments) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.4 * rows + 0.4), squeeze=False, sharey=True)
    palette = plt.get_cmap("tab10")
    colours = {d: palette(n % 10) for n, d in enumerate(sorted(hist["dimension"].unique()))}  # one per dimension
    for ax, department in zip(axes.flat, departments):
        part = hist[hist["department"] == department]
        for dimension, line in part.groupby("dimension"):
            line = line.sort_values("day")
            ax.plot(line["day"], line["pass_rate"], marker="o", markersize=2, linewidth=1, color=colours[dimension])
        ax.set_title(department, fontsize=9, loc="left")
        ax.set_ylim(min(FLOOR, float(hist["pass_rate"].min())) - 0.02, 1.01)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.tick_params(labelsize=7)
        for label in ax.get_xticklabels():
            label.set_rotation(45)
    for ax in list(axes.flat)[len(departments):]:
        ax.set_axis_off()
    handles = [plt.Line2D([], [], color=c, marker="o", markersize=3, linewidth=1) for c in colours.values()]
    fig.legend(handles, list(colours), loc="upper center", ncol=len(colours), fontsize=7, frameon=False)
    return svg(fig, top=1 - 0.35 / fig.get_figheight())


def scorecard_table(card: pd.DataFrame) -> str:
    """The day's scorecard as an HTML table, each pass rate on its colour."""
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(getattr(r, c)))}</td>" for c in COLUMNS[:-1])
        + f"<td style='background:{colour(float(r.pass_rate))}'>{r.pass_rate:.2%}</td></tr>"
        for r in card.itertuples()
    )
    return f"<table><tr>{head}</tr>{rows}</table>"


def providers_table(rollup: pd.DataFrame) -> str:
    """The day's quality by provider level: the province and the cities whole; below, the held providers and the
    lowest pass rates first (:data:`PROVIDERS_LISTED`), a line saying how many more."""
    top = rollup[rollup["level"].isin(["province", "city"])]
    below = rollup[~rollup["level"].isin(["province", "city"])].sort_values(
        ["providers_held", "pass_rate", "code"], ascending=[False, True, True], kind="stable")
    shown = pd.concat([top, below.head(PROVIDERS_LISTED)], ignore_index=True)
    head = "".join(f"<th>{c}</th>" for c in PROVIDER_COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(getattr(r, c)))}</td>" for c in PROVIDER_COLUMNS[:-1])
        + f"<td style='background:{colour(float(r.pass_rate))}'>{r.pass_rate:.2%}</td></tr>"
        for r in shown.itertuples()
    )
    more = len(below) - PROVIDERS_LISTED
    tail = f"<p>… and {more} more providers below the city level, none held, higher pass rates.</p>" if more > 0 else ""
    return f"<table><tr>{head}</tr>{rows}</table>{tail}"


def render(card: pd.DataFrame, hist: pd.DataFrame, day: date, previous: bool = False,
           providers: pd.DataFrame | None = None) -> str:
    body = [f"<h2>{day}</h2>", scorecard_table(card) if len(card) else "<p>No delivery checked this day.</p>"]
    if providers is not None and len(providers):
        body += ["<h2>By provider, rolled up by level (datasets delivered by many providers)</h2>",
                 providers_table(providers)]
    if len(hist):
        first = hist["day"].min().date()
        body += [f"<h2>Pass rate by day, {first} … {day}</h2>", f"<div>{heatmap_svg(hist)}</div>",
                 "<h2>Trends per department</h2>", f"<div>{trends_svg(hist)}</div>"]
    nav = {"all days": INDEX, "fairness of the day's decisions": f"fairness_{day.isoformat()}.html"}
    if previous:
        nav["the day before"] = f"scorecard_{(day - timedelta(days=1)).isoformat()}.html"
    return page(f"Quality scorecard — {day} (GB/T 36344)", "".join(body), nav=nav)


def write_quality_report(card: pd.DataFrame, lake_dir: Path, reports_dir: Path, day: date,
                         providers: pd.DataFrame | None = None) -> Path:
    """Write the day's page (``card``: the day's scorecard, already stored in the lake; ``providers``: its roll-up
    by provider level, ``scorecard.provider_rollup``) and the index."""
    hist = history(lake_dir, day)
    previous = (reports_dir / f"scorecard_{(day - timedelta(days=1)).isoformat()}.html").exists()
    out = write_page(reports_dir / f"scorecard_{day.isoformat()}.html", render(card, hist, day, previous, providers))
    write_index(reports_dir)
    return out
