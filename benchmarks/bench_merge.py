"""Merge throughput of the base databases: N person records (a synthetic driving-licence partition) merged into
SQLite and/or PostgreSQL through ``jilin_pipelines.base.merge_partition``.

    uv run --no-sync python benchmarks/bench_merge.py [--rows 1000000] [--db sqlite|postgresql|both]
        [--all-tables] [--pg-url URL] [--sqlite-path PATH] [--days D [--daily 0.04]]

Three merges are timed, each one transaction:
  1. day 1: N new persons (every key inserted);
  2. day 2: the same N persons re-delivered, a tenth of them with a changed name (a second version per key);
  3. day 2 again: the same frame re-materialised (idempotent: nothing changes).
By default only the ``person`` table is merged (the driving licence also feeds ``certificate``; ``--all-tables``
merges both). PostgreSQL runs in a fresh schema of the server at ``--pg-url`` (default: ``JILIN_TEST_PG_URL`` or
the local ``test`` database), dropped afterwards. Not a test: it prints records per second.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from jilin_pipelines.base import merge_partition, upgrade
from jilin_pipelines.base.config import BaseConfig, base_config
from jilin_pipelines.quality import layout

DATASET = "traffic_police.driving_licences"
DAY1, DAY2 = date(2025, 6, 2), date(2025, 6, 3)
DEFAULT_PG = os.environ.get("JILIN_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
SURNAMES = np.array(list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"))
GIVEN = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"))


_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


def resident_ids(n: np.ndarray) -> pd.Series:
    """Distinct valid GB 11643 resident ID numbers, one per ``n`` (born on one of 18,000 days from 1950 on, a
    sequence number for the rest, the check character computed): the merge keys a golden record by valid IDs only."""
    birth = (pd.to_datetime("1950-01-01") + pd.to_timedelta(n % 18000, unit="D")).strftime("%Y%m%d")
    body = "220102" + pd.Series(birth) + pd.Series(n // 18000).astype(str).str.zfill(3)
    digits = np.frombuffer("".join(body).encode(), dtype=np.uint8).reshape(len(body), 17) - 48
    check = np.array(list("10X98765432"))[(digits.astype(np.int64) @ _WEIGHTS) % 11]
    return body + check


def licences(rows: int, day: date, seed: int, changed: float = 0.0) -> pd.DataFrame:
    """A standardised driving-licence partition of ``rows`` distinct persons (vectorised, deterministic)."""
    rng = np.random.default_rng(seed)
    n = np.arange(rows)
    birth = pd.to_datetime("1950-01-01") + pd.to_timedelta(n % 18000, unit="D")
    ids = resident_ids(n)
    names = pd.Series(SURNAMES[n % len(SURNAMES)]) + pd.Series(GIVEN[(n // 20) % len(GIVEN)])
    names = names + pd.Series(GIVEN[(n // 400) % len(GIVEN)])
    if changed:
        flip = rng.random(rows) < changed
        names = names.where(~flip, names + "改")
    updated = pd.Timestamp(day, tz=layout.TIMEZONE) + pd.to_timedelta(n % 86400, unit="s")
    frame = pd.DataFrame(
        {
            "id_number": ids.to_numpy(),
            "name": names.to_numpy(),
            "sex": np.where(n % 2 == 0, "1", "2"),
            "birth_date": birth.date,
            "licence_classes": "C1",
            "first_issue_date": (birth + pd.Timedelta(days=7000)).date,
            "valid_from": date(2020, 1, 1),
            "valid_to": date(2030, 1, 1),
            "status_code": "A",
            "points": pd.array(n % 13, dtype="Int64"),
            "division_code": "220102",
            "updated_at": updated,
            layout.WARNINGS: "[]",
            layout.PARTITION: day,
            layout.SOURCE_ROW: n + 1,
            layout.SOURCE_SHA256: hashlib.sha256(f"bench|{day}".encode()).hexdigest(),
        }
    )
    assert frame["id_number"].is_unique
    return frame


def history(url: str, rows: int, days: int, daily: float, config: BaseConfig, incremental: bool) -> list[float]:
    """Seconds of each day's merge: day 1 ``rows`` persons, then each later day ``daily`` of them delivered again,
    half unchanged (a re-delivery) and half with a new name."""
    upgrade(url)
    engine = sa.create_engine(url)
    seconds = []
    try:
        base = licences(rows, DAY1, seed=1)
        for d in range(days):
            day = date.fromordinal(DAY1.toordinal() + d)
            if d == 0:
                frame = base
            else:
                rng = np.random.default_rng(100 + d)
                pick = np.sort(rng.choice(rows, max(1, int(rows * daily)), replace=False))
                frame = licences(rows, day, seed=d)[lambda f, pick=pick: f.index.isin(pick)].reset_index(drop=True)
                flip = rng.random(len(frame)) < 0.5
                frame["name"] = frame["name"].where(~flip, frame["name"] + f"{d}")
                frame[layout.SOURCE_ROW] = np.arange(1, len(frame) + 1)
            t0 = time.perf_counter()
            merge_partition(engine, DATASET, day, frame, config=config, incremental=incremental)
            seconds.append(time.perf_counter() - t0)
    finally:
        engine.dispose()
    return seconds


def only(tables: list[str]) -> BaseConfig:
    full = base_config()
    return BaseConfig(tables={t: full.tables[t] for t in tables})


def run(url: str, rows: int, config: BaseConfig) -> list[tuple[str, float, dict]]:
    upgrade(url)
    engine = sa.create_engine(url)
    results = []
    try:
        day1 = licences(rows, DAY1, seed=1)
        day2 = licences(rows, DAY2, seed=2, changed=0.1)
        for label, day, frame in (("day 1: insert", DAY1, day1), ("day 2: new version", DAY2, day2),
                                  ("day 2 again: re-materialise", DAY2, day2)):
            t0 = time.perf_counter()
            stats = merge_partition(engine, DATASET, day, frame, config=config)
            results.append((label, time.perf_counter() - t0, stats.as_dict()["tables"]))
    finally:
        engine.dispose()
    return results


def report(db: str, rows: int, results: list[tuple[str, float, dict]]) -> None:
    for label, seconds, tables in results:
        counts = "; ".join(
            f"{t}: +{s['inserted']} ~{s['updated']} ={s['unchanged']}" for t, s in tables.items()
        )
        print(f"{db:10s} {label:28s} {rows:>9,d} records in {seconds:8.1f} s = {rows / seconds:>9,.0f} records/s  ({counts})")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    p.add_argument("--all-tables", action="store_true", help="merge person and certificate (default: person only)")
    p.add_argument("--pg-url", default=DEFAULT_PG)
    p.add_argument("--sqlite-path", type=Path, default=None)
    p.add_argument("--days", type=int, default=None,
                   help="a history instead: day 1 N persons, then days-1 days each re-delivering --daily of them "
                        "(half changed), merged incrementally and by full recomputation, each day timed (SQLite)")
    p.add_argument("--daily", type=float, default=0.04, help="with --days: the share of persons delivered a day")
    args = p.parse_args(argv)
    config = base_config() if args.all_tables else only(["person"])
    if args.days:
        for incremental in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                seconds = history(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", args.rows, args.days, args.daily, config,
                                  incremental)
            later = seconds[1:]
            print(f"{'incremental' if incremental else 'full recomputation':20s} {args.rows:,} persons, "
                  f"{args.days} days, {args.daily:.0%} a day: day 1 {seconds[0]:.1f} s; day 2 {later[0]:.2f} s, "
                  f"day {args.days} {later[-1]:.2f} s (x{later[-1] / later[0]:.2f}); later days "
                  + " ".join(f"{x:.2f}" for x in later))
            sys.stdout.flush()
        return 0
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = args.sqlite_path or Path(tmp) / "bench.sqlite"
            path.unlink(missing_ok=True)
            report("sqlite", args.rows, run(f"sqlite:///{path}", args.rows, config))
    if args.db in ("postgresql", "both"):
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(args.pg_url)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            url = sa.make_url(args.pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
            report("postgresql", args.rows, run(url.render_as_string(hide_password=False), args.rows, config))
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
            admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
