"""Pseudonyms are HMAC-SHA-256 under the key from the environment; refused without a key in production."""

from __future__ import annotations

import hashlib
import hmac
import warnings

import pandas as pd
import pyarrow as pa
import pytest

from jilin_pipelines.privacy import (
    DEVELOPMENT_KEY,
    DevelopmentKeyWarning,
    PseudonymKeyError,
    pseudonym_key,
    pseudonymise,
)
from jilin_pipelines.settings import Settings

KEY = b"k3y-for-tests-0123456789abcdef-0123456789"
IDS = ["220102199003071234", None, "22010219900307123X", "220102199003071234", ""]


def expected(value: str | None, key: bytes = KEY) -> str | None:
    return None if value is None else hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def test_column_pseudonyms_are_the_hmac_of_each_value_nulls_kept():
    out = pseudonymise(pa.array(IDS), KEY)
    assert out.type == pa.string()
    assert out.to_pylist() == [expected(v) for v in IDS]
    assert out[0] == out[3] and out[0] != out[2]  # joinable: same value, same pseudonym
    assert "220102199003071234" not in "".join(v for v in out.to_pylist() if v)


def test_every_column_type_gives_the_same_pseudonyms_back_in_its_own_type():
    want = [expected(v) for v in IDS]
    chunked = pseudonymise(pa.chunked_array([IDS[:2], IDS[2:]]), KEY)
    assert isinstance(chunked, pa.ChunkedArray) and chunked.to_pylist() == want
    series = pd.Series(IDS, index=[10, 11, 12, 13, 14], name="id_number")
    out = pseudonymise(series, KEY)
    assert list(out.index) == [10, 11, 12, 13, 14] and out.name == "id_number"
    assert [None if pd.isna(v) else v for v in out] == want
    assert pseudonymise(IDS, KEY) == want
    assert pseudonymise(IDS[0], KEY) == want[0]
    assert pseudonymise(pa.array(IDS, pa.large_string()), KEY).to_pylist() == want


def test_another_key_gives_other_pseudonyms():
    other = b"another-key-for-tests-0123456789abcdef"
    assert pseudonymise(IDS[0], KEY) != pseudonymise(IDS[0], other)


def test_the_key_is_refused_when_unset_in_production():
    settings = Settings.from_env({"JILIN_ENV": "production"})
    with pytest.raises(PseudonymKeyError, match="JILIN_PSEUDONYM_KEY is not set: pseudonyms are refused in production"):
        pseudonym_key(settings)


def test_the_environment_key_is_used_and_a_short_one_refused(monkeypatch):
    monkeypatch.setenv("JILIN_ENV", "production")
    monkeypatch.setenv("JILIN_PSEUDONYM_KEY", KEY.decode())
    assert pseudonym_key() == KEY
    assert pseudonymise(IDS[0]) == expected(IDS[0])  # the default key is the environment's
    monkeypatch.setenv("JILIN_PSEUDONYM_KEY", "short")
    with pytest.raises(PseudonymKeyError, match="5 bytes long: at least 32"):
        pseudonymise(IDS[0])


def test_the_embedded_default_uses_the_labelled_development_key_with_a_warning(monkeypatch):
    monkeypatch.delenv("JILIN_ENV", raising=False)
    monkeypatch.delenv("JILIN_PSEUDONYM_KEY", raising=False)
    with pytest.warns(DevelopmentKeyWarning, match="DEVELOPMENT pseudonym key"):
        key = pseudonym_key()
    assert key == DEVELOPMENT_KEY and b"DEVELOPMENT" in key and b"never for production" in key
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DevelopmentKeyWarning)
        assert pseudonymise(IDS[0]) == expected(IDS[0], DEVELOPMENT_KEY)


def test_an_unknown_environment_is_refused():
    with pytest.raises(ValueError, match="JILIN_ENV='prod': expected one of embedded, production"):
        Settings.from_env({"JILIN_ENV": "prod"})
