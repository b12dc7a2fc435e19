"""A CSV delivery read a piece at a time (``csv_reader.PIECE_BYTES`` of text, each cut at a line end; the file read a
``payload.DECODE_BLOCK`` at a time) is the delivery read whole: the same rows, the same row numbers, the same
unparseable rows with the same texts and the same warnings — whatever the piece and block sizes, over files with the
problems of SPEC §7 (bad rows, blank lines, wrong encodings, undecodable bytes, a cut-off end, trailing blank lines,
CRLF, quoted fields with delimiters, doubled quotes and line ends, stray quotes; not bare CRs, whose rows are parsed but whose texts are located by LF line ends, see ``csv_reader``). With a sink, the pieces come out in row order and make up the same table."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sources_testkit import DAY

from jilin_pipelines.sources import csv_reader, payload
from jilin_pipelines.sources.csv_reader import read_csv
from jilin_pipelines.sources.delivery import DeliveryError

HEADER = ["号牌号码", "名称", "更新时间"]
PLAIN = st.text(alphabet="ABC123 -:", max_size=6)
QUOTED = st.one_of(
    st.sampled_from(['"长春,朝阳"', '"a,b"', '"说""是"""', '""', '"两\n行"', '"三\r\n,行,"', '"x"""']),
    # quotes the parser reads as plain characters (after them, only a parse from the start finds the rows' ends)
    st.sampled_from(['a"b', '"ab"c', '"a"b"c', 'ab"', '"未闭合']),
)
CELL = st.one_of(PLAIN, PLAIN, st.text(alphabet="张王李吉长春", min_size=1, max_size=4), QUOTED)
ROW = st.one_of(
    st.lists(CELL, min_size=3, max_size=3).map(",".join),  # a good row
    st.lists(CELL, min_size=1, max_size=5).map(",".join),  # often the wrong number of fields
    st.just(""),  # a blank line
    st.just(",,"),  # all fields empty: a row
)


@st.composite
def deliveries(draw) -> tuple[bytes, str]:
    rows = draw(st.lists(ROW, max_size=40))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join([",".join(HEADER), *rows]) + newline + draw(st.sampled_from(["", "\n", "\n\n  \n"]))
    written = draw(st.sampled_from(["gbk", "utf-8", "utf-8-sig"]))
    data = text.encode(written)
    if draw(st.booleans()):  # cut off somewhere after the header (inside a character, too)
        start = len((",".join(HEADER) + newline).encode(written))
        data = data[: draw(st.integers(start, len(data)))]
    if draw(st.integers(0, 5)) == 0:  # a byte no encoding decodes, inside the body (not inside a CRLF: a bare
        at = draw(st.integers(len(data) // 2, len(data)))  # CR ends a row, but row texts are located by LF ends)
        if not data[:at].endswith(b"\r"):
            data = data[:at] + b"\xff" + data[at:]
    declared = draw(st.sampled_from(["gbk", "utf-8"]))
    return data, declared


def _read(path: Path, declared: str, piece_bytes: int, block: int, sink=None):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(payload, "DECODE_BLOCK", block)
        try:
            return read_csv(path, dataset="traffic_police.motor_vehicles", day=DAY, encoding=declared,
                            columns=HEADER, sink=sink, piece_bytes=piece_bytes)
        except DeliveryError as exc:  # a header no encoding decodes: refused, the same way in any pieces
            return str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delivery=deliveries(), piece_bytes=st.integers(1, 80), block=st.integers(1, 64))
def test_a_csv_read_in_pieces_is_the_csv_read_whole(tmp_path, delivery, piece_bytes, block):
    data, declared = delivery
    path = tmp_path / "motor_vehicles_20250601.csv"
    path.write_bytes(data)
    whole = _read(path, declared, 1 << 30, 1 << 30)
    pieces = _read(path, declared, piece_bytes, block)
    if isinstance(whole, str):
        assert pieces == whole
        return
    assert pieces.table.to_pylist() == whole.table.to_pylist()
    assert [str(w) for w in pieces.warnings] == [str(w) for w in whole.warnings]
    assert (pieces.sha256, pieces.size_bytes) == (whole.sha256, whole.size_bytes)

    sunk: list[pa.Table] = []
    streamed = _read(path, declared, piece_bytes, block, sink=sunk.append)
    rows = [r for t in sunk for r in t.to_pylist()]
    assert rows == whole.table.to_pylist()
    assert streamed.table.num_rows == 0 and streamed.table.schema == whole.table.schema
    assert (streamed.delivered_rows, streamed.unparseable_rows) == (whole.delivered_rows, whole.unparseable_rows)
    assert [str(w) for w in streamed.warnings] == [str(w) for w in whole.warnings]


def test_a_large_csv_comes_in_several_pieces_cut_at_line_ends(tmp_path):
    rows = [f"吉A{i:05d},张{i},2025-06-01 10:00:00" for i in range(5_000)]
    rows[1_234] = "吉A01234,只有两个字段"  # one bad row, far from the start
    path = tmp_path / "v.csv"
    path.write_bytes(("\n".join([",".join(HEADER), *rows]) + "\n").encode("gbk"))
    sunk: list[pa.Table] = []
    d = _read(path, "gbk", 16_384, 4_096, sink=sunk.append)
    assert len(sunk) > 5  # pieces of about 16 KiB of text
    numbers = [n for t in sunk for n in t.column("_source_row").to_pylist()]
    assert numbers == list(range(1, 5_001))
    assert d.delivered_rows == 5_000 and d.unparseable_rows == 1
    assert [str(w) for w in d.warnings] == [f"{path}, row 1235: unparseable: expected 3 fields, found 2"]
    assert csv_reader.PIECE_BYTES >= 1 << 20  # the default budget is MiBs, not KiBs


def _quoted_file(path: Path, rows: list[str]) -> None:
    path.write_bytes(("\n".join([",".join(HEADER), *rows]) + "\n").encode("gbk"))


def test_a_csv_with_quoted_fields_is_cut_at_rows_ends_outside_quotes(tmp_path):
    rows = [f'吉A{i:05d},"长春市,朝阳区{i}号",2025-06-01 10:00:00' for i in range(5_000)]
    rows[10] = '吉A00010,"一条""引号""说明,\n跨两行",2025-06-01 10:00:00'  # a doubled quote and a quoted line end
    rows[3_000] = '吉A03000,"两个字段"'
    path = tmp_path / "v.csv"
    _quoted_file(path, rows)
    sunk: list[pa.Table] = []
    d = _read(path, "gbk", 16_384, 4_096, sink=sunk.append)
    assert len(sunk) > 5  # a quoted file is cut into pieces too
    got = [r for t in sunk for r in t.to_pylist()]
    assert [r["_source_row"] for r in got] == list(range(1, 5_001))
    assert got[10]["名称"] == '一条"引号"说明,\n跨两行'
    assert got[4_999]["名称"] == "长春市,朝阳区4999号"
    assert got[3_000]["_raw"] == '吉A03000,"两个字段"'
    assert d.delivered_rows == 5_000 and d.unparseable_rows == 1


def test_after_a_stray_quote_the_rest_of_a_csv_is_one_piece(tmp_path):
    rows = [f'吉A{i:05d},"长春市,朝阳区{i}号",2025-06-01 10:00:00' for i in range(5_000)]
    rows[2_000] = '吉A02000,张"三,2025-06-01 10:00:00'  # a quote inside an unquoted field: a plain character
    path = tmp_path / "v.csv"
    _quoted_file(path, rows)
    sunk: list[pa.Table] = []
    d = _read(path, "gbk", 16_384, 4_096, sink=sunk.append)
    got = [r for t in sunk for r in t.to_pylist()]
    assert [r["_source_row"] for r in got] == list(range(1, 5_001))
    assert got[2_000]["名称"] == '张"三' and d.unparseable_rows == 0
    assert sunk[-1].num_rows > 2_900  # the rows from the stray quote on came as one piece
    assert 3 < len(sunk) < 20  # the rows before it in pieces
