"""Benchmark (not a test): the standardised layer on one large delivery — standardise + all expectations.

Tiles the committed sample's motor-vehicle deliveries (every §7 problem included) up to ``--rows`` rows, each
row given its own update time so that no two are exact duplicates (every row is standardised and checked; the
key de-duplication then keeps the newest version per vehicle), and times ``standardise`` on them, printing rows per second, Great Expectations' share of the time and the peak
resident memory. Run: ``uv run python benchmarks/bench_quality.py [--rows 1000000] [--chunk-rows N]``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.quality import expectations
from jilin_tools.bench.memory import PhasePeak
from jilin_pipelines.quality.standardise import CHUNK_ROWS, standardise
from jilin_pipelines.raw import days_in_sources, land_day
from jilin_pipelines.settings import CHECKOUT, Settings


def delivery(dataset_id: str, rows: int) -> pa.Table:
    entry = catalogue().entry(dataset_id)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"JILIN_SOURCES_DIR": str(CHECKOUT / "sample_sources"), "JILIN_DATA_DIR": tmp})
        parts = [land_day(entry, d, settings).delivery.table for d in days_in_sources(settings, [entry])]
    sample = pa.concat_tables([p for p in parts if p.num_rows]).drop_columns(["_source_row"])
    tiled = pa.concat_tables([sample] * (rows // sample.num_rows + 1)).slice(0, rows)
    seconds = pa.array(range(rows), pa.int64())
    stamps = pc.strftime(pc.cast(pc.add(pc.multiply(seconds, 10), 1_748_700_000), pa.timestamp("s")), "%Y-%m-%d %H:%M:%S")
    updated = entry.dataset.field(entry.dataset.updated_field).source
    tiled = tiled.set_column(tiled.schema.get_field_index(updated), updated, stamps)
    return tiled.append_column("_source_row", pc.add(seconds, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dataset", default="traffic_police.motor_vehicles")
    parser.add_argument("--chunk-rows", type=int, default=None,
                        help="the standardised layer's chunk budget (default: quality.standardise.CHUNK_ROWS)")
    args = parser.parse_args()
    entry = catalogue().entry(args.dataset)
    table = delivery(args.dataset, args.rows)

    standardise(entry, table.slice(0, 1000), date(2026, 1, 1), "warm-up")  # GX context and suite, built once
    gx_seconds = 0.0
    validate = expectations.validate

    def timed(*a, **kw):
        nonlocal gx_seconds
        started = time.perf_counter()
        try:
            return validate(*a, **kw)
        finally:
            gx_seconds += time.perf_counter() - started

    expectations.validate = timed
    with PhasePeak() as memory:
        started = time.perf_counter()
        outcome = standardise(entry, table, date(2026, 1, 1), "bench", chunk_rows=args.chunk_rows)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"dataset            {args.dataset}")
    print(f"rows               {table.num_rows:,}")
    st = outcome.stats
    print(f"standardised       {st['standardised_rows']:,} (after {st['superseded_in_delivery']:,} older versions of the same"
          f" keys)  quarantined {st['quarantined_rows']:,}")
    print(f"seconds            {seconds:.2f}")
    print(f"rows per second    {table.num_rows / seconds:,.0f}")
    print(f"GX share           {gx_seconds / seconds:.0%} ({gx_seconds:.2f} s, {len(outcome.results)} expectations)")
    print(f"chunk rows         {args.chunk_rows or CHUNK_ROWS:,}")
    print(f"RSS added          {(memory.peak - memory.start) / 2**20:,.0f} MiB (by standardise, sampled)")
    print(f"peak RSS           {peak / 2**20:,.0f} MiB (the process, delivery included)")


if __name__ == "__main__":
    main()
