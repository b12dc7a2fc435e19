"""The output floor: read every delivery (``bench.floor.read``, the fastest reader per format) and write, by the
fastest path there is, exactly what our pipeline wrote — every Parquet file of its lake and every row of every table
of its base database, in key order — into a fresh lake directory and a fresh database. The least any pipeline that
reads these deliveries and keeps what ours keeps must spend: what ours spends beyond it is computation, not I/O.

What ours wrote is read back untimed, one file or table at a time (memory stays at one table's size); only the
delivery reads and the writes are timed. Tables are written without indexes or constraints (the floor pays no
B-tree upkeep), each in one transaction: SQLite ``executemany`` over tuples, PostgreSQL ``COPY`` of an Arrow CSV.
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import sqlalchemy as sa

from jilin_tools.bench import floor, peer
from jilin_tools.bench.deliveries import Source

@dataclass
class OutputFloor:
    seconds: float = 0.0  # reads of the deliveries + writes (timed)
    read_seconds: float = 0.0
    lake_seconds: float = 0.0
    database_seconds: float = 0.0
    lake_files: int = 0
    lake_rows: int = 0
    database_rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"seconds": round(self.seconds, 3), "read_seconds": round(self.read_seconds, 3),
                "lake_seconds": round(self.lake_seconds, 3), "database_seconds": round(self.database_seconds, 3),
                "lake_files": self.lake_files, "lake_rows": self.lake_rows,
                "database_rows": dict(sorted(self.database_rows.items()))}


def run(sources: list[Source], lake: Path, ours_db_url: str, out_dir: Path, floor_db_url: str) -> OutputFloor:
    """Time the output floor of what ours wrote to ``lake`` and ``ours_db_url``, writing into ``out_dir`` and
    ``floor_db_url`` (both fresh)."""
    result = OutputFloor()
    t = time.perf_counter()
    for src in sources:
        floor.read(src)
    result.read_seconds = time.perf_counter() - t

    out_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(lake.rglob("*.parquet")):
        table = pq.read_table(path)  # untimed: what ours wrote
        target = out_dir / path.relative_to(lake)
        t = time.perf_counter()
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target)
        result.lake_seconds += time.perf_counter() - t
        result.lake_files += 1
        result.lake_rows += table.num_rows
    shutil.rmtree(out_dir, ignore_errors=True)

    ours = sa.create_engine(ours_db_url)
    target_engine = sa.create_engine(floor_db_url)
    try:
        meta = sa.MetaData()
        meta.reflect(ours)
        for table in meta.sorted_tables:
            if table.name.startswith(("alembic", "sqlite_", floor.PREFIX, peer.PREFIX)):
                continue  # the other paths' tables, in the same database
            order = ", ".join(f'"{c.name}"' for c in (table.primary_key.columns or list(table.columns)[:1]))
            copy = sa.Table(table.name, sa.MetaData(), *[sa.Column(c.name, c.type) for c in table.columns])
            with target_engine.begin() as conn:
                copy.create(conn)
            rows, seconds = _copy(ours, target_engine, f'SELECT * FROM "{table.name}" ORDER BY {order}', copy.name)
            result.database_seconds += seconds
            result.database_rows[table.name] = rows
    finally:
        ours.dispose()
        target_engine.dispose()
    result.seconds = result.read_seconds + result.lake_seconds + result.database_seconds
    return result


def _copy(source: sa.Engine, target: sa.Engine, select: str, into: str) -> tuple[int, float]:
    """The rows of ``select`` on ``source`` (read untimed, as the driver gives them) bulk-written to ``into`` on
    ``target`` in one transaction; returns (rows, seconds of the write)."""
    if source.dialect.name == "sqlite":
        with source.connect() as conn:
            rows = conn.exec_driver_sql(select).fetchall()
        raw = sqlite3.connect(target.url.database, isolation_level=None)
        try:
            t = time.perf_counter()
            raw.execute("BEGIN")
            if rows:
                raw.executemany(f'INSERT INTO "{into}" VALUES ({", ".join("?" * len(rows[0]))})', rows)
            raw.execute("COMMIT")
            return len(rows), time.perf_counter() - t
        finally:
            raw.close()
    buf = io.BytesIO()
    with source.connect() as conn:
        conn.connection.cursor().copy_expert(f"COPY ({select}) TO STDOUT WITH (FORMAT csv)", buf)
    rows = buf.getvalue().count(b"\n")  # (a value with a line end would count twice: none in the base tables)
    buf.seek(0)
    t = time.perf_counter()
    with target.begin() as conn:
        conn.connection.cursor().copy_expert(f'COPY "{into}" FROM STDIN WITH (FORMAT csv)', buf)
    return rows, time.perf_counter() - t
