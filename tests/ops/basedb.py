"""What a run leaves in the base database, in a form two databases (SQLite or PostgreSQL) can be compared by:
per table, its rows as sorted JSON texts, without the columns that differ by run (surrogate ids, run ids)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from jilin_pipelines.base.schema import metadata

VOLATILE = {"id", "run_id"}
#: The tables the end-to-end backfill of the certificate verification (and its upstream) writes.
CERTIFICATE_TABLES = (
    "certificate",
    "certificate_source_version",
    "quarantine",
    "certificate_verification",
    "scenario_evidence",
)


def _text(value) -> str | int | bool | None:
    return value if value is None or isinstance(value, (bool, int)) else str(value)


def base_snapshot(url: str, tables=CERTIFICATE_TABLES) -> dict[str, list[str]]:
    engine = sa.create_engine(url)
    try:
        snapshot = {}
        with engine.connect() as conn:
            for name in tables:
                table = metadata().tables[name]
                columns = [c for c in table.columns if c.name not in VOLATILE]
                rows = conn.execute(sa.select(*columns)).mappings()
                snapshot[name] = sorted(
                    json.dumps({k: _text(v) for k, v in row.items()}, ensure_ascii=False, sort_keys=True) for row in rows
                )
        return snapshot
    finally:
        engine.dispose()


def rows_by_partition(snapshot: dict[str, list[str]], table: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for text in snapshot[table]:
        day = json.loads(text)["partition"]
        counts[day] = counts.get(day, 0) + 1
    return counts
