"""Bulk paths: frames straight into their table, or into temporary staging tables for set-based SQL; reading
frames back.

PostgreSQL: ``COPY ... FROM STDIN`` (psycopg2 ``copy_expert``) from an in-memory CSV buffer (written by Arrow).
SQLite: batched ``executemany``. Never row-by-row statements. Staging tables are temporary (``pg_temp`` /
``temp``), created empty from the target table's columns, analysed on PostgreSQL once loaded, and dropped after use.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

SQLITE_BATCH = 50_000


def q(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def cols_sql(conn: sa.Connection, columns: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + q(conn, c) for c in columns)


def temp_name(conn: sa.Connection, name: str) -> str:
    schema = "pg_temp" if conn.dialect.name == "postgresql" else "temp"
    return f"{schema}.{q(conn, name)}"


def create_stage(conn: sa.Connection, name: str, like: str, columns: Sequence[str]) -> str:
    """An empty temporary table with ``columns`` of table ``like``; returns its qualified name."""
    tmp = temp_name(conn, name)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {tmp}")
    temp = "TEMPORARY TABLE " + (q(conn, name) if conn.dialect.name == "postgresql" else tmp)
    conn.exec_driver_sql(f"CREATE {temp} AS SELECT {cols_sql(conn, columns)} FROM {q(conn, like)} WHERE 1 = 0")
    return tmp


def drop_stage(conn: sa.Connection, tmp: str) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {tmp}")


def _sqlite_rows(frame: pd.DataFrame) -> list[tuple]:
    """The rows as tuples of Python values, nulls as None: built column by column."""
    columns = []
    for name in frame.columns:
        s = frame[name]
        if s.dtype == object:
            values = s.to_numpy()
            missing = pd.isna(values)
            if missing.any():
                values = values.copy()
                values[missing] = None
            columns.append(values.tolist())
        elif s.hasnans:
            columns.append(s.astype(object).where(s.notna(), None).tolist())
        else:
            columns.append(s.tolist())
    return list(zip(*columns))


def load(conn: sa.Connection, tmp: str, frame: pd.DataFrame) -> None:
    """Append ``frame`` (canonical values, columns named as the table's) to the table ``tmp`` (its SQL name)."""
    if frame.empty:
        return
    columns = list(frame.columns)
    if conn.dialect.name == "postgresql":
        # CSV written by Arrow: every value quoted, nulls empty and unquoted (COPY's NULL in CSV format), so an
        # empty string and a null stay apart
        buf = io.BytesIO()
        pacsv.write_csv(
            pa.Table.from_pandas(frame, preserve_index=False),
            buf,
            pacsv.WriteOptions(include_header=False, quoting_style="all_valid"),
        )
        buf.seek(0)
        sql = f"COPY {tmp} ({cols_sql(conn, columns)}) FROM STDIN WITH (FORMAT csv)"
        cursor = conn.connection.driver_connection.cursor()
        try:
            cursor.copy_expert(sql, buf)
        except conn.dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy raises it for its own statements
            raise sa.exc.DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()
    else:
        sql = f"INSERT INTO {tmp} ({cols_sql(conn, columns)}) VALUES ({', '.join('?' * len(columns))})"
        for start in range(0, len(frame), SQLITE_BATCH):
            conn.exec_driver_sql(sql, _sqlite_rows(frame.iloc[start : start + SQLITE_BATCH]))


def stage_frame(conn: sa.Connection, name: str, like: str, frame: pd.DataFrame) -> str:
    """``frame`` in a new temporary table ``name`` with the columns of table ``like``; returns its SQL name."""
    tmp = create_stage(conn, name, like, list(frame.columns))
    load(conn, tmp, frame)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {tmp}")  # a fresh table's row estimate is stale: plans need the real one
    return tmp


def bulk_insert(conn: sa.Connection, table: str, frame: pd.DataFrame) -> int:
    """Insert ``frame`` into ``table`` by its bulk path, straight into the table (a staging table would only copy
    every row once more); returns the rows inserted."""
    if frame.empty:
        return 0
    load(conn, q(conn, table), frame)
    return len(frame)


def key_match(conn: sa.Connection, key: Sequence[str], tmp: str, alias: str = "") -> str:
    """SQL: the row's key is one of the keys in the staging table ``tmp`` (a row-value IN on both backends)."""
    prefix = f"{alias}." if alias else ""
    if len(key) == 1:
        return f"{prefix}{q(conn, key[0])} IN (SELECT {q(conn, key[0])} FROM {tmp})"
    return f"({cols_sql(conn, key, prefix)}) IN (SELECT {cols_sql(conn, key)} FROM {tmp})"


def read_frame(conn: sa.Connection, sql: str, columns: Sequence[str], params: dict | None = None) -> pd.DataFrame:
    """Run ``sql`` (``:name`` parameters) and return its rows as a frame with ``columns`` (raw driver values)."""
    rows = conn.execute(sa.text(sql), params or {}).fetchall()
    return pd.DataFrame.from_records(rows, columns=list(columns))
