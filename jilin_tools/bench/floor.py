"""The copy-only floor: read every delivery with the fastest reader there is for its format (pyarrow for CSV and
JSON Lines; lxml for XML, openpyxl's read-only mode for XLSX and the SQLite driver for the front-end database,
which pyarrow cannot read) and bulk-load it unchanged, every column as text, into one table per dataset — the
least any pipeline over these files must spend.

SQLite: one transaction for everything, ``executemany`` over tuples. PostgreSQL: ``COPY ... FROM STDIN`` of a
CSV written by Arrow. A row pyarrow cannot parse (a truncated last row) is loaded too, its text in ``_raw``: every
delivered record is loaded, as by the other two paths.
"""

from __future__ import annotations

import io
import json
import sqlite3

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import sqlalchemy as sa

from jilin_tools.bench.deliveries import Source, table_name

PREFIX = "bench_floor"
RAW = "_raw"
FALLBACK_ENCODINGS = ("utf-8-sig", "gb18030")


def _decode(data: bytes, encoding: str) -> bytes:
    """The file as UTF-8: its declared encoding, else the first candidate that decodes it (a wrong-encoding day)."""
    for enc in (encoding, *FALLBACK_ENCODINGS):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        return text.encode("utf-8")
    return data.decode(encoding, errors="replace").encode("utf-8")


def read_csv(src: Source) -> pa.Table:
    data = _decode(src.path.read_bytes(), src.entry.dataset.format.encoding or "utf-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    header_end = data.find(b"\n")
    header = data[: header_end if header_end >= 0 else len(data)].decode().strip("\r").split(",")
    bad: list[str] = []

    def invalid(row) -> str:
        bad.append(row.text)
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(use_threads=True),
        parse_options=pacsv.ParseOptions(invalid_row_handler=invalid),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header}, strings_can_be_null=False),
    )
    return _with_raw(table, bad)


def _with_raw(table: pa.Table, bad: list[str]) -> pa.Table:
    table = table.append_column(RAW, pa.nulls(table.num_rows, pa.string()))
    if bad:
        extra = pa.table({c: pa.nulls(len(bad), f.type) for c, f in zip(table.column_names, table.schema, strict=True)
                          if c != RAW} | {RAW: pa.array(bad, pa.string())})
        table = pa.concat_tables([table, extra.select(table.column_names)])
    return table


def read_jsonl(src: Source) -> pa.Table:
    table = pajson.read_json(src.path)
    for i, field in enumerate(table.schema):
        if pa.types.is_list(field.type) or pa.types.is_struct(field.type):  # kept as JSON text, unchanged
            texts = [None if v is None else json.dumps(v, ensure_ascii=False, separators=(",", ":"))
                     for v in table.column(i).to_pylist()]
            table = table.set_column(i, field.name, pa.array(texts, pa.string()))
    return table


def read_xml(src: Source) -> pa.Table:
    from lxml import etree

    root = etree.parse(str(src.path)).getroot()
    tag = src.entry.dataset.format.record_tag
    columns: dict[str, list] = {c: [] for c in src.columns}
    n = 0
    for record in root.iterchildren(tag):
        values = {child.tag: child.text for child in record}
        for c, out in columns.items():
            out.append(values.get(c))
        n += 1
    return pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()}) if n else pa.table(
        {c: pa.array([], pa.string()) for c in columns})


def read_xlsx(src: Source) -> pa.Table:
    import openpyxl

    wb = openpyxl.load_workbook(src.path, read_only=True, data_only=True)
    try:
        rows = wb[src.entry.dataset.format.sheet].iter_rows(values_only=True)
        header = [str(h) for h in next(rows, ())]
        data = [r for r in rows if any(v is not None for v in r)]
    finally:
        wb.close()
    columns = list(zip(*data, strict=True)) if data else [()] * len(header)
    return pa.table({h: pa.array([None if v is None else str(v) for v in col], pa.string())
                     for h, col in zip(header, columns, strict=True)})


def read_frontdb(src: Source) -> pa.Table:
    fmt = src.entry.dataset.format
    lo, hi = src.day_bounds()
    with sqlite3.connect(f"file:{src.db_path}?mode=ro", uri=True) as conn:
        cur = conn.execute(f'SELECT * FROM "{fmt.table}" WHERE "{fmt.day_column}" >= ? AND "{fmt.day_column}" < ?',
                           (lo, hi))
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pa.table({n: _column(c) for n, c in zip(names, columns, strict=True)})


def _column(values: tuple) -> pa.Array:
    """A database column as Arrow: its own type when it has one, else text (SQLite lets a column mix types)."""
    if not values:
        return pa.array([], pa.string())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


READERS = {"csv": read_csv, "jsonl": read_jsonl, "api": read_jsonl, "xml": read_xml, "xlsx": read_xlsx,
           "frontdb": read_frontdb}


def read(src: Source) -> pa.Table:
    """The delivery as an Arrow table with the dataset's source columns (missing ones null) and ``_raw``."""
    table = READERS[src.kind](src)
    columns = [*src.columns, RAW]
    arrays = [table.column(c) if c in table.column_names else pa.nulls(table.num_rows, pa.string()) for c in columns]
    return pa.table(arrays, names=columns)


def _sqlite_rows(table: pa.Table):
    return zip(*(col.to_pylist() for col in table.columns), strict=True)


def run(conn_url: str, sources: list[Source]) -> dict[str, int]:
    """Read and load every delivery; returns the records loaded per dataset."""
    url = sa.make_url(conn_url)
    tables = {src.entry.id: table_name(PREFIX, src.entry) for src in sources}
    columns = {src.entry.id: [*src.columns, RAW] for src in sources}
    loaded = dict.fromkeys(tables, 0)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, isolation_level=None)
        try:
            conn.execute("BEGIN")
            for ds, name in tables.items():
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')
                conn.execute(f'CREATE TABLE "{name}" ({", ".join(f"{_q(c)} TEXT" for c in columns[ds])})')
            for src in sources:
                table = read(src)
                cols = columns[src.entry.id]
                conn.executemany(f'INSERT INTO "{tables[src.entry.id]}" VALUES ({", ".join("?" * len(cols))})',
                                 _sqlite_rows(table))
                loaded[src.entry.id] += table.num_rows
            conn.execute("COMMIT")
        finally:
            conn.close()
        return loaded
    engine = sa.create_engine(url)
    try:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for ds, name in tables.items():
                cur.execute(f'DROP TABLE IF EXISTS "{name}"')
                cur.execute(f'CREATE TABLE "{name}" ({", ".join(f"{_q(c)} TEXT" for c in columns[ds])})')
            for src in sources:
                table = read(src)
                if table.num_rows:
                    buf = io.BytesIO()
                    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
                    buf.seek(0)
                    cur.copy_expert(f'COPY "{tables[src.entry.id]}" FROM STDIN WITH (FORMAT csv)', buf)
                loaded[src.entry.id] += table.num_rows
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()
    return loaded


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
