"""Writers of every delivery format, byte-for-byte deterministic (no wall clock, fixed zip entry times)."""

from __future__ import annotations

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
    """CSV text: header, comma separated, ``"`` quoting where a value needs it, CRLF line ends, empty for null.
    Built column-wise (pandas' ``to_csv`` costs ~10 µs a row)."""
    line = None
    for col in frame.columns:
        vals = _texts(frame[col].to_numpy(dtype=object))
        if _QUOTE_CHARS.search("".join(vals.tolist())):
            vals = np.array([_csv_quote(v) for v in vals], dtype=object)
        line = vals if line is None else line + "," + vals
    header = ",".join(_csv_quote(c) for c in frame.columns)
    body = "" if line is None or not len(line) else "\r\n".join(line.tolist()) + "\r\n"
    return header + "\r\n" + body


_QUOTE_CHARS = re.compile(r'[",\r\n]')


def _texts(vals: np.ndarray) -> np.ndarray:
    """Values as text ("" for null), object array."""
    out = np.asarray(vals, dtype=object).copy()
    out[pd.isna(out)] = ""
    return pd.Series(out, dtype=object).astype(str).to_numpy(dtype=object)


def _csv_quote(v: str) -> str:
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in '",\r\n') else v


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


_XLSX_STATIC = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" '
        'Target="docProps/core.xml"/>'
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" '
        'Target="docProps/app.xml"/>'
        "</Relationships>"
    ),
    "docProps/app.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
        "<Application>Microsoft Excel</Application></Properties>"
    ),
    "docProps/core.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{_PINNED_ISO}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{_PINNED_ISO}</dcterms:modified>'
        "</cp:coreProperties>"
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/>'
        "</Relationships>"
    ),
    "xl/styles.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}


def write_xlsx(path: Path, sheet: str, columns: Sequence[str], frame: pd.DataFrame) -> None:
    """An XLSX workbook with one sheet: header in row 1, then one row per frame row; text as inline strings,
    ``int`` values (Excel date serials) as numeric cells, empty values left out. Written as SpreadsheetML
    directly, column-wise (openpyxl's per-cell writer costs ~140 µs a row), with pinned zip entry times and
    document timestamps."""
    n = len(frame)
    rownum = np.arange(2, n + 2).astype(str).astype(object)
    cells = np.full(n, "", dtype=object)
    header = ""
    for j, col in enumerate(columns):
        letter = _col_letter(j)
        header += f'<c r="{letter}1" t="inlineStr"><is><t>{_escape_text(col)}</t></is></c>'
        vals = frame[col].to_numpy(dtype=object)
        is_int = np.fromiter((type(v) is int for v in vals), bool, n)
        text = _xml_escape(vals)
        empty = text == ""
        ref = f'<c r="{letter}' + rownum
        as_text = ref + '" t="inlineStr"><is><t xml:space="preserve">' + text + "</t></is></c>"
        as_number = ref + '"><v>' + text + "</v></c>"
        cells = cells + np.where(empty, "", np.where(is_int, as_number, as_text))
    rows = '<row r="' + rownum + '">' + cells + "</row>"
    last = _col_letter(len(columns) - 1)
    sheet_xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:{last}{n + 1}"/><sheetData><row r="1">{header}</row>' + "".join(rows.tolist()) + "</sheetData></worksheet>"
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{_escape_text(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    parts = {**_XLSX_STATIC, "xl/workbook.xml": workbook, "xl/worksheets/sheet1.xml": sheet_xml}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name in ("[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml", "xl/workbook.xml",
                     "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml"):
            info = zipfile.ZipInfo(name, date_time=PINNED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            z.writestr(info, parts[name].encode("utf-8"))
    write_bytes(path, buf.getvalue())


def _col_letter(j: int) -> str:
    out = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        out = chr(65 + r) + out
    return out


def _escape_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_escape(values: np.ndarray) -> np.ndarray:
    """Values as XML text ("" for null), object array."""
    text = _texts(values)
    if _XML_SPECIAL.search("".join(text.tolist())):
        text = np.array([_escape_text(v) for v in text], dtype=object)
    return text


_XML_SPECIAL = re.compile(r"[&<>]")


def xml_text(root: str, row: str, columns: Sequence[str], frame: pd.DataFrame, attrs: dict[str, str] | None = None) -> str:
    """``<root><row><Col>value</Col>…</row>…</root>``, one row per line; empty values as ``<Col/>``."""
    attrs = attrs or {}
    n = len(frame)
    line = np.full(n, f"  <{row}>", dtype=object)
    for col in columns:
        text = _xml_escape(frame[col].to_numpy(dtype=object))
        attr = f" {attrs[col]}" if col in attrs else ""
        line = line + np.where(text == "", f"<{col}{attr}/>", f"<{col}{attr}>" + text + f"</{col}>")
    body = "\n".join((line + f"</{row}>").tolist())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>\n' + (body + "\n" if n else "") + f"</{root}>\n"


def jsonl_text(columns: Sequence[str], frame: pd.DataFrame, ints: Sequence[str] = ()) -> str:
    """One compact JSON object per line, keys in the spec's order; null for empty; integers of ``ints``
    columns as numbers. Built column-wise."""
    n = len(frame)
    if not n:
        return ""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    line = np.full(n, "{", dtype=object)
    for j, col in enumerate(columns):
        vals = frame[col].to_numpy(dtype=object)
        if isinstance(vals[0], (list, np.ndarray)):  # a list column (householdIdNumbers)
            tokens = np.array([dumps(_json_value(v)) for v in vals], dtype=object)
        else:
            tokens = _json_tokens(vals, as_int=col in ints, dumps=dumps)
        line = line + (("," if j else "") + dumps(col) + ":") + tokens
    return "".join((line + "}\n").tolist())


_JSON_SPECIAL = re.compile(r'["\\\x00-\x1f]')


def _json_tokens(vals: np.ndarray, as_int: bool, dumps) -> np.ndarray:
    """JSON tokens of text values: strings quoted (escaped by json where they need it), integers of ``as_int``
    columns as numbers, null."""
    null = pd.isna(vals)
    text = _texts(vals)
    out = '"' + text + '"'
    if _JSON_SPECIAL.search("".join(text.tolist())):
        special = np.fromiter((_JSON_SPECIAL.search(v) is not None for v in text), bool, len(text))
        out[special] = [dumps(v) for v in text[special]]
    if as_int:
        numbers = pd.Series(text, dtype=object).str.fullmatch(r"-?\d+").to_numpy(dtype=bool)
        out[numbers] = text[numbers]
    out[null] = "null"
    return out


def _json_value(v):
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, np.ndarray):
        return [None if x is None else str(x) for x in v.tolist()]
    if isinstance(v, list):
        return [None if x is None else str(x) for x in v]
    return str(v)


class FrontEndDatabase:
    """The social-security front-end exchange database (SQLite): one file, rows appended day by day, an index
    on the handling time ``AAE036`` of each table (built at the end)."""

    def __init__(self, path: Path, tables: dict[str, dict[str, str]]):
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        self.tables = tables
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=OFF")  # a fresh file written once: no rollback needed
        self.conn.execute("PRAGMA synchronous=OFF")
        for table, cols in tables.items():
            ddl = ", ".join(f'"{c}" {t}' for c, t in cols.items())
            self.conn.execute(f'CREATE TABLE "{table}" ({ddl})')

    def append(self, table: str, columns: Sequence[str], frame: pd.DataFrame) -> None:
        cols = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        arrays = []
        for c in columns:
            vals = frame[c].to_numpy(dtype=object).copy()
            vals[pd.isna(vals)] = None
            arrays.append(vals)
        self.conn.execute("BEGIN")
        self.conn.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', zip(*arrays, strict=True))
        self.conn.execute("COMMIT")

    def close(self, index: bool = True) -> None:
        if index:
            for table in self.tables:
                self.conn.execute(f'CREATE INDEX "{table}_AAE036" ON "{table}" ("AAE036")')
        self.conn.close()
