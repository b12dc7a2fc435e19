"""Pseudonyms for personal identifiers: HMAC-SHA-256 under a key from the environment (``JILIN_PSEUDONYM_KEY``).

The same value under the same key always gives the same pseudonym, so pseudonymised exports can still be joined
on it, while without the key nobody can tell which person a pseudonym stands for (resident ID numbers are far too
few for an unkeyed hash: all of them can be hashed in minutes).

* In production (``JILIN_ENV=production``, ``Settings.production``) the key must be set: otherwise
  :class:`PseudonymKeyError`, before anything is hashed.
* In the embedded default an unset key falls back to :data:`DEVELOPMENT_KEY`, a public, clearly labelled key,
  with a :class:`DevelopmentKeyWarning` (and a log line): its pseudonyms protect nothing.

:func:`pseudonymise` works on a pyarrow array / chunked array, a pandas Series, a sequence or one string; nulls stay
null. HMAC has no vectorised kernel, so the work is done once per *distinct* value (pyarrow's dictionary encoding)
from a pre-keyed HMAC state, and the result is taken back out to the full column with the dictionary indices.

Pure: no Dagster import.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, overload

import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    import pandas as pd

    from jilin_pipelines.settings import Settings

log = logging.getLogger(__name__)

ENV_VAR = "JILIN_PSEUDONYM_KEY"
#: Public and therefore worthless as a secret: only ever used in the embedded default, with a warning.
DEVELOPMENT_KEY = b"jilin-pipelines DEVELOPMENT pseudonym key -- public, not a secret, never for production"
#: A key shorter than this (in bytes) is refused: HMAC-SHA-256 wants at least as much key as output.
MIN_KEY_BYTES = 32


class PseudonymKeyError(RuntimeError):
    """The pseudonym key is missing (in production) or unusable."""


class DevelopmentKeyWarning(UserWarning):
    """Pseudonyms are being made with the public development key."""


def pseudonym_key(settings: Settings | None = None) -> bytes:
    """The HMAC key: ``JILIN_PSEUDONYM_KEY`` (UTF-8); refused when unset in production; else the development key."""
    if settings is None:
        from jilin_pipelines.settings import Settings

        settings = Settings.from_env()
    if settings.pseudonym_key:
        key = settings.pseudonym_key.encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise PseudonymKeyError(
                f"{ENV_VAR} is {len(key)} bytes long: at least {MIN_KEY_BYTES} are needed "
                "(e.g. the output of `python -c 'import secrets; print(secrets.token_hex(32))'`)"
            )
        return key
    if settings.production:
        raise PseudonymKeyError(
            f"{ENV_VAR} is not set: pseudonyms are refused in production (JILIN_ENV=production). "
            "Set it to a secret of at least 32 bytes, the same for every run whose exports must join."
        )
    message = (
        f"{ENV_VAR} is not set: using the public DEVELOPMENT pseudonym key (embedded default only); "
        "these pseudonyms do not protect anyone"
    )
    warnings.warn(message, DevelopmentKeyWarning, stacklevel=2)
    log.warning(message)
    return DEVELOPMENT_KEY


def pseudonym(value: str, key: bytes) -> str:
    """One value's pseudonym: the lower-case hex HMAC-SHA-256 of its UTF-8 bytes (64 characters)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _hash_strings(values: pa.Array, key: bytes) -> pa.Array:
    """HMAC of each distinct non-null string, taken back to the full array through a dictionary encoding."""
    if values.type != pa.string() and values.type != pa.large_string():
        values = values.cast(pa.string())
    encoded = pc.dictionary_encode(values)
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    digests = []
    for v in encoded.dictionary.to_pylist():
        h = keyed.copy()
        h.update(v.encode("utf-8"))
        digests.append(h.hexdigest())
    return pc.take(pa.array(digests, pa.string()), encoded.indices)


@overload
def pseudonymise(values: str, key: bytes | None = None) -> str: ...
@overload
def pseudonymise(values: pa.Array, key: bytes | None = None) -> pa.Array: ...
@overload
def pseudonymise(values: pa.ChunkedArray, key: bytes | None = None) -> pa.ChunkedArray: ...
@overload
def pseudonymise(values: pd.Series, key: bytes | None = None) -> pd.Series: ...
@overload
def pseudonymise(values: Sequence[str | None], key: bytes | None = None) -> list[str | None]: ...


def pseudonymise(values, key: bytes | None = None):
    """Pseudonyms for a column (same type back: pyarrow, pandas Series with its index, list) or one string.

    ``key`` defaults to :func:`pseudonym_key` (the environment). Nulls stay null; values are hashed as given
    (normalise them first: ``220102199001011234`` and ``220102199001011234 `` are different values).
    """
    if key is None:
        key = pseudonym_key()
    if not isinstance(key, bytes | bytearray) or not key:
        raise PseudonymKeyError("the pseudonym key must be non-empty bytes")
    key = bytes(key)
    if isinstance(values, str):
        return pseudonym(values, key)
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([_hash_strings(c, key) for c in values.chunks], pa.string())
    if isinstance(values, pa.Array):
        return _hash_strings(values, key)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(values, pd.Series):
        arr = pa.array(values.astype("object").where(values.notna(), None), pa.string(), from_pandas=True)
        out = _hash_strings(arr, key).to_pandas()
        out.index = values.index
        out.name = values.name
        return out
    return _hash_strings(pa.array(list(values), pa.string()), key).to_pylist()
