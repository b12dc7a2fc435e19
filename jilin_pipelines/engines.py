"""Where the set-based core runs: SQL defined once — the survivorship query (``base/survivorship.py``) and the
scenarios' rules (``core_sql`` in ``scenarios/``, through ``BaseView.query``) — and two engines.

- ``embedded`` (the default): DuckDB in the process — vectorised, over Arrow tables, nothing to start.
- ``spark``: Apache Spark (``JILIN_ENGINE=spark``, ``JILIN_SPARK_MASTER``: ``local[2]``, ``spark://…``, ``k8s://…``
  or a Spark Connect ``sc://…`` URL). The same query text, transpiled from the embedded dialect to Spark SQL by
  SQLGlot — no second implementation to keep in step. Installed with ``uv sync --extra spark`` (PySpark, SQLGlot)
  and a Java 17 runtime; the embedded default needs neither.

An engine answers one question: ``query(sql, tables)`` — the SQL over the named Arrow tables, as an Arrow table
(``queries``: several over the same tables, sent once).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import cache
from typing import Protocol

import pyarrow as pa

ENGINES = ("embedded", "spark")
DIALECT = "duckdb"
"""The dialect the definitions are written in (plain SQL; DuckDB's parser is the reference)."""


class Engine(Protocol):
    name: str

    def queries(self, sqls: Mapping[str, str], tables: Mapping[str, pa.Table]) -> dict[str, pa.Table]: ...

    def query(self, sql: str, tables: Mapping[str, pa.Table]) -> pa.Table: ...



class Embedded:
    """DuckDB in the process: one connection per thread (a connection is not shared between threads), two threads
    of work; each query's tables registered for it alone."""

    name = "embedded"

    def __init__(self) -> None:
        self._local = threading.local()

    def _connection(self):
        con = getattr(self._local, "con", None)
        if con is None:
            import duckdb

            con = self._local.con = duckdb.connect()
            con.execute("SET threads TO 2")
        return con

    def queries(self, sqls: Mapping[str, str], tables: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        con = self._connection()
        for name, table in tables.items():
            con.register(name, table)
        try:
            return {key: con.sql(sql).to_arrow_table() for key, sql in sqls.items()}
        finally:
            for name in tables:
                con.unregister(name)

    def query(self, sql: str, tables: Mapping[str, pa.Table]) -> pa.Table:
        return self.queries({"": sql}, tables)[""]


class Spark:
    """A Spark session on ``master`` (created once per process); the query transpiled to Spark SQL."""

    name = "spark"

    def __init__(self, master: str = "local[2]", session=None):
        self.master = master
        self._given = session  # a session made elsewhere (dagster-pyspark's resource), or None: our own

    def session(self):
        return self._given if self._given is not None else _session(self.master)

    def queries(self, sqls: Mapping[str, str], tables: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        spark = self.session()
        for name, table in tables.items():
            spark.createDataFrame(table).createOrReplaceTempView(name)
        try:
            return {key: spark.sql(spark_sql(sql)).toArrow() for key, sql in sqls.items()}
        finally:
            for name in tables:
                spark.catalog.dropTempView(name)

    def query(self, sql: str, tables: Mapping[str, pa.Table]) -> pa.Table:
        return self.queries({"": sql}, tables)[""]


@cache
def spark_sql(sql: str) -> str:
    """``sql`` (the embedded dialect) as Spark SQL."""
    try:
        import sqlglot
    except ImportError as e:  # pragma: no cover - the extra not installed
        raise RuntimeError("JILIN_ENGINE=spark needs the spark extra: uv sync --extra spark") from e
    return sqlglot.transpile(sql, read=DIALECT, write="spark")[0]


@cache
def _session(master: str):
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:  # pragma: no cover - the extra not installed
        raise RuntimeError("JILIN_ENGINE=spark needs the spark extra (uv sync --extra spark) and Java 17") from e
    builder = SparkSession.builder
    for key, value in spark_config(master).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def spark_config(master: str) -> dict[str, str]:
    """The Spark session's configuration: the master (``spark.remote`` for a Spark Connect ``sc://`` URL), no UI,
    UTC, few shuffle partitions (a merge bucket is thousands of keys, not billions), Arrow transfers."""
    return {("spark.remote" if master.startswith("sc://") else "spark.master"): master,
            "spark.app.name": "jilin_pipelines",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": "8",
            "spark.sql.execution.arrow.pyspark.enabled": "true"}


EMBEDDED = Embedded()
