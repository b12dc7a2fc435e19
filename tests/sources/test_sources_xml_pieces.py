"""An XML delivery decoded and fed to expat a block at a time (``payload.DECODE_BLOCK``), its records collected a
chunk at a time (``collector.CHUNK_ROWS``) and passed to a sink as the raw landing does, is the delivery read
whole: the same rows, numbers, unparseable records with their raw text, and warnings — over records with
attributes, a repeated child, elements nested deeper, a stray ``&`` (not well-formed), a cut-off end, another
encoding and undecodable bytes. And a ``<!DOCTYPE`` is refused wherever it sits, also across two blocks."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sources_testkit import DAY

from jilin_pipelines.lake import PartitionWriter
from jilin_pipelines.sources import collector, payload
from jilin_pipelines.sources.delivery import DeliveryError
from jilin_pipelines.sources.xml_reader import read_xml

COLUMNS = ["PermitNo", "Builder", "Area"]
TEXT = st.text(alphabet="ab1 张李<&", max_size=4).map(lambda t: t.replace("<", "&lt;").replace("&", "&amp;")
                                                     .replace("&amp;lt;", "&lt;"))
CHILD = st.tuples(st.sampled_from([*COLUMNS, "Extra"]), TEXT, st.booleans()).map(
    lambda c: f'<{c[0]} unit="万">{c[1]}</{c[0]}>' if c[2] else f"<{c[0]}>{c[1]}</{c[0]}>")
RECORD = st.one_of(
    st.lists(CHILD, max_size=4).map(lambda cs: "<Permit>" + "".join(cs) + "</Permit>"),
    st.just("<Permit><PermitNo>P<b>x</b></PermitNo></Permit>"),  # nested deeper: flattened
    st.just("<Note>outside</Note>"),
    st.just("<Permit><PermitNo>a & b</PermitNo></Permit>"),  # a stray &: not well-formed from here on
)


@st.composite
def deliveries(draw) -> bytes:
    encoding = draw(st.sampled_from(["UTF-8", "GB18030"]))
    body = "\n".join(draw(st.lists(RECORD, max_size=25)))
    doc = f'<?xml version="1.0" encoding="{encoding}"?>\n<Permits>\n{body}\n</Permits>\n'
    data = doc.encode(encoding)
    if draw(st.booleans()):
        data = data[: draw(st.integers(len(data) // 3, len(data)))]  # cut off, inside a character too
    if draw(st.integers(0, 5)) == 0:
        at = draw(st.integers(len(data) // 2, len(data)))
        data = data[:at] + b"\xff" + data[at:]
    return data


def _read(path: Path, chunk_rows: int, block: int, sink=None):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(payload, "DECODE_BLOCK", block)
        mp.setattr(collector, "CHUNK_ROWS", chunk_rows)
        try:
            return read_xml(path, dataset="municipal.construction_permits", day=DAY, record_tag="Permit",
                            columns=COLUMNS, sink=sink)
        except DeliveryError as exc:
            return str(exc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=deliveries(), chunk_rows=st.integers(1, 7), block=st.integers(1, 64))
def test_an_xml_read_in_blocks_and_chunks_into_a_sink_is_the_xml_read_whole(tmp_path, data, chunk_rows, block):
    path = tmp_path / "construction_permits_20250601.xml"
    path.write_bytes(data)
    whole = _read(path, 1 << 30, 1 << 30)
    chunked = _read(path, chunk_rows, block)
    if isinstance(whole, str):  # refused (not well-formed before the root): the same way in any blocks
        assert chunked == whole
        return
    assert chunked.table.equals(whole.table)
    assert [str(w) for w in chunked.warnings] == [str(w) for w in whole.warnings]

    landed = tmp_path / "landed.parquet"
    with PartitionWriter(landed) as writer:
        streamed = _read(path, chunk_rows, block, sink=writer)
        writer.commit()
    assert pq.read_table(landed).equals(whole.table)
    assert (streamed.delivered_rows, streamed.unparseable_rows) == (whole.delivered_rows, whole.unparseable_rows)
    assert [str(w) for w in streamed.warnings] == [str(w) for w in whole.warnings]
    assert (streamed.sha256, streamed.size_bytes) == (whole.sha256, whole.size_bytes)


@pytest.mark.parametrize("block", [7, 1 << 20])
def test_a_doctype_is_refused_wherever_it_sits(tmp_path, block):
    records = "\n".join(f"<Permit><PermitNo>P{i}</PermitNo></Permit>" for i in range(2_000))
    for where, doc in [
        ("before the root", f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<Permits>{records}</Permits>'),
        ("in a broken tail", f"<Permits>{records}<Permit>a & b</Permit>\n<!DOCTYPE x></Permits>"),
    ]:
        path = tmp_path / "construction_permits_20250601.xml"
        path.write_text(doc, encoding="utf-8")
        refused = _read(path, 100, block)
        assert isinstance(refused, str) and "DTDs and entities are refused" in refused, where
