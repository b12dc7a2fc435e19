"""The naive peer: what a typical first pipeline over these deliveries does, for the same files.

Per delivery: ``pandas.read_csv`` / ``read_excel`` / ``read_xml`` / ``read_json`` / ``read_sql_query`` (every value
as text, as such pipelines do to keep codes intact); every identifier checked with python-stdnum through
``Series.apply``; one Great Expectations validation (keys not null, identifiers valid); ``DataFrame.to_sql`` into a
staging table; one SQL upsert of the staging table into the dataset's target table (keyed by the dataset's key).
It repairs nothing, quarantines nothing and keeps no history: it is cheaper in what it does, and slower in how.
"""

from __future__ import annotations

import json
import sqlite3
import uuid

import pandas as pd
import sqlalchemy as sa

from jilin_tools.bench.deliveries import Source, identifier_columns, table_name

PREFIX = "bench_peer"
VALID = "ids_valid"


def _read_csv(src: Source) -> pd.DataFrame:
    encoding = src.entry.dataset.format.encoding or "utf-8"
    try:
        return pd.read_csv(src.path, encoding=encoding, dtype=str)
    except UnicodeDecodeError:  # a day delivered in another encoding: try the usual suspect
        return pd.read_csv(src.path, encoding="utf-8-sig", dtype=str)


def _read_xlsx(src: Source) -> pd.DataFrame:
    return pd.read_excel(src.path, sheet_name=src.entry.dataset.format.sheet, dtype=str)


def _read_xml(src: Source) -> pd.DataFrame:
    try:
        return pd.read_xml(src.path, xpath=f"/*/{src.entry.dataset.format.record_tag}", dtype=str)
    except ValueError:  # no records
        return pd.DataFrame(columns=src.columns)


def _read_jsonl(src: Source) -> pd.DataFrame:
    try:
        frame = pd.read_json(src.path, lines=True, dtype=False)
    except ValueError:
        return pd.DataFrame(columns=src.columns)
    return frame


def _read_frontdb(src: Source) -> pd.DataFrame:
    fmt = src.entry.dataset.format
    lo, hi = src.day_bounds()
    with sqlite3.connect(f"file:{src.db_path}?mode=ro", uri=True) as conn:
        return pd.read_sql_query(
            f'SELECT * FROM "{fmt.table}" WHERE "{fmt.day_column}" >= ? AND "{fmt.day_column}" < ?', conn, params=(lo, hi)
        )


READERS = {"csv": _read_csv, "xlsx": _read_xlsx, "xml": _read_xml, "jsonl": _read_jsonl, "api": _read_jsonl,
           "frontdb": _read_frontdb}


def _checker(standard: str, is_list: bool):
    from stdnum.cn import ric, uscc

    def one(v) -> bool:
        if not isinstance(v, str):
            return False
        try:  # python-stdnum raises on some numbers (KeyError for a division it has no county for)
            if standard == "resident_id":
                return ric.is_valid(v)
            if standard == "uscc":
                return uscc.is_valid(v)
            return ric.is_valid(v) or uscc.is_valid(v)
        except Exception:  # noqa: BLE001 - whatever it raises, the number is not valid
            return False

    if is_list:
        return lambda v: isinstance(v, list) and all(one(x) for x in v)
    return one


class _Gx:
    """One ephemeral GX context, a suite per dataset."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        self.source = self.context.data_sources.add_pandas(f"peer_{uuid.uuid4().hex[:8]}")
        self.batches: dict[str, tuple] = {}

    def validate(self, src: Source, frame: pd.DataFrame):
        gx = self.gx
        name = src.entry.id
        if name not in self.batches:
            batch_def = self.source.add_dataframe_asset(name.replace(".", "_")).add_batch_definition_whole_dataframe("all")
            expectations = [gx.expectations.ExpectColumnValuesToNotBeNull(column=c) for c in src.key_columns]
            expectations.append(gx.expectations.ExpectColumnValuesToBeInSet(column=VALID, value_set=[True]))
            suite = self.context.suites.add(gx.ExpectationSuite(name=f"peer_{name}_{uuid.uuid4().hex[:6]}",
                                                                expectations=expectations))
            self.batches[name] = (batch_def, suite)
        batch_def, suite = self.batches[name]
        return batch_def.get_batch(batch_parameters={"dataframe": frame}).validate(suite)


def _upsert_sql(dialect: str, target: str, stage: str, columns: list[str], key: list[str]) -> str:
    q = lambda c: '"' + c.replace('"', '""') + '"'  # noqa: E731
    cols = ", ".join(q(c) for c in columns)
    keys = ", ".join(q(c) for c in key)
    sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in columns if c not in key)
    if dialect == "postgresql":
        not_null = " AND ".join(f"{q(c)} IS NOT NULL" for c in key)
        return (f'INSERT INTO "{target}" ({cols}) SELECT DISTINCT ON ({keys}) {cols} FROM "{stage}" '
                f"WHERE {not_null} ORDER BY {keys} ON CONFLICT ({keys}) DO UPDATE SET {sets}")
    return f'INSERT INTO "{target}" ({cols}) SELECT {cols} FROM "{stage}" WHERE true ON CONFLICT ({keys}) DO UPDATE SET {sets}'


def run(conn_url: str, sources: list[Source]) -> tuple[dict[str, int], dict[str, int]]:
    """Read, check, validate, stage and upsert every delivery. Returns the records staged per dataset (every
    delivered record) and the rows of each target table afterwards."""
    engine = sa.create_engine(conn_url)
    dialect = engine.dialect.name
    gx = _Gx()
    loaded: dict[str, int] = {}
    targets: dict[str, str] = {}
    try:
        with engine.begin() as conn:
            for src in sources:
                for prefix in (PREFIX, PREFIX + "_stage"):
                    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table_name(prefix, src.entry)}"')
        for src in sources:
            ds = src.entry.id
            loaded.setdefault(ds, 0)
            frame = READERS[src.kind](src)
            frame = frame.reindex(columns=src.columns)
            valid = pd.Series(True, index=frame.index)
            for column, standard, is_list in identifier_columns(src.entry):
                ok = frame[column].apply(_checker(standard, is_list))
                valid &= ok | frame[column].isna()
                if is_list:
                    frame[column] = frame[column].apply(
                        lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v)
            frame = frame.astype("string")
            frame[VALID] = valid.astype(bool)
            gx.validate(src, frame)
            if frame.empty:
                continue
            stage, target = table_name(PREFIX + "_stage", src.entry), table_name(PREFIX, src.entry)
            frame.to_sql(stage, engine, if_exists="replace", index=False)
            loaded[ds] += len(frame)
            with engine.begin() as conn:
                if ds not in targets:
                    with_no_data = " WITH NO DATA" if dialect == "postgresql" else " WHERE 0"
                    select = f'SELECT * FROM "{stage}"'
                    conn.exec_driver_sql(f'CREATE TABLE "{target}" AS {select}{with_no_data}')
                    keys = ", ".join(f'"{c}"' for c in src.key_columns)
                    conn.exec_driver_sql(f'CREATE UNIQUE INDEX "{target}_key" ON "{target}" ({keys})')
                    targets[ds] = target
                conn.exec_driver_sql(_upsert_sql(dialect, target, stage, [*src.columns, VALID], src.key_columns))
        counts = {}
        with engine.connect() as conn:
            for ds, target in targets.items():
                counts[ds] = int(conn.exec_driver_sql(f'SELECT count(*) FROM "{target}"').scalar_one())
            conn.rollback()
        return loaded, counts
    finally:
        engine.dispose()
