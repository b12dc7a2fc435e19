"""A JSON Lines delivery read a block at a time (``payload.DECODE_BLOCK``) and collected a chunk at a time
(``collector.CHUNK_ROWS``), its chunks passed to a sink as the raw landing does, is the delivery read whole: the
same rows, numbers, unparseable rows and warnings — over lines that are objects, bad JSON, arrays, blank, CRLF,
with keys first seen late, a cut-off end, a wrong encoding and undecodable bytes. The sunk pieces, widened as the
raw landing's writer widens them, make up the same table."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sources_testkit import DAY

from jilin_pipelines.lake import PartitionWriter
from jilin_pipelines.sources import collector, payload
from jilin_pipelines.sources.jsonl_reader import read_jsonl

COLUMNS = ["requestId", "certType", "certNo"]
VALUE = st.one_of(st.none(), st.text(alphabet="ab1 张李", max_size=4), st.integers(-5, 5))
OBJECT = st.dictionaries(st.sampled_from([*COLUMNS, "late", "extra"]), VALUE, max_size=4).map(
    lambda d: json.dumps(d, ensure_ascii=False))
LINE = st.one_of(OBJECT, OBJECT, st.just('{"requestId": "R", certType}'), st.just("[1, 2]"), st.just(""),
                 st.just("   "))


@st.composite
def deliveries(draw) -> tuple[bytes, str]:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(draw(st.lists(LINE, max_size=30))) + draw(st.sampled_from(["", newline, newline * 2]))
    data = text.encode(draw(st.sampled_from(["utf-8", "gb18030"])))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]  # cut off anywhere, inside a character too
    if draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\xff" + data[at:]
    return data, draw(st.sampled_from(["utf-8", "gb18030"]))


def _read(path: Path, declared: str, chunk_rows: int, block: int, sink=None):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(payload, "DECODE_BLOCK", block)
        mp.setattr(collector, "CHUNK_ROWS", chunk_rows)
        return read_jsonl(path, dataset="jishiban.verification_requests", day=DAY, columns=COLUMNS,
                          encoding=declared, sink=sink)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delivery=deliveries(), chunk_rows=st.integers(1, 7), block=st.integers(1, 40))
def test_a_jsonl_read_in_chunks_into_a_sink_is_the_jsonl_read_whole(tmp_path, delivery, chunk_rows, block):
    data, declared = delivery
    path = tmp_path / "verification_requests_20250601.jsonl"
    path.write_bytes(data)
    whole = _read(path, declared, 1 << 30, 1 << 30)
    chunked = _read(path, declared, chunk_rows, block)
    assert chunked.table.equals(whole.table)
    assert [str(w) for w in chunked.warnings] == [str(w) for w in whole.warnings]

    landed = tmp_path / "landed.parquet"
    with PartitionWriter(landed) as writer:
        streamed = _read(path, declared, chunk_rows, block, sink=writer)
        writer.commit()
    assert pq.read_table(landed).equals(whole.table)
    assert streamed.table.num_rows == 0 and streamed.table.column_names == whole.table.column_names
    assert (streamed.delivered_rows, streamed.unparseable_rows) == (whole.delivered_rows, whole.unparseable_rows)
    assert [str(w) for w in streamed.warnings] == [str(w) for w in whole.warnings]
    assert (streamed.sha256, streamed.size_bytes) == (whole.sha256, whole.size_bytes)


def test_a_key_first_seen_late_widens_what_was_landed(tmp_path):
    lines = [json.dumps({"requestId": f"R{i}", "certType": "x", "certNo": str(i)}) for i in range(10)]
    lines.append(json.dumps({"requestId": "R10", "late": "迟"}))
    path = tmp_path / "verification_requests_20250601.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sunk: list[pa.Table] = []
    landed = tmp_path / "landed.parquet"
    with PartitionWriter(landed) as writer:
        _read(path, "utf-8", 3, 1 << 20, sink=lambda t: (sunk.append(t), writer.write(t)))
        writer.commit()
    assert len(sunk) == 4 and "late" not in sunk[0].column_names and "late" in sunk[-1].column_names
    table = pq.read_table(landed)
    assert table.column_names == [*COLUMNS, "late", "_source_row", "_error", "_raw"]
    assert table.column("late").to_pylist() == [None] * 10 + ["迟"]
    assert table.column("_source_row").to_pylist() == list(range(1, 12))
