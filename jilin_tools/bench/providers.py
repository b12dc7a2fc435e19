"""``jilin-pipelines bench-providers [--providers 1000] [--rows-per-provider 20]``: what a provider costs beyond its
rows.

The same day of one dataset (``traffic_police.violations``, rows from the sample generator) is run through the whole
pipeline (``jilin-pipelines run``: Dagster, landing, standardising, merging, scenarios) twice, in this process and on
fresh data directories: delivered by its one provider (today's layout), then split over N village providers (the
registry ``providers.yaml``, each provider's file in its own folder). The rows are the same, so the difference is
what the providers cost beyond the work itself — finding their files, landing, fingerprinting and judging each on
its own, their bookkeeping — and per provider it should stay under :data:`TARGET_MS`. A third run re-delivers one
provider's file: only it is landed again. Figures go to ``<data dir>/bench/providers.json``.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TextIO

from jilin_tools.bench import _preload, machine, ours, partitions_env
from jilin_pipelines.providers import Provider, write_registry

DAY = date(2025, 6, 2)
DATASET = "traffic_police.violations"
FOLDER = Path("traffic_police") / "violations"
FILE = f"violations_{DAY:%Y%m%d}.csv"
ENCODING = "gbk"
EXCHANGE = Path("social_security") / "exchange.sqlite"
TARGET_MS = 50.0
VIOLATIONS_PER_SCALE = 0.16  # violation rows of a one-day sample per unit of the generator's scale (measured)


def _rows(work: Path, wanted: int, seed: int) -> tuple[list[str], list[list[str]]]:
    """About ``wanted`` violation rows of a one-day sample, with their header."""
    from jilin_tools.sample import generate

    generated = work / "generated"
    generate(generated, start=DAY, days=1, scale=max(200, round(wanted / VIOLATIONS_PER_SCALE)), seed=seed)
    with open(generated / FOLDER / FILE, encoding=ENCODING, newline="") as fh:
        header, *rows = list(csv.reader(fh))
    # the front-end database, its tables empty: no delivery that way, and nothing missing
    exchange = sqlite3.connect(generated / EXCHANGE)
    for (table,) in exchange.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        exchange.execute(f'DELETE FROM "{table}"')
    exchange.commit()
    exchange.close()
    shutil.move(generated / EXCHANGE, work / "exchange.sqlite")
    shutil.rmtree(generated)
    return header, rows


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(text.getvalue().encode(ENCODING))


def village_registry(n: int) -> list[Provider]:
    """The province, its 60 counties and ``n`` village providers of violations spread over them."""
    from jilin_tools.sample.codes import current_counties

    counties = current_counties()
    out = [Provider("220000", "220000", "province", "吉林省")]
    out += [Provider(c, c, "county", c, "220000") for c in counties]
    for i in range(n):
        county = counties[i % len(counties)]
        out.append(Provider(f"V{i + 1:05d}", f"{county}{i // len(counties) % 1000:03d}{i % 1000:03d}", "village",
                            f"村 {i + 1}", county, (DATASET,)))
    return out


def _run(sources: Path, root: Path, name: str) -> ours.OursResult:
    data = root / name
    return ours.run(sources, data / "data", data / "home", f"sqlite:///{data / 'base.sqlite'}")


def _rerun(sources: Path, root: Path, name: str) -> tuple[float, int]:
    from jilin_pipelines.runner import run_days

    data = root / name
    env = {"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(data / "data"), "DAGSTER_HOME": str(data / "home"),
           "JILIN_BASE_DB_URL": f"sqlite:///{data / 'base.sqlite'}"}
    with ours.environment(env):
        began = time.perf_counter()
        code = run_days(start=None, end=None, force=False, out=io.StringIO())
        return time.perf_counter() - began, code


def _relanded(root: Path, name: str) -> int:
    from jilin_pipelines.raw import landed_summary

    path = root / name / "data" / "lake" / "raw" / FOLDER / f"{DAY.isoformat()}.parquet"
    return sum(bool(f["relanded"]) for f in (landed_summary(path) or {}).get("providers", {}).values())


def run_providers_bench(providers: int = 1000, rows_per_provider: int = 20, seed: int = 20250602,
                        work: Path | None = None, out: TextIO | None = None, warm_up: bool = True) -> dict:
    """Run the bench (see the module docstring) and return its figures; ``warm_up``: a first, untimed run pays the
    process's first-run costs (without it, the one-provider run pays them: only for checking that it runs)."""
    covering = partitions_env(1)  # the definitions' daily partitions hold the bench's day
    with ours.environment(covering, keys=tuple(covering)):
        return _run_providers_bench(providers, rows_per_provider, seed, work, out, warm_up)


def _run_providers_bench(providers: int, rows_per_provider: int, seed: int, work: Path | None,
                         out: TextIO | None, warm_up: bool) -> dict:
    say = (lambda msg: (out.write(msg + "\n"), out.flush())) if out else (lambda _msg: None)
    root = Path(work or tempfile.mkdtemp(prefix="jilin_providers_"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        header, rows = _rows(root, providers * rows_per_provider, seed)
        one, many = root / "one" / "sources", root / "many" / "sources"
        for sources in (one, many):
            (sources / EXCHANGE).parent.mkdir(parents=True)
            shutil.copy(root / "exchange.sqlite", sources / EXCHANGE)
        _write(one / FOLDER / FILE, header, rows)
        write_registry(many / "providers.yaml", village_registry(providers))
        codes = [f"V{i + 1:05d}" for i in range(providers)]
        for i, code in enumerate(codes):
            _write(many / FOLDER / code / FILE, header, rows[i::providers])
        _preload()  # imports paid before any timing
        say(f"{len(rows)} violation rows; one provider, then {providers} providers of about "
            f"{len(rows) / providers:.0f} rows each")
        if warm_up:
            _run(one, root, "warm-up")  # first-run costs (Great Expectations' context, plots) paid before timing
        single = _run(one, root, "one-run")
        say(f"one provider:   {single.seconds:7.1f} s (exit {single.exit_code})")
        split = _run(many, root, "many-run")
        say(f"{providers} providers: {split.seconds:7.1f} s (exit {split.exit_code})")
        # one provider re-delivers (its first row dropped): only it is read again
        victim = many / FOLDER / codes[0] / FILE
        _write(victim, header, rows[0::providers][1:])
        again, again_code = _rerun(many, root, "many-run")
        relanded = _relanded(root, "many-run")
        say(f"re-delivery by one provider: {again:7.1f} s, providers landed again: {relanded}")
        overhead_ms = (split.seconds - single.seconds) / providers * 1000
        result = {
            "providers": providers,
            "rows": len(rows),
            "one_provider_seconds": round(single.seconds, 2),
            "many_providers_seconds": round(split.seconds, 2),
            "stages_one": {k: round(v, 2) for k, v in single.stage_seconds.items()},
            "stages_many": {k: round(v, 2) for k, v in split.stage_seconds.items()},
            "overhead_per_provider_ms": round(overhead_ms, 2),
            "target_ms": TARGET_MS,
            "redelivery_seconds": round(again, 2),
            "redelivery_relanded_providers": relanded,
            "exit_codes": [single.exit_code, split.exit_code, again_code],
            "machine": machine(),
        }
        say(f"overhead per provider: {overhead_ms:.1f} ms (target < {TARGET_MS:.0f} ms: "
            f"{'met' if overhead_ms < TARGET_MS else 'MISSED'})")
        for stage in sorted(set(single.stage_seconds) | set(split.stage_seconds)):
            a, b = single.stage_seconds.get(stage, 0.0), split.stage_seconds.get(stage, 0.0)
            say(f"  {stage:<14} {a:7.1f} s → {b:7.1f} s  ({(b - a) / providers * 1000:+.1f} ms per provider)")
        return result
    finally:
        if work is None:
            shutil.rmtree(root, ignore_errors=True)


def main(args, out: TextIO) -> int:
    from jilin_pipelines.settings import Settings

    result = run_providers_bench(args.providers, args.rows_per_provider, args.seed,
                                 Path(args.work).resolve() if args.work else None, out)
    target = Settings.from_env().data_dir / "bench" / "providers.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    out.write(f"figures: {target}\n")
    return 0 if result["exit_codes"] == [0, 0, 0] else 1
