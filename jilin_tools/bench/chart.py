"""The history benchmark's picture: ours per day, and the golden and delivered versions each day started."""

from __future__ import annotations

from jilin_pipelines.reports import pyplot, svg

TITLE = "ours per day (s) and versions started per day"


def history_svg(result: dict) -> str:
    """An inline SVG of ``latest.json``'s ``day_seconds`` and ``database_growth_by_day`` from day 2 on (day 1 is the
    initial state, off the scale of the increments: its seconds are written in the axis label instead)."""
    plt = pyplot()
    seconds = result["day_seconds"]
    growth = result.get("database_growth_by_day", {})
    days = sorted(set(growth.get("golden_versions", {})) | set(growth.get("delivered_versions", {})))
    fig, left = plt.subplots(figsize=(8, 3.6))
    x = list(range(1, len(seconds) + 1))
    later = seconds[1:] or seconds
    left.plot(x[1:] or x, later, color="#1f77b4", marker=".", label="ours, seconds")
    left.set_ylim(0, max(later) * 1.3)
    left.set_xlabel(f"day (day 1, the initial state: {seconds[0]:.1f} s)")
    left.set_ylabel("seconds")
    right = left.twinx()
    for name, colour in (("golden_versions", "#2ca02c"), ("delivered_versions", "#ff7f0e")):
        counts = [growth.get(name, {}).get(d, 0) for d in days][1:]
        if counts:
            right.plot(range(2, len(counts) + 2), counts, color=colour, linestyle="--",
                       label=name.replace("_", " ") + " started")
    right.set_ylabel("versions started")
    right.set_ylim(bottom=0)
    lines = left.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    left.legend(lines[0] + more[0], lines[1] + more[1], loc="lower left", fontsize=8)
    left.set_title(f"{TITLE}\n{result.get('rows', 0):,} records, {len(seconds)} days, {result.get('db', '')}",
                   fontsize=10)
    return svg(fig)
