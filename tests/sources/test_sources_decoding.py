"""Decoding a delivery a block at a time (``payload.DECODE_BLOCK``) is decoding it whole: the same text, the same
verdict on the encoding, the same offset of the first failure, the same cut-off tail, wherever the blocks end
(inside a GBK or UTF-8 character included)."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jilin_pipelines.sources import payload
from jilin_pipelines.sources.decoding import BOM, decode_strict

HAN = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), min_size=1, max_size=6)
ASCII = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=6)
PIECES = st.one_of(
    ASCII.map(str.encode),
    HAN.map(lambda t: t.encode("gbk")),
    HAN.map(lambda t: t.encode("utf-8")),
    st.binary(min_size=1, max_size=3),  # bytes of no encoding, cut characters
    st.just(b"\n"),
)
PAYLOADS = st.tuples(st.booleans(), st.lists(PIECES, max_size=25)).map(lambda t: (BOM if t[0] else b"") + b"".join(t[1]))


def _whole(data: bytes, declared: str) -> dict:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(payload, "DECODE_BLOCK", 1 << 30)
        return asdict(decode_strict(data, declared))


@settings(max_examples=300, deadline=None)
@given(data=PAYLOADS, declared=st.sampled_from(["gbk", "utf-8", "utf-8-sig", "gb18030"]), block=st.integers(1, 9))
def test_decoding_in_blocks_is_decoding_whole(data, declared, block):
    whole = _whole(data, declared)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(payload, "DECODE_BLOCK", block)
        assert asdict(decode_strict(data, declared)) == whole


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.one_of(HAN, ASCII, st.just("\n")), min_size=1).map("".join), block=st.integers(1, 9))
def test_gbk_text_in_blocks_comes_out_as_its_utf8(text, block):
    data = text.encode("gbk")
    try:  # GBK bytes that are valid UTF-8 are read as UTF-8, by design (see decode_strict)
        assume(data.isascii() or not data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(payload, "DECODE_BLOCK", block)
        dec = decode_strict(data, "gbk")
    assert dec.utf8 == text.encode("utf-8")
    assert not dec.wrong_encoding and dec.truncated_tail == b""
