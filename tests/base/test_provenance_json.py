"""The compact provenance text of a golden version (``golden.provenance_json``): every attribute names the source
its value came from, every source is listed once, and the text is the JSON it claims to be. Property-tested over
random winner matrices against a plain per-row reading of the same matrix."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jilin_pipelines.base.golden import (
    delivery_sources,
    provenance_json,
    provenance_sources,
)

ATTRS = ["name", "sex", "birth_date", "division_code", "status"]


def source_rows(count: int) -> np.ndarray:
    return np.array([json.dumps({"dataset": f"d.s{r % 3}", "role": "", "partition": "2025-06-02", "source_row": r,
                                 "sha256": f"{r:064x}"}) for r in range(count)], dtype=object)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 4).flatmap(lambda width: arrays(np.int64, st.tuples(st.integers(0, 30), st.just(width)),
                                                    elements=st.integers(-1, 7))))
def test_each_attribute_names_its_winning_source_and_each_source_is_listed_once(winner):
    attrs = ATTRS[: winner.shape[1]]
    src = source_rows(8)
    texts = provenance_json(attrs, winner, src)
    assert len(texts) == len(winner)
    for row, text in zip(winner, texts, strict=True):
        expected = {a: None if w < 0 else json.loads(src[w]) for a, w in zip(attrs, row, strict=True)}
        assert provenance_sources(text) == expected
        listed = delivery_sources(text)
        assert sorted(s["source_row"] for s in listed) == sorted({int(w) for w in row if w >= 0})
        # the order of the attributes is the table's, and sources appear in the order attributes first name them
        assert list(json.loads(text)["attributes"]) == attrs
        firsts = list(dict.fromkeys(int(w) for w in row if w >= 0))
        assert [s["source_row"] for s in listed] == firsts


def test_one_source_for_every_attribute_is_written_once():
    text = provenance_json(["name", "sex"], np.array([[3, 3]]), source_rows(4))[0]
    assert text.count('"sha256"') == 1
    assert json.loads(text)["attributes"] == {"name": 0, "sex": 0}
