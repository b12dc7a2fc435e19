"""The compact provenance text of a golden version (``golden.provenance_json``): every attribute names the source
its value came from, every source is listed once, and the text is the JSON it claims to be. Property-tested over
random winner matrices against a plain per-row reading of the same matrix; the references resolve through the
delivery table's rows to what the source row was."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from jilin_pipelines.base.golden import (
    delivery_sources,
    provenance_json,
    provenance_sources,
)

ATTRS = ["name", "sex", "birth_date", "division_code", "status"]


DELIVERIES = {100 + d: {"dataset": f"d.s{d}", "partition": "2025-06-02", "sha256": f"{d:064x}"} for d in range(3)}


def source_rows(count: int) -> np.ndarray:
    """Source row ``r`` of delivery ``100 + r % 3``, as ``golden._source_json`` writes it."""
    return np.array([json.dumps({"delivery": 100 + r % 3, "role": "", "source_row": r}, separators=(",", ":"))
                     for r in range(count)], dtype=object)


def resolved(r: int) -> dict:
    d = DELIVERIES[100 + r % 3]
    return {"dataset": d["dataset"], "role": "", "partition": d["partition"], "source_row": r, "sha256": d["sha256"]}


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 4).flatmap(lambda width: arrays(np.int64, st.tuples(st.integers(0, 30), st.just(width)),
                                                    elements=st.integers(-1, 7))))
def test_each_attribute_names_its_winning_source_and_each_source_is_listed_once(winner):
    attrs = ATTRS[: winner.shape[1]]
    src = source_rows(8)
    texts = provenance_json(attrs, winner, src)
    assert len(texts) == len(winner)
    for row, text in zip(winner, texts, strict=True):
        expected = {a: None if w < 0 else resolved(int(w)) for a, w in zip(attrs, row, strict=True)}
        assert provenance_sources(text, DELIVERIES) == expected
        listed = delivery_sources(text, DELIVERIES)
        assert sorted(s["source_row"] for s in listed) == sorted({int(w) for w in row if w >= 0})
        # the order of the attributes is the table's, and sources appear in the order attributes first name them
        assert list(json.loads(text)["attributes"]) == attrs
        firsts = list(dict.fromkeys(int(w) for w in row if w >= 0))
        assert [s["source_row"] for s in listed] == firsts


def test_one_source_for_every_attribute_is_written_once():
    text = provenance_json(["name", "sex"], np.array([[3, 3]]), source_rows(4))[0]
    assert text.count('"delivery"') == 1 and "sha256" not in text
    assert json.loads(text)["attributes"] == {"name": 0, "sex": 0}


def test_a_reference_to_a_delivery_the_table_lacks_is_named():
    text = provenance_json(["name"], np.array([[0]]), source_rows(1))[0]
    with pytest.raises(LookupError, match="delivery 100, which"):
        provenance_sources(text, {})
