"""The social-security department's front-end exchange database (前置库), pulled with SQL.

One parameterised query per (table, day), through SQLAlchemy 2.x Core, on SQLite or PostgreSQL::

    SELECT <columns> FROM <table>
    WHERE <day_column> >= :start AND <day_column> < :end
    ORDER BY <key columns>, <the other columns> (ascending, NULLs first)

* Table and column names come from our catalogue, are matched case-insensitively against the
  database's own (reflected) names and are quoted by SQLAlchemy; nothing delivered is ever spliced
  into SQL. A missing table or column is a :class:`DeliveryError`.
* The day's bounds are the Asia/Shanghai calendar day, bound by the column's type: a text column
  (``'YYYY-MM-DD HH:MM:SS'``, also ``'YYYY-MM-DD'`` or with a ``T``) is compared as text with the
  bounds ``'YYYY-MM-DD'`` of the day and the next day (in the ``C`` collation on PostgreSQL, so the
  comparison is bytewise); a ``timestamp`` with the naive local bounds; a ``timestamptz`` with the
  bounds in Asia/Shanghai; a ``date`` with the two dates. A text column is also matched against the day's other
  layouts the department's clerks and older systems write (``2025/06/02``, ``2025/6/2``, ``2025-6-2``,
  ``20250602`` — an integer too —, ``2025.06.02``, ``2025年6月2日``; alone or followed by a space or ``T`` and a
  time): such rows are selected for their day, with a warning that counts them. Rows no day selects (a null or an
  unreadable handling time) are counted by :func:`count_unselectable`, which ``jilin-pipelines run`` reports.
* The order defines ``_source_row`` (the 1-based position in it): key columns first, then every
  other selected column as a tie-break, so that the order is total up to identical rows and the
  same on both databases (text in the ``C`` collation, NULLs first).
* Values are rendered as text: integers without ``.0``; other numbers as the shortest text that
  reads back to the same value, trailing zeros dropped (``3500.50`` -> ``3500.5``, on SQLite's REAL
  and PostgreSQL's NUMERIC alike); timestamps ``YYYY-MM-DD HH:MM:SS`` (zone-aware ones in
  Asia/Shanghai); dates ``YYYY-MM-DD``; booleans ``true``/``false``; bytes as UTF-8 text (or hex).
* ``location`` is ``<table>@<URL with the password masked>``; no rows for the day is no delivery
  (``location`` None, a warning).
* ``sha256`` / ``size_bytes`` are those of the delivery's **canonical text**: UTF-8, one line per row
  in ``_source_row`` order preceded by a line of the column names, each line the values joined by
  U+001F and ended by ``\\n``; within a value ``\\`` is written ``\\\\``, U+001F ``\\x1f``, a line
  end ``\\n`` / ``\\r``, and a null is ``\\N``. Equal values in equal order give equal digests on any
  database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from jilin_pipelines.sources.delivery import Delivery, DeliveryError, Sink, SourceUnavailable, empty_table
from jilin_pipelines.sources.delivery_warnings import Warnings
from jilin_pipelines.sources.reader import no_delivery
from jilin_pipelines.sources.tables import assemble
from jilin_pipelines.sources.values import plain_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHUNK_ROWS = 20_000
"""The reader's chunk budget: database rows are fetched and rendered as text this many at a time."""
_SEP = "\x1f"


def masked_url(url: str | sa.URL) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def _engine(url: str | sa.URL | sa.Engine) -> tuple[sa.Engine, bool]:
    if isinstance(url, sa.Engine):
        return url, False
    u = sa.make_url(url)
    if u.get_backend_name() == "sqlite":
        database = u.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            if not Path(database).is_file():
                raise SourceUnavailable(f"{masked_url(u)}: the database file does not exist")
    return sa.create_engine(u), True


_NOT_UTF8 = re.compile(r"Could not decode to UTF-8 column '([^']*)'")


def _first_line(exc: Exception) -> str:
    """The driver's message of a database error, first line only (no SQL, no parameters)."""
    first = str(getattr(exc, "orig", exc)).strip().splitlines()
    return first[0] if first else ""


def _match(names: Sequence[str], wanted: str) -> str | None:
    if wanted in names:
        return wanted
    folded = [n for n in names if n.lower() == wanted.lower()]
    return folded[0] if len(folded) == 1 else None


def _day_bounds(col_type: sa.types.TypeEngine, day: date, dialect: str):
    """``(start, end, kind)`` bound to the column's type (SQLite keeps times as text whatever the type)."""
    nxt = day + timedelta(days=1)
    if dialect == "sqlite":
        return day.isoformat(), nxt.isoformat(), "text"
    if isinstance(col_type, sa.DateTime):
        start, end = datetime.combine(day, time(0)), datetime.combine(nxt, time(0))
        if getattr(col_type, "timezone", False):
            return start.replace(tzinfo=SHANGHAI), end.replace(tzinfo=SHANGHAI), "timestamptz"
        return start, end, "timestamp"
    if isinstance(col_type, sa.Date):
        return day, nxt, "date"
    return day.isoformat(), nxt.isoformat(), "text"


def _is_text(col_type: sa.types.TypeEngine) -> bool:
    return isinstance(col_type, (sa.String, sa.Text)) or isinstance(col_type, sa.types.NullType)


def _select(conn, table: str, schema: str | None, day_column: str, key_columns: Sequence[str],
            columns: Sequence[str] | None, location: str):
    inspector = sa.inspect(conn)
    try:
        tables = inspector.get_table_names(schema=schema)
    except sa.exc.SQLAlchemyError as exc:
        raise SourceUnavailable(f"{location}: cannot list the tables ({type(exc).__name__}: {_first_line(exc)})") from exc
    actual_table = _match(tables, table)
    if actual_table is None:
        raise DeliveryError(f"{location}: no table {table!r} in the database")
    reflected = inspector.get_columns(actual_table, schema=schema)
    names = [c["name"] for c in reflected]
    types = {c["name"]: c["type"] for c in reflected}
    wanted = list(columns) if columns is not None else names
    mapping = {}
    missing = []
    for c in [*wanted, day_column, *key_columns]:
        m = _match(names, c)
        if m is None:
            missing.append(c)
        mapping[c] = m
    if missing:
        raise DeliveryError(f"{location}: the table lacks the columns {sorted(set(missing))} (it has {names})")
    tbl = sa.table(actual_table, *[sa.column(n) for n in names], schema=schema)
    dialect = conn.dialect.name

    def textual(expr, name):
        if dialect == "postgresql" and _is_text(types[name]):
            return sa.collate(expr, "C")
        return expr

    day_col = tbl.c[mapping[day_column]]
    order_names = list(dict.fromkeys([*key_columns, *wanted]))
    order_by = [textual(tbl.c[mapping[c]], mapping[c]).asc().nulls_first() for c in order_names]
    return tbl, mapping, wanted, types, day_col, order_by


def read_frontdb(url: str | sa.URL | sa.Engine, *, dataset: str, day: date, table: str, day_column: str = "AAE036",
                 key_columns: Sequence[str], columns: Sequence[str] | None, schema: str | None = None,
                 sink: Sink | None = None) -> Delivery:
    """The rows of ``table`` handled on ``day`` (see the module docstring for query, order and text), rendered
    and digested :data:`CHUNK_ROWS` at a time: with a ``sink``, each chunk goes to it as it is read and the
    delivery's ``table`` is left empty (its counts say what was read)."""
    engine, owned = _engine(url)
    location = f"{table}@{masked_url(engine.url)}"
    try:
        with _database_errors(location), engine.connect() as conn:
            query = _day_query(conn, table, schema, day_column, key_columns, columns, day, location)
            elsewhere = 0 if query.other_layouts is None else int(conn.execute(query.other_layouts).scalar_one())
            # streamed (a server-side cursor on PostgreSQL) and rendered CHUNK_ROWS rows at a time
            result = conn.execution_options(stream_results=True).execute(query.select, query.params)
            digest, pieces, n = _render(result, query.wanted, sink)
    finally:
        if owned:
            engine.dispose()

    if not n:
        return no_delivery(dataset, day, query.wanted, location, f"no rows with {day_column} on {day.isoformat()}")
    warn = Warnings(location)
    if elsewhere:
        warn.file(f"{elsewhere} rows write {day_column} in another layout than YYYY-MM-DD (e.g. 2025/06/02, "
                  f"20250602): selected for {day.isoformat()} all the same")
    delivery = Delivery(dataset=dataset, day=day, table=empty_table(query.wanted), location=location,
                        sha256=digest.hexdigest(), size_bytes=digest.size, warnings=warn.done())
    if sink is None:
        delivery.table = pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0]
    else:
        delivery.streamed = (n, 0)
    return delivery


@contextmanager
def _database_errors(location: str) -> Iterator[None]:
    """Database errors as the reader's: the source unavailable (locked, gone away) or the delivery unreadable (a text
    value that is no UTF-8, any other database error), named after ``location`` and the driver's first line."""
    try:
        yield
    except sa.exc.OperationalError as exc:  # locked, gone away: the source, not the delivery
        if _NOT_UTF8.search(str(exc.orig)):  # SQLite's word for a TEXT value that is no UTF-8 (value not quoted)
            raise DeliveryError(f"{location}: a text value is not UTF-8 (column "
                                f"{_NOT_UTF8.search(str(exc.orig))[1]}); the database is damaged or was written "
                                f"in another encoding") from exc
        raise SourceUnavailable(f"{location}: {type(exc).__name__}: {_first_line(exc)}") from exc
    except sa.exc.SQLAlchemyError as exc:
        raise DeliveryError(f"{location}: {type(exc).__name__}: {_first_line(exc)}") from exc
    except UnicodeDecodeError as exc:  # a TEXT value whose bytes are no UTF-8 (a damaged database file)
        raise DeliveryError(f"{location}: a text value is not UTF-8 ({exc.reason}); the database is damaged "
                            f"or was written in another encoding") from exc


@dataclass
class _DayQuery:
    """The query of one day's rows: ``select`` with its bounds ``params``, the columns it selects in order
    (``wanted``), and the count of the rows it selects for their day written in another layout than ``YYYY-MM-DD``
    (``other_layouts``; None for a day column that is no text)."""

    select: sa.Select
    params: dict[str, object]
    wanted: list[str]
    other_layouts: sa.Select | None


def _day_query(conn, table: str, schema: str | None, day_column: str, key_columns: Sequence[str],
               columns: Sequence[str] | None, day: date, location: str) -> _DayQuery:
    """The query of the rows of ``table`` handled on ``day``, in the order that defines ``_source_row``."""
    tbl, mapping, wanted, types, day_col, order_by = _select(
        conn, table, schema, day_column, key_columns, columns, location
    )
    start, end, kind = _day_bounds(types[day_col.name], day, conn.dialect.name)
    if kind == "text" and conn.dialect.name == "postgresql":
        day_expr = sa.collate(day_col, "C")
    else:
        day_expr = day_col
    in_day = sa.and_(day_expr >= sa.bindparam("start"), day_expr < sa.bindparam("end"))
    other = _other_layouts(day_col, day) if kind == "text" else None
    stmt = (
        sa.select(*[tbl.c[mapping[c]].label(f"c{i}") for i, c in enumerate(wanted)])
        .where(in_day if other is None else sa.or_(in_day, other))
        .order_by(*order_by)
    )
    count = sa.select(sa.func.count()).select_from(tbl).where(other) if other is not None else None
    return _DayQuery(stmt, {"start": start, "end": end}, wanted, count)


def _render(result, wanted: list[str], sink: Sink | None) -> tuple[CanonicalDigest, list[pa.Table], int]:
    """The rows of ``result`` rendered as text and digested :data:`CHUNK_ROWS` at a time, each chunk passed to
    ``sink`` (or, without one, kept: the pieces returned); with the digest and how many rows there were."""
    digest = CanonicalDigest(wanted)
    pieces: list[pa.Table] = []
    n = 0
    while rows := result.fetchmany(CHUNK_ROWS):
        values = {c: render_column(col) for c, col in zip(wanted, zip(*rows), strict=True)}
        piece = assemble(wanted, values, np.arange(n + 1, n + len(rows) + 1, dtype=np.int64))
        n += len(rows)
        digest.add(piece)
        if sink is None:
            pieces.append(piece)
        else:
            sink(piece)
    return digest, pieces, n


_LAYOUT = re.compile(r"^(\d{4})(?:[/.-](\d{1,2})[/.-](\d{1,2})|(\d{2})(\d{2})|年(\d{1,2})月(\d{1,2})日)(?:[ T].*)?$")


def _a_day(value) -> bool:
    """Whether a handling time's text is a real day in one of the layouts ``read_frontdb`` selects."""
    m = _LAYOUT.match(str(value)) if value is not None else None
    if m is None:
        return False
    month, dd = next((m[i], m[i + 1]) for i in (2, 4, 6) if m[i] is not None)
    try:
        date(int(m[1]), int(month), int(dd))
    except ValueError:
        return False
    return True


def day_layouts(day: date) -> list[str]:
    """The day written in the layouts other than ``YYYY-MM-DD`` that a handling time is found in."""
    y, m, d = day.year, day.month, day.day
    forms = [f"{y}/{m:02d}/{d:02d}", f"{y}/{m}/{d}", f"{y}-{m}-{d}", f"{y}{m:02d}{d:02d}", f"{y}.{m:02d}.{d:02d}",
             f"{y}年{m}月{d}日", f"{y}年{m:02d}月{d:02d}日"]
    return [f for f in dict.fromkeys(forms) if f != day.isoformat()]


def _other_layouts(column, day: date):
    """The condition: the text of ``column`` is the day in another layout, alone or followed by a time."""
    text = sa.cast(column, sa.String)
    forms = day_layouts(day)
    return sa.or_(text.in_(forms), *[text.like(f + sep + "%") for f in forms for sep in (" ", "T")])


def count_unselectable(url: str | sa.URL | sa.Engine, *, table: str, day_column: str = "AAE036",
                       schema: str | None = None) -> int:
    """How many rows no day selects: a null ``day_column``, or text that is no day in any layout
    ``read_frontdb`` knows (``day_layouts``).

    A full scan: the rows written ``YYYY-MM-DD…`` are grouped by that day (a day that does not exist, such as
    ``2025-13-45``, counts), the others by their distinct values, classified here; meant for a check once per run,
    not for every daily read.
    """
    engine, owned = _engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            actual = _match(inspector.get_table_names(schema=schema), table)
            if actual is None:
                raise DeliveryError(f"{table}@{masked_url(engine.url)}: no table {table!r}")
            names = [c["name"] for c in inspector.get_columns(actual, schema=schema)]
            col_name = _match(names, day_column)
            if col_name is None:
                raise DeliveryError(f"{table}@{masked_url(engine.url)}: no column {day_column!r}")
            col = sa.column(col_name)
            tbl = sa.table(actual, col, schema=schema)
            text = sa.cast(col, sa.String)
            if conn.dialect.name == "sqlite":
                iso = sa.and_(sa.func.typeof(col) == "text", text.op("GLOB")("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*"))
            else:
                iso = text.op("~")(r"^\d{4}-\d{2}-\d{2}")
            # rows written YYYY-MM-DD…: is their day a real one (2025-13-45 is not)? one value per distinct day
            days = sa.select(sa.func.substr(text, 1, 10), sa.func.count()).select_from(tbl).where(iso) \
                .group_by(sa.func.substr(text, 1, 10))
            unreal = sum(int(n) for value, n in conn.execute(days) if not _a_day(value))
            # the others, by their distinct values as stored (a BLOB is no text to cast)
            others = sa.select(col, sa.func.count()).select_from(tbl).where(sa.or_(col.is_(None), sa.not_(iso))) \
                .group_by(col)
            return unreal + sum(int(n) for value, n in conn.execute(others) if not _a_day(value))
    except UnicodeDecodeError as exc:
        raise DeliveryError(f"{table}@{masked_url(engine.url)}: a text value is not UTF-8 ({exc.reason})") from exc
    finally:
        if owned:
            engine.dispose()


# --------------------------------------------------------------------------------------------------
# rendering


def _number_text(value) -> str:
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value():
            return str(int(value))
        return format(value.normalize(), "f")
    return str(value)


def value_text(value) -> str | None:
    """One database value as text (see the module docstring)."""
    if isinstance(value, (float, Decimal)):
        return _number_text(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(SHANGHAI).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.hex()
    return plain_text(value, true="true", false="false")


def render_column(values: Sequence) -> pa.Array:
    """A column of database values as a string array; vectorised for plain text, int and float columns."""
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        arr = None
    if arr is not None:
        t = arr.type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
            return arr.cast(pa.string())
        if pa.types.is_integer(t):
            return arr.cast(pa.string())
        if pa.types.is_floating(t):
            whole = pc.and_(
                pc.is_finite(arr), pc.and_(pc.equal(pc.floor(arr), arr), pc.less(pc.abs(arr), 2.0**53))
            )
            if pc.all(whole).as_py() is not False:  # every non-null value is a whole number
                return pc.cast(pc.cast(arr, pa.int64()), pa.string())
    return pa.array([value_text(v) for v in values], pa.string())


def _escape(col: pa.Array) -> pa.Array:
    col = pc.replace_substring(col, "\\", "\\\\")
    col = pc.replace_substring(col, _SEP, "\\x1f")
    col = pc.replace_substring(col, "\n", "\\n")
    col = pc.replace_substring(col, "\r", "\\r")
    return pc.fill_null(col, "\\N")


class CanonicalDigest:
    """SHA-256 and byte size of the canonical text (see the module docstring) of ``columns`` of the tables
    :meth:`add`-ed, in order: the header line, then a line per row."""

    def __init__(self, columns: Sequence[str]):
        self.columns = list(columns)
        self._digest = hashlib.sha256()
        header = (_SEP.join(_escape(pa.array(self.columns, pa.string())).to_pylist()) + "\n").encode("utf-8")
        self._digest.update(header)
        self.size = len(header)

    def add(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        cols = [_escape(table.column(c).combine_chunks()) for c in self.columns]
        lines = pc.binary_join_element_wise(*cols, _SEP) if len(cols) > 1 else cols[0]
        lines = pc.binary_join_element_wise(lines, pa.scalar("", pa.string()), "\n")
        if isinstance(lines, pa.ChunkedArray):
            lines = lines.combine_chunks()
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
        chunk = memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]
        self._digest.update(chunk)
        self.size += len(chunk)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
