"""``jilin-pipelines bench --rows N [--db sqlite|postgresql]``: generate about N delivered records with the
sample generator, then time in this one process, on the same files and the same database:

1. our pipeline, as ``make run`` runs it (``bench.ours``), per stage and per day;
2. the copy-only floor (``bench.floor``);
3. a naive peer (``bench.peer``);
4. the output floor (``bench.output_floor``): the deliveries read and exactly what ours wrote to the lake and the
   database written again by the fastest path;

and print rows per second, the ratios and resident memory; the figures go to ``<data dir>/bench/latest.json``.
Imports (Dagster, Great Expectations, pandas) are done before any timing.

``--days D`` makes it a history: an initial state of about N records on the first day, then D-1 daily
increments (new and changed register records and event records of about 1 % of the state each, and the unchanged
re-deliveries), each day timed; without it, about N records over two days. The database's growth per day (golden
and delivered versions started on each day) shows whether it grows with what changed or with days x keys.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TextIO

from jilin_tools.bench import floor, ours, output_floor, peer
from jilin_tools.bench.deliveries import sources_of
from jilin_tools.bench.memory import PhasePeak, peak_rss_bytes

START = date(2025, 6, 2)
ROWS_PER_SCALE_DAY = 0.87  # delivered records per unit of the generator's ``scale`` and day (measured)
ROWS_PER_STATE = 0.78  # records delivered on a history's first day per unit of the generator's ``state`` (measured)
DAILY_SHARE = 0.01
DEFAULT_PG_URL = os.environ.get("JILIN_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
TARGETS = {"ours_over_floor_max": 2.0, "peer_over_ours_min": 2.0, "overhead_per_day_max_seconds": 30.0,
           # the merge at provincial scale: ours / copy-only floor, ours / output floor, ours / peer, and over a
           # history the last day's time over the second day's
           "ours_over_copy_floor_max": 6.0, "ours_over_output_floor_max": 2.0, "ours_over_peer_max": 1.0,
           "last_over_second_day_max": 1.2}


@dataclass
class Options:
    rows: int
    db: str = "sqlite"
    days: int = 2
    history: bool = False  # --days given: an initial state of about ``rows`` records, then daily increments
    seed: int = 20250602
    work: Path | None = None
    pg_url: str | None = None
    keep: bool = False
    data_dir: Path | None = None  # where bench/latest.json goes (default: the settings' data directory)
    engine: str | None = None  # where ours runs the set-based core of the merge and the scenarios (None: JILIN_ENGINE, else embedded)


def scale_for(rows: int, days: int) -> int:
    return max(1, round(rows / days / ROWS_PER_SCALE_DAY))


def generate(sources: Path, rows: int, days: int, seed: int, history: bool = False) -> dict:
    """The sources directory, written by the sample generator in a child process (its memory is not ours)."""
    size = ["--state", str(round(rows / ROWS_PER_STATE)), "--daily-share", str(DAILY_SHARE)] if history else \
        ["--scale", str(scale_for(rows, days))]
    cmd = [sys.executable, "-m", "jilin_pipelines.cli", "sample", "--out", str(sources), "--start", START.isoformat(),
           "--days", str(days), *size, "--seed", str(seed)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads((sources / "_ground_truth" / "summary.json").read_text(encoding="utf-8"))


def _pg_schema(url: str) -> tuple[str, str]:
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    return sa.make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(False), schema


def _drop_pg_schema(url: str, schema: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    engine.dispose()


def _preload() -> None:
    """Import what the three paths use, so no path is charged for an import another one paid."""
    import dagster  # noqa: F401
    import great_expectations  # noqa: F401
    import lxml.etree  # noqa: F401
    import openpyxl  # noqa: F401
    import pandas  # noqa: F401
    import stdnum.cn.ric  # noqa: F401
    import stdnum.cn.uscc  # noqa: F401

    import jilin_pipelines.definitions  # noqa: F401
    import jilin_pipelines.quality.expectations  # noqa: F401


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_bytes": mem, "platform": platform.platform(),
            "python": platform.python_version()}


def partitions_env(days: int) -> dict[str, str]:
    """Daily partitions that hold the bench's days (``START`` and the ``days - 1`` after it), for the process that
    runs ours: the Dagster definitions take their partitions from the environment when first imported. At least the
    sample's week, so that a short bench leaves partitions the process's later short benches (and the tests) fit."""
    from jilin_pipelines.settings import SAMPLE_LAST_DAY

    last = date.fromordinal(START.toordinal() + days - 1)
    covering = {"JILIN_PARTITIONS_START": START.isoformat(),
                "JILIN_PARTITIONS_END": max(last, SAMPLE_LAST_DAY).isoformat()}
    partitions = sys.modules.get("jilin_pipelines.defs.partitions")
    if partitions is not None:  # imported already: its partitions must hold the bench's days
        first, end = partitions.DAILY.start.date(), partitions.DAILY.get_last_partition_key()
        if first > START or (end is not None and date.fromisoformat(end) < last):
            raise RuntimeError(f"this process's daily partitions ({first} … {end}) do not hold the bench's days "
                               f"({START} … {last}): run the bench in a fresh process")
    return covering


def run_bench(opts: Options, out: TextIO = sys.stdout) -> dict:
    covering = partitions_env(opts.days)
    with ours.environment(covering, keys=tuple(covering)):
        return _run_bench(opts, out)


def _run_bench(opts: Options, out: TextIO = sys.stdout) -> dict:
    from jilin_pipelines.catalogue import catalogue
    from jilin_pipelines.settings import Settings

    data_dir = opts.data_dir or Settings.from_env().data_dir
    work = opts.work or data_dir / "bench" / "work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    sources = work / "sources"
    say = lambda msg: (out.write(msg + "\n"), out.flush())  # noqa: E731
    pg_schema = None
    try:
        began = time.perf_counter()
        summary = generate(sources, opts.rows, opts.days, opts.seed, opts.history)
        rows = int(summary["total_rows"])
        say(f"generated {rows} records over {opts.days} day(s) in {time.perf_counter() - began:.1f} s: {sources}")
        if opts.db == "postgresql":
            db_url, pg_schema = _pg_schema(opts.pg_url or DEFAULT_PG_URL)
        else:
            (work / "data").mkdir(parents=True, exist_ok=True)
            db_url = f"sqlite:///{work / 'data' / 'base.sqlite'}"
        _preload()
        engine = opts.engine or Settings.from_env().engine
        say(f"engine of the set-based core (merge, scenarios): {engine}")

        say("ours: the pipeline through Dagster (make run) ...")
        with PhasePeak() as mem_ours:
            mine = ours.run(sources, work / "data", work / "dagster_home", db_url, engine)
        say(f"ours: {mine.seconds:.1f} s (exit {mine.exit_code})")
        if mine.exit_code != 0:
            out.write(mine.output)
            if not mine.day_seconds:  # refused before any run (exit 2): nothing to compare with
                raise RuntimeError(f"ours ran no day (exit {mine.exit_code}); its output is above")

        entries = list(catalogue().entries)
        days = [date.fromordinal(START.toordinal() + i) for i in range(opts.days)]
        deliveries = sources_of(sources, entries, days)
        say("floor: pyarrow read + bulk load ...")
        with PhasePeak() as mem_floor:
            t = time.perf_counter()
            floor_loaded = floor.run(db_url, deliveries)
            floor_seconds = time.perf_counter() - t
        say(f"floor: {floor_seconds:.1f} s")
        say("peer: pandas + stdnum + GX + to_sql + upsert ...")
        with PhasePeak() as mem_peer:
            t = time.perf_counter()
            peer_loaded, peer_targets = peer.run(db_url, deliveries)
            peer_seconds = time.perf_counter() - t
        say(f"peer: {peer_seconds:.1f} s")

        say("output floor: the deliveries read, and what ours wrote written again ...")
        out_floor_url = (_pg_schema(opts.pg_url or DEFAULT_PG_URL) if opts.db == "postgresql"
                         else (f"sqlite:///{work / 'output_floor.sqlite'}", None))
        try:
            out_floor = output_floor.run(deliveries, work / "data" / "lake", db_url, work / "output_floor_lake",
                                         out_floor_url[0])
        finally:
            if out_floor_url[1] is not None:
                _drop_pg_schema(opts.pg_url or DEFAULT_PG_URL, out_floor_url[1])
        say(f"output floor: {out_floor.seconds:.1f} s")

        result = _figures(opts, rows, summary, mine, floor_seconds, floor_loaded, peer_seconds, peer_loaded,
                          peer_targets, {"ours": mem_ours, "floor": mem_floor, "peer": mem_peer})
        _merge_figures(result, mine, out_floor, _growth(db_url))
        result["pg_schema"] = pg_schema
        result["engine"] = engine
    finally:
        if pg_schema is not None and not opts.keep:
            _drop_pg_schema(opts.pg_url or DEFAULT_PG_URL, pg_schema)
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    target = data_dir / "bench" / "latest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    out.write(render(result))
    out.write(f"\nwritten: {target}\n")
    if result.get("history") and result.get("day_seconds"):
        from jilin_tools.bench.chart import history_svg

        chart = target.with_name("history.svg")
        chart.write_text(history_svg(result), encoding="utf-8")
        out.write(f"written: {chart}\n")
    return result


def _rate(rows: int, seconds: float) -> float:
    return round(rows / seconds, 1) if seconds > 0 else 0.0


def _figures(opts, rows, summary, mine, floor_seconds, floor_loaded, peer_seconds, peer_loaded, peer_targets,
             mem) -> dict:
    stages = {k: round(v, 3) for k, v in sorted(mine.stage_seconds.items(), key=lambda kv: _stage_order(kv[0]))}
    n_days = max(1, len(mine.day_seconds))
    step_total = sum(v for k, v in mine.stage_seconds.items() if k != ours.OVERHEAD)
    overhead_per_day = (sum(mine.day_seconds) - step_total) / n_days if mine.day_seconds else None
    ratios = {
        "ours_over_floor": round(mine.seconds / floor_seconds, 3) if floor_seconds else None,
        "ours_over_peer": round(mine.seconds / peer_seconds, 3) if peer_seconds else None,
    }
    return {
        "rows": rows,
        "db": opts.db,
        "days": opts.days,
        "history": opts.history,
        "seed": opts.seed,
        "generator_scale": summary.get("scale"),
        "machine": machine(),
        "floor_seconds": round(floor_seconds, 3),
        "peer_seconds": round(peer_seconds, 3),
        "ours_seconds": round(mine.seconds, 3),
        "ours_stage_seconds": stages,
        "ours_run_seconds_per_day": [round(s, 3) for s in mine.day_seconds],
        "dagster_overhead_seconds_per_day": None if overhead_per_day is None else round(overhead_per_day, 3),
        "ours_exit_code": mine.exit_code,
        "ours_failed_steps": mine.failed_steps,
        "rows_per_second": {
            "floor": _rate(rows, floor_seconds),
            "peer": _rate(rows, peer_seconds),
            "ours": _rate(rows, mine.seconds),
            "ours_by_stage": {k: _rate(rows, v) for k, v in stages.items() if k != ours.OVERHEAD},
        },
        "ratios": ratios,
        "targets": {
            "ours_over_floor_at_most_2": None if ratios["ours_over_floor"] is None
            else ratios["ours_over_floor"] <= TARGETS["ours_over_floor_max"],
            "ours_at_least_2x_faster_than_peer": None if ratios["ours_over_peer"] is None
            else ratios["ours_over_peer"] <= 1 / TARGETS["peer_over_ours_min"],
            "dagster_overhead_per_day_under_30s": None if overhead_per_day is None
            else overhead_per_day < TARGETS["overhead_per_day_max_seconds"],
        },
        "peak_rss_bytes": max(peak_rss_bytes(), *(m.peak for m in mem.values())),
        "peak_rss_bytes_by_path": {k: m.peak for k, m in mem.items()},
        "rss_bytes_at_start_by_path": {k: m.start for k, m in mem.items()},
        "rss_added_bytes_by_path": {k: max(0, m.peak - m.start) for k, m in mem.items()},
        "ours_stage_peak_rss_bytes": _stage_peaks(mine, mem["ours"]),
        "ours_step_rss": _step_memory(mine, mem["ours"]),
        "records_loaded": {
            "floor": sum(floor_loaded.values()),
            "peer": sum(peer_loaded.values()),
            "ours": sum(mine.landed_rows.values()),
        },
        "records_loaded_by_dataset": {
            "floor": dict(sorted(floor_loaded.items())),
            "peer": dict(sorted(peer_loaded.items())),
            "ours": dict(sorted(mine.landed_rows.items())),
        },
        "peer_target_rows": dict(sorted(peer_targets.items())),
        "generated_rows_by_dataset": {ds: sum(days.values()) for ds, days in sorted(summary["rows"].items())},
    }


def _growth(db_url: str) -> dict[str, dict[str, int]]:
    """Per day: the golden versions that started on it and the delivered versions of its partitions, over every
    base table (what the database grew by that day)."""
    import sqlalchemy as sa

    from jilin_pipelines.base.config import base_config
    from jilin_pipelines.base.schema import PARTITION, VALID_FROM, version_table_name

    grown: dict[str, dict[str, int]] = {"golden_versions": {}, "delivered_versions": {}}
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            for name in base_config().tables:
                for what, table, column in (("golden_versions", name, VALID_FROM),
                                            ("delivered_versions", version_table_name(name), PARTITION)):
                    for day, n in conn.exec_driver_sql(f'SELECT "{column}", COUNT(*) FROM "{table}" GROUP BY 1'):
                        day = str(day)[:10]
                        grown[what][day] = grown[what].get(day, 0) + int(n)
    finally:
        engine.dispose()
    return {k: dict(sorted(v.items())) for k, v in grown.items()}


def _merge_figures(result: dict, mine, out_floor, growth: dict) -> None:
    """The figures of the merge at provincial scale: the output floor, the time per day and the growth per day,
    and their targets."""
    days = [round(s, 3) for s in mine.day_seconds]
    result["day_seconds"] = days
    result["output_floor_seconds"] = round(out_floor.seconds, 3)
    result["output_floor"] = out_floor.as_dict()
    result["database_growth_by_day"] = growth
    ours_s, peer_s = result["ours_seconds"], result["peer_seconds"]
    ratios = {
        "ours_over_output_floor": round(ours_s / out_floor.seconds, 3) if out_floor.seconds else None,
        "last_over_second_day": round(days[-1] / days[1], 3) if len(days) > 2 and days[1] else None,
    }
    result["ratios"].update(ratios)
    verdict = lambda r, limit: None if r is None else r <= limit  # noqa: E731
    result["targets"].update({
        "ours_over_copy_floor_at_most_6": verdict(result["ratios"]["ours_over_floor"], TARGETS["ours_over_copy_floor_max"]),
        "ours_over_output_floor_at_most_2": verdict(ratios["ours_over_output_floor"],
                                                    TARGETS["ours_over_output_floor_max"]),
        "ours_no_slower_than_peer": verdict(round(ours_s / peer_s, 3) if peer_s else None, TARGETS["ours_over_peer_max"]),
        "last_day_within_1_2x_of_second": verdict(ratios["last_over_second_day"], TARGETS["last_over_second_day_max"]),
    })


def _stage_peaks(mine, mem) -> dict[str, int]:
    """The resident memory peak sampled while each stage's steps ran."""
    peaks: dict[str, int] = {}
    for stage, _step, began, ended in mine.step_intervals:
        peak = mem.peak_between(began, ended)
        if peak is not None:
            peaks[stage] = max(peaks.get(stage, 0), peak)
    return dict(sorted(peaks.items(), key=lambda kv: _stage_order(kv[0])))


def _step_memory(mine, mem) -> list[dict]:
    """Per step, in the order the steps ran: the resident memory sampled at its start and its peak while it ran
    (what the step itself added is the difference; what stays afterwards shows at the next step's start)."""
    rows = []
    for _stage, step, began, ended in sorted(mine.step_intervals, key=lambda s: s[2]):
        peak, start = mem.peak_between(began, ended), mem.at(began)
        if peak is not None and start is not None:
            rows.append({"step": step, "start_bytes": start, "peak_bytes": peak, "seconds": round(ended - began, 3)})
    return rows


def _stage_order(stage: str) -> tuple[int, str]:
    order = ["raw", "standardised", "quality", "base", "scenarios", ours.OVERHEAD]
    return (order.index(stage) if stage in order else len(order) - 1, stage)


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.0f} MiB"


def render(r: dict) -> str:
    lines = [
        "",
        f"bench: {r['rows']:,} records, {r['days']} day(s), {r['db']}, engine {r.get('engine', 'embedded')}, "
        f"{r['machine']['cpus']} cpus ({r['machine']['cpu_model'] or 'unknown cpu'})",
        f"{'path':<30}{'seconds':>10}{'rows/s':>12}{'peak RSS':>14}{'added':>12}",
        f"{'copy-only floor':<30}{r['floor_seconds']:>10.1f}{r['rows_per_second']['floor']:>12,.0f}"
        f"{_mb(r['peak_rss_bytes_by_path']['floor']):>14}{_mb(r['rss_added_bytes_by_path']['floor']):>12}",
        f"{'naive peer':<30}{r['peer_seconds']:>10.1f}{r['rows_per_second']['peer']:>12,.0f}"
        f"{_mb(r['peak_rss_bytes_by_path']['peer']):>14}{_mb(r['rss_added_bytes_by_path']['peer']):>12}",
        f"{'ours (make run)':<30}{r['ours_seconds']:>10.1f}{r['rows_per_second']['ours']:>12,.0f}"
        f"{_mb(r['peak_rss_bytes_by_path']['ours']):>14}{_mb(r['rss_added_bytes_by_path']['ours']):>12}",
    ]
    if r.get("output_floor_seconds") is not None:
        o = r["output_floor"]
        lines.insert(5, f"{'output floor':<30}{r['output_floor_seconds']:>10.1f}"
                        f"{_rate(r['rows'], r['output_floor_seconds']):>12,.0f}   (read {o['read_seconds']:.1f} s, "
                        f"lake {o['lake_rows']:,} rows {o['lake_seconds']:.1f} s, database "
                        f"{sum(o['database_rows'].values()):,} rows {o['database_seconds']:.1f} s)")
    for stage, seconds in r["ours_stage_seconds"].items():
        rate = r["rows_per_second"]["ours_by_stage"].get(stage)
        peak = r["ours_stage_peak_rss_bytes"].get(stage)
        lines.append(f"{'  ' + stage:<30}{seconds:>10.1f}{'' if rate is None else f'{rate:,.0f}':>12}"
                     f"{'' if peak is None else _mb(peak):>14}")
    ratios, targets = r["ratios"], r["targets"]
    lines += [
        f"ours/floor {ratios['ours_over_floor']}  (target ≤ 2: {'met' if targets['ours_over_floor_at_most_2'] else 'MISSED'})",
        f"ours/peer  {ratios['ours_over_peer']}  (target ≤ 0.5: "
        f"{'met' if targets['ours_at_least_2x_faster_than_peer'] else 'MISSED'})",
        f"Dagster overhead per day {r['dagster_overhead_seconds_per_day']} s (target < 30 s: "
        f"{'met' if targets['dagster_overhead_per_day_under_30s'] else 'MISSED'})",
        f"peak RSS of the process {_mb(r['peak_rss_bytes'])}",
        *_merge_lines(r),
        "records loaded: " + ", ".join(f"{k} {v:,}" for k, v in r["records_loaded"].items()),
    ]
    return "\n".join(lines) + "\n"


def _merge_lines(r: dict) -> list[str]:
    if "day_seconds" not in r:
        return []
    t, ratios = r["targets"], r["ratios"]
    met = lambda ok: "-" if ok is None else ("met" if ok else "MISSED")  # noqa: E731
    growth = r["database_growth_by_day"]
    lines = [
        f"ours/copy floor {ratios['ours_over_floor']} (target ≤ 6: {met(t['ours_over_copy_floor_at_most_6'])}); "
        f"ours/output floor {ratios['ours_over_output_floor']} (target ≤ 2: {met(t['ours_over_output_floor_at_most_2'])}); "
        f"ours/peer {ratios['ours_over_peer']} (target ≤ 1: {met(t['ours_no_slower_than_peer'])})",
        f"{'day':<12}{'seconds':>10}{'golden versions':>18}{'delivered versions':>20}",
    ]
    for i, seconds in enumerate(r["day_seconds"]):
        day = date.fromordinal(START.toordinal() + i).isoformat()
        lines.append(f"{day:<12}{seconds:>10.1f}{growth['golden_versions'].get(day, 0):>18,}"
                     f"{growth['delivered_versions'].get(day, 0):>20,}")
    if ratios.get("last_over_second_day") is not None:
        lines.append(f"last day / second day {ratios['last_over_second_day']} (target ≤ 1.2: "
                     f"{met(t['last_day_within_1_2x_of_second'])})")
    return lines


def main(args, out: TextIO = sys.stdout) -> int:
    opts = Options(rows=args.rows, db=args.db, days=args.days or 2, history=args.days is not None, seed=args.seed,
                   work=Path(args.work).resolve() if args.work else None, pg_url=args.pg_url, keep=args.keep,
                   engine=args.engine)
    result = run_bench(opts, out)
    counts = set(result["records_loaded"].values())
    if len(counts) != 1:
        out.write("the three paths loaded different numbers of records: the comparison is not fair\n")
        return 1
    return 0 if result["ours_exit_code"] == 0 else 1
