"""The delivery layout's one owner: a file's name and the day it stands for go both ways, a name whose date does not
exist is told apart from a name of another dataset or kind, and a file's fingerprint is the SHA-256 of its bytes."""

import hashlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jilin_pipelines.sources.layout import delivery_day, delivery_path, file_sha256

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)


@given(day=st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)), dataset=NAMES,
       ext=st.sampled_from(["csv", "jsonl", "xml", "xlsx"]), provider=st.none() | st.sampled_from(["220102", "220581"]))
def test_a_delivery_files_name_gives_back_its_day(tmp_path_factory, day, dataset, ext, provider):
    root = tmp_path_factory.getbasetemp()
    path = delivery_path(root, "traffic_police", dataset, day, ext, provider)
    assert path.parent.name == (provider or dataset)
    assert delivery_day(path.name, dataset, ext) == day
    assert delivery_day(path.name, dataset + "x", ext) is None  # another dataset's
    assert delivery_day(path.name, dataset, "txt") is None  # another kind


def test_a_name_like_a_delivery_whose_date_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="20250631"):
        delivery_day("motor_vehicles_20250631.csv", "motor_vehicles", "csv")
    assert delivery_day("motor_vehicles_2025063.csv", "motor_vehicles", "csv") is None
    assert delivery_day("motor_vehicles_20250630.csv.bak", "motor_vehicles", "csv") is None


def test_a_files_fingerprint_is_the_sha256_of_its_bytes(tmp_path):
    data = bytes(range(256)) * 9000  # more than one block of a MiB
    (tmp_path / "f.csv").write_bytes(data)
    assert file_sha256(tmp_path / "f.csv") == hashlib.sha256(data).hexdigest()
