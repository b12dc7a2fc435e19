"""Masking for display and logs: what each rule shows, and that it never shows more."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jilin_pipelines.standards import MASK_RULES, mask, mask_value

FAST = settings(max_examples=80, deadline=None)


def test_the_documented_examples():
    assert mask(pd.Series(["220102199001011234"]), "resident_id").tolist() == ["220102********1234"]
    assert mask(pd.Series(["13800138000"]), "phone").tolist() == ["138****8000"]
    assert mask(pd.Series(["张三", "欧阳娜娜", "阿卜杜拉·买买提"]), "name").tolist() == ["张*", "欧***", "阿*******"]
    assert mask(pd.Series(["91220101123912472G"]), "uscc").tolist() == ["912201********472G"]


def test_short_values_are_masked_entirely():
    assert mask(pd.Series(["12345678"]), "resident_id").tolist() == ["********"]
    assert mask(pd.Series(["8888123"]), "phone").tolist() == ["*******"]
    assert mask(pd.Series(["张"]), "name").tolist() == ["*"]


def test_empty_values_and_index():
    result = mask(pd.Series([None, "", "  ", " 220102199001011234 "], index=list("abcd")), "resident_id")
    assert list(result.index) == list("abcd")
    assert result.isna().tolist() == [True, True, True, False]
    assert result["d"] == "220102********1234"


def test_mask_value_for_log_lines():
    assert mask_value("220102199001011234", "resident_id") == "220102********1234"
    assert mask_value(None, "phone") is None


def test_unknown_rule():
    with pytest.raises(KeyError, match="resident_id"):
        mask(pd.Series(["x"]), "passport")


@FAST
@given(st.sampled_from(sorted(MASK_RULES)), st.lists(st.text(max_size=25), min_size=1, max_size=30))
def test_masking_never_reveals_more_than_its_rule_allows(kind, values):
    rule = MASK_RULES[kind]
    masked = mask(pd.Series(values), kind)
    for original, shown in zip(values, masked.tolist()):
        original = original.strip()
        if not original:
            assert pd.isna(shown)
            continue
        assert len(shown) == len(original)
        revealed = [i for i, char in enumerate(shown) if char != "*" or original[i] == "*"]
        allowed = set(range(rule.keep_first)) | set(range(len(original) - rule.keep_last, len(original)))
        if len(original) - rule.keep_first - rule.keep_last < rule.min_masked:
            allowed = set()
        assert {i for i in revealed if shown[i] != "*"} <= allowed
        assert all(shown[i] == original[i] for i in revealed if shown[i] != "*")
        assert sum(char != "*" for char in shown) <= rule.keep_first + rule.keep_last
