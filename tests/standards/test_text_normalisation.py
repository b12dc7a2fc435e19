"""Text and names: full-width to half-width, whitespace (U+3000 included), the middle dot of minority names."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jilin_pipelines.standards import normalise_name, normalise_text

FAST = settings(max_examples=80, deadline=None)


@pytest.mark.parametrize(
    ("raw", "name", "repair"),
    [
        ("张三", "张三", None),
        (" 张三 ", "张三", "whitespace"),
        ("\u3000张三\u3000", "张三", "whitespace"),
        ("张\u3000三", "张三", "whitespace"),
        ("张 三 丰", "张三丰", "whitespace"),
        ("阿卜杜拉.买买提", "阿卜杜拉·买买提", "middle_dot"),
        ("阿卜杜拉•买买提", "阿卜杜拉·买买提", "middle_dot"),
        ("阿卜杜拉‧买买提", "阿卜杜拉·买买提", "middle_dot"),
        ("阿卜杜拉・买买提", "阿卜杜拉·买买提", "middle_dot"),
        ("阿卜杜拉．买买提", "阿卜杜拉·买买提", "full_width,middle_dot"),
        ("阿卜杜拉 · 买买提", "阿卜杜拉·买买提", "whitespace"),
        (" 阿卜杜拉 • 买买提\u3000", "阿卜杜拉·买买提", "whitespace,middle_dot"),
        ("阿卜杜拉·买买提", "阿卜杜拉·买买提", None),
        ("John  Smith", "John Smith", "whitespace"),
        ("ＪＯＨＮ", "JOHN", "full_width"),
    ],
)
def test_names(raw, name, repair):
    result = normalise_name(pd.Series([raw]))
    assert result.value.tolist() == [name]
    assert result.valid.tolist() == [True]
    assert result.repair.tolist() == [repair] if repair else result.repair.isna().all()
    assert result.repaired.tolist() == [repair is not None]


@pytest.mark.parametrize("empty", [None, "", "  ", "\u3000\u3000", "\u200b"])
def test_empty_names(empty):
    result = normalise_name(pd.Series([empty], dtype="object"))
    assert result.value.isna().all() and result.reason.tolist() == ["empty"]


def test_text_collapses_whitespace_and_makes_full_width_half_width():
    result = normalise_text(pd.Series(["  长春市\u3000南关区  人民大街 1号 ", "ＡＢＣ１２３", "a\tb\nc", "ok"]))
    assert result.value.tolist() == ["长春市 南关区 人民大街 1号", "ABC123", "a b c", "ok"]
    assert result.repair.fillna("").tolist() == ["whitespace", "full_width", "whitespace", ""]


def test_text_keeps_dots():
    assert normalise_text(pd.Series(["No. 5"])).value.tolist() == ["No. 5"]


NAME_CHARACTERS = "张三李四阿卜杜拉买买提ABCabc .•‧・．·\u3000\t\u00a0ＡＢ１"


@FAST
@given(st.lists(st.text(NAME_CHARACTERS, max_size=12), min_size=1, max_size=40))
def test_name_normalisation_is_idempotent_and_leaves_no_stray_spaces(names):
    once = normalise_name(pd.Series(names))
    twice = normalise_name(once.value)
    assert twice.value.fillna("").tolist() == once.value.fillna("").tolist()
    assert not twice.repaired.any()
    for name in once.value.dropna():
        assert name == name.strip() and "  " not in name and "\u3000" not in name
        assert not set(name) & set(".•‧・．")


@FAST
@given(st.lists(st.text(max_size=15), min_size=1, max_size=40))
def test_text_normalisation_is_idempotent_for_any_text(texts):
    once = normalise_text(pd.Series(texts))
    twice = normalise_text(once.value)
    assert twice.value.fillna("").tolist() == once.value.fillna("").tolist()
    assert not twice.repaired.any()
