"""Small column-wise helpers shared by the generator's modules (seeded random streams, date and time text)."""

from __future__ import annotations

import zlib
from datetime import date

import numpy as np
import pandas as pd

DAY_S = 86_400


def rng_for(seed: int, *names: object) -> np.random.Generator:
    """An independent random stream per purpose, stable across runs (crc32, never ``hash()``)."""
    return np.random.default_rng([seed & 0xFFFFFFFF, *(zlib.crc32(str(n).encode()) for n in names)])


def d64(day: date) -> np.datetime64:
    return np.datetime64(day.isoformat(), "D")


def date_text(values: np.ndarray) -> np.ndarray:
    """datetime64 days -> object array of 'YYYY-MM-DD'."""
    return np.datetime_as_string(np.asarray(values, dtype="datetime64[D]"), unit="D").astype(object)


def time_text(values: np.ndarray) -> np.ndarray:
    """datetime64 seconds -> object array of 'YYYY-MM-DD HH:MM:SS'."""
    s = np.datetime_as_string(np.asarray(values, dtype="datetime64[s]"), unit="s")
    return np.char.replace(s, "T", " ").astype(object)


def times_on(day: np.datetime64 | date, n: int, rng: np.random.Generator, first_hour: int = 7, last_hour: int = 21) -> np.ndarray:
    """``n`` random times (datetime64[s]) on ``day`` between the given hours."""
    base = np.datetime64(day, "D") if not isinstance(day, date) else d64(day)
    secs = rng.integers(first_hour * 3600, last_hour * 3600, n)
    return base.astype("datetime64[s]") + secs.astype("timedelta64[s]")


def random_days(lo: np.ndarray | np.datetime64, hi: np.ndarray | np.datetime64, rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniform days in [lo, hi] (datetime64[D]); lo/hi may be arrays."""
    lo = np.asarray(lo, dtype="datetime64[D]")
    hi = np.asarray(hi, dtype="datetime64[D]")
    span = np.maximum((hi - lo).astype(np.int64), 0) + 1
    return lo + (rng.random(n) * span).astype(np.int64).astype("timedelta64[D]")


def add_years(days: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """Add whole years to dates (29 Feb -> 28 Feb)."""
    ts = pd.DatetimeIndex(np.asarray(days, dtype="datetime64[D]"))
    y = ts.year.to_numpy() + np.asarray(years)
    m = ts.month.to_numpy()
    d = ts.day.to_numpy()
    d = np.where((m == 2) & (d == 29), 28, d)
    out = pd.to_datetime(pd.DataFrame({"year": y, "month": m, "day": d}))
    return out.to_numpy().astype("datetime64[D]")


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    ts = pd.DatetimeIndex(np.asarray(days, dtype="datetime64[D]"))
    return ts.year.to_numpy() * 10000 + ts.month.to_numpy() * 100 + ts.day.to_numpy()


def pick(rng: np.random.Generator, options, n: int, p=None) -> np.ndarray:
    arr = np.asarray(options, dtype=object)
    if p is not None:
        p = np.asarray(p, dtype=float)
        p = p / p.sum()
    return arr[rng.choice(len(arr), size=n, p=p)]


def concat_text(*parts) -> np.ndarray:
    """Element-wise string concatenation of arrays / scalars into an object array."""
    out = None
    for part in parts:
        arr = np.asarray(part, dtype=object)
        out = arr if out is None else out + arr
    return np.asarray(out, dtype=object)
