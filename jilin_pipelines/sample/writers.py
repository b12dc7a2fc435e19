"""Writers of every delivery format, byte-for-byte deterministic (no wall clock, fixed zip entry times)."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

# Document properties and zip entry times of XLSX files are pinned to this instant.
PINNED_TIME = (2025, 1, 1, 0, 0, 0)
_PINNED_ISO = "2025-01-01T00:00:00Z"


def csv_text(frame: pd.DataFrame) -> str:
    """CSV text: header, comma, ``"`` quoting where needed, CRLF line ends, empty for null."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


def truncate_csv(text: str) -> str:
    """The text cut off in the middle of its last row (between two fields of it, or inside one)."""
    body = text[:-2] if text.endswith("\r\n") else text
    last_start = body.rfind("\r\n") + 2
    last = body[last_start:]
    cut = max(1, len(last) // 2)
    return body[: last_start + cut]


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_xlsx(path: Path, sheet: str, columns: Sequence[str], frame: pd.DataFrame) -> None:
    """An XLSX workbook (openpyxl write-only) with one sheet: header in row 1, text cells, numbers where a value
    is an int (Excel date serials), then re-zipped with pinned entry times and document timestamps."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(columns))
    for row in frame[list(columns)].itertuples(index=False, name=None):
        ws.append([None if v is None or v != v else v for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    write_bytes(path, _pin_zip(buf.getvalue()))


def _pin_zip(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = content.decode("utf-8")
                text = re.sub(r"(<dcterms:created[^>]*>)[^<]*(</dcterms:created>)", rf"\g<1>{_PINNED_ISO}\g<2>", text)
                text = re.sub(r"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)", rf"\g<1>{_PINNED_ISO}\g<2>", text)
                content = text.encode("utf-8")
            zi = zipfile.ZipInfo(info.filename, date_time=PINNED_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)
    return out.getvalue()


def _xml_escape(values: np.ndarray) -> pd.Series:
    s = pd.Series(values, dtype=object).fillna("").astype(str)
    return s.str.replace("&", "&amp;", regex=False).str.replace("<", "&lt;", regex=False).str.replace(">", "&gt;", regex=False)


def xml_text(root: str, row: str, columns: Sequence[str], frame: pd.DataFrame, attrs: dict[str, str] | None = None) -> str:
    """``<root><row><Col>value</Col>…</row>…</root>``, one row per line; empty values as ``<Col/>``."""
    attrs = attrs or {}
    n = len(frame)
    line = pd.Series(np.full(n, f"  <{row}>", dtype=object))
    for col in columns:
        vals = frame[col].to_numpy(dtype=object)
        empty = pd.isna(pd.Series(vals, dtype=object)).to_numpy() | (pd.Series(vals, dtype=object).astype(str) == "").to_numpy()
        attr = f' {attrs[col]}' if col in attrs else ""
        full = f"<{col}{attr}>" + _xml_escape(vals) + f"</{col}>"
        line = line + np.where(empty, f"<{col}{attr}/>", full)
    body = "\n".join((line + f"</{row}>").tolist())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>\n' + (body + "\n" if n else "") + f"</{root}>\n"


def jsonl_text(columns: Sequence[str], frame: pd.DataFrame, ints: Sequence[str] = ()) -> str:
    """One compact JSON object per line, keys in the spec's order; null for empty; ``ints`` as numbers."""
    cols = list(columns)
    data = {c: frame[c].to_numpy(dtype=object) for c in cols}
    for c in ints:
        data[c] = np.array([_as_int(v) for v in data[c]], dtype=object)
    lines = []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for i in range(len(frame)):
        lines.append(dumps({c: _json_value(data[c][i]) for c in cols}))
    return "".join(line + "\n" for line in lines)


def _json_value(v):
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, np.ndarray):
        return [None if x is None else str(x) for x in v.tolist()]
    if isinstance(v, list):
        return [None if x is None else str(x) for x in v]
    return v if isinstance(v, int) else str(v)


def _as_int(v):
    if isinstance(v, str) and re.fullmatch(r"-?\d+", v):
        return int(v)
    return v


class FrontEndDatabase:
    """The social-security front-end exchange database (SQLite): one file, rows appended day by day."""

    def __init__(self, path: Path, tables: dict[str, dict[str, str]]):
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.execute("BEGIN")
        for table, cols in tables.items():
            ddl = ", ".join(f'"{c}" {t}' for c, t in cols.items())
            self.conn.execute(f'CREATE TABLE "{table}" ({ddl})')
            self.conn.execute(f'CREATE INDEX "{table}_AAE036" ON "{table}" ("AAE036")')
        self.conn.execute("COMMIT")

    def append(self, table: str, columns: Sequence[str], frame: pd.DataFrame) -> None:
        cols = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        rows = [tuple(None if v is None or v != v else v for v in r) for r in frame[list(columns)].itertuples(index=False, name=None)]
        self.conn.execute("BEGIN")
        self.conn.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', rows)
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
