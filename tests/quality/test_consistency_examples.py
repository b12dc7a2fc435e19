"""Consistency examples show what differs without revealing it: each department's name contrasted (equal where the
names agree, a letter per distinct character where they differ), the positions or lengths that differ."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from jilin_pipelines.base.consistency import conflict_examples, contrasted, difference

NAMES = st.text(alphabet="刘德华化张三李四王五 ·", min_size=1, max_size=6)


def test_two_names_of_one_surname_read_apart():
    assert contrasted(["刘德华", "刘德化"]) == ["刘*A", "刘*B"]
    assert difference(["刘德华", "刘德化"]) == "character 3 of 3"
    assert contrasted(["张三", "张三丰"]) == ["张*", "张*A"]
    assert difference(["张三", "张三丰"]) == "2 vs 3 characters"
    assert contrasted(["王五", "李四"]) == ["AA", "BB"]  # no surname shown when the surnames differ


@given(st.lists(NAMES, min_size=2, max_size=4, unique=True))
def test_contrasted_values_differ_exactly_when_the_names_do(names):
    shown = contrasted(names)
    assert [len(s) for s in shown] == [len(n) for n in names]
    assert len(set(shown)) == len(names)  # distinct names stay distinct
    for name, masked in zip(names, shown):
        # nothing of a name is shown but the first character all of them share
        shared_first = len({n[0] for n in names}) == 1
        assert all(c in "*ABCDEFGHIJKLMNOP" for c in (masked[1:] if shared_first else masked)), (name, masked)


def test_an_example_names_the_person_masked_the_attribute_and_each_department():
    conflicts = pd.DataFrame({
        "id_number": ["220102198001011234"] * 3,
        "dataset": ["social_security.insured_persons", "traffic_police.driving_licences", "transport.practitioner_qualifications"],
        "name": ["刘德华", "刘德化", "刘德华"],
    })
    [example] = conflict_examples(conflicts, persons=5, mask_id=lambda v: v[:6] + "********" + v[-4:])
    assert example == {
        "person": "220102********1234",
        "attribute": "name",
        "departments": {"social_security.insured_persons": "刘*A", "traffic_police.driving_licences": "刘*B",
                        "transport.practitioner_qualifications": "刘*A"},
        "difference": "character 3 of 3",
    }
