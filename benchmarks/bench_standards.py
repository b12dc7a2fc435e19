"""Benchmark: validate and normalise resident ID numbers and USCCs, column-wise, against python-stdnum per value.

Run: ``uv run python benchmarks/bench_standards.py [--n 1000000] [--sample 100000] [--repeat 3]``

The columns imitate a delivery: mostly valid values, 5 % with the defects of SPEC.md §7 (lower-case x /
letters, spaces, full-width characters, legacy 15-digit IDs, wrong check characters). They are pandas
``string[pyarrow]`` Series, as the readers' pyarrow tables give them. Our time is the best of ``--repeat``
runs over all ``--n`` values (reference tables loaded beforehand). python-stdnum's ``is_valid`` is called
once per value on the first ``--sample`` values only, and its rate extrapolated to ``--n``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
from stdnum.cn import ric, uscc

from jilin_pipelines.standards import division_periods, validate_resident_id, validate_uscc

DEFECT_RATE = 0.05
_FULL_WIDTH = {code: code + 0xFEE0 for code in range(0x21, 0x7F)}  # ASCII to its full-width form
_USCC_ALPHABET = uscc._alphabet


def _org_check(body: str) -> str:
    """Return the GB 11714 check character of an 8-character organisation code body (test data only)."""
    total = sum(int(c, 36) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2)))
    return {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))


def _valid_ids(rng: np.random.Generator, count: int) -> list[str]:
    """Return ``count`` valid 18-digit IDs of people born 1940-2009 at Jilin codes in force at their birth."""
    periods = division_periods()
    codes = periods.loc[periods["code"].str.startswith("22") & periods["last_year"].isna(), "code"].to_numpy()
    days = rng.integers(0, 70 * 365, count)
    births = (np.datetime64("1940-01-01") + days.astype("timedelta64[D]")).astype(str)
    numbers = []
    for code, birth, sequence in zip(rng.choice(codes, count), births, rng.integers(0, 1000, count)):
        body = f"{code}{birth.replace('-', '')}{sequence:03d}"
        numbers.append(body + ric.calc_check_digit(body + "0"))
    return numbers


def _valid_usccs(rng: np.random.Generator, count: int) -> list[str]:
    """Return ``count`` valid USCCs (check character and organisation-code check character) registered in Jilin."""
    letters = np.array(list(_USCC_ALPHABET))
    codes = []
    for head, region, body in zip(
        rng.choice(["91", "92", "93", "11", "12", "52"], count),
        rng.choice(["220102", "220104", "220202", "220381", "222401"], count),
        ("".join(chars) for chars in rng.choice(letters, (count, 8))),
    ):
        partial = f"{head}{region}{body}{_org_check(body)}"
        codes.append(partial + uscc.calc_check_digit(partial + "0"))
    return codes


def _with_defects(rng: np.random.Generator, values: pd.Series, legacy: bool) -> pd.Series:
    """Return the values with DEFECT_RATE of them spoilt in the ways of SPEC.md §7."""
    values = values.copy()
    spoilt = np.flatnonzero(rng.random(len(values)) < DEFECT_RATE)
    kinds = rng.integers(0, 5, len(spoilt))
    for kind, at in ((0, "lower"), (1, "spaces"), (2, "full_width"), (3, "legacy"), (4, "check")):
        positions = spoilt[kinds == kind]
        original = values.iloc[positions]
        if at == "lower":
            changed = original.str.lower()
        elif at == "spaces":
            changed = " " + original.str[:6] + " " + original.str[6:] + " "
        elif at == "full_width":
            changed = original.str.translate(_FULL_WIDTH)
        elif at == "legacy" and legacy:
            born_1900s = original.str[6:8] == "19"
            changed = original.where(~born_1900s, original.str[:6] + original.str[8:17])
        else:  # a wrong check character
            changed = original.str[:17] + original.str[17].map(lambda c: "1" if c != "1" else "2")
        values.iloc[positions] = changed.to_numpy()
    return values.astype("string[pyarrow]")


def _best_of(repeat: int, call) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def _stdnum_rate(is_valid, values: pd.Series) -> float:
    """Return python-stdnum's values per second, calling ``is_valid`` once per value."""
    items = values.tolist()
    start = time.perf_counter()
    for item in items:
        try:
            is_valid(item)
        except Exception:  # noqa: BLE001 - stdnum raises KeyError for some unknown address codes
            pass
    return len(items) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="values per column (default 1,000,000)")
    parser.add_argument("--sample", type=int, default=100_000, help="values for the stdnum loop (default 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours; the best counts (default 3)")
    args = parser.parse_args()
    rng = np.random.default_rng(20250601)
    distinct = min(args.n, 100_000)

    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, n = {args.n:,}, stdnum sample = {args.sample:,}")
    columns = {
        "resident ID": (_valid_ids, True, validate_resident_id, ric.is_valid),
        "USCC": (_valid_usccs, False, validate_uscc, uscc.is_valid),
    }
    for label, (make, legacy, validate, stdnum_is_valid) in columns.items():
        base = pd.Series(make(rng, distinct))
        values = _with_defects(rng, base.iloc[rng.integers(0, distinct, args.n)].reset_index(drop=True), legacy)
        validate(values.iloc[:1000])  # load the reference tables outside the timing
        seconds = _best_of(args.repeat, lambda: validate(values))
        result = validate(values)
        stdnum_rate = _stdnum_rate(stdnum_is_valid, values.iloc[: args.sample])
        ours = args.n / seconds
        print(
            f"{label:12} ours: {seconds:6.3f} s for {args.n:,} = {ours:12,.0f} values/s "
            f"({result.valid.mean():.1%} valid, {result.repaired.mean():.1%} repaired) | "
            f"python-stdnum is_valid per value: {stdnum_rate:10,.0f} values/s, "
            f"{args.n / stdnum_rate:6.2f} s for {args.n:,} (extrapolated from {args.sample:,}) | "
            f"speed-up {ours / stdnum_rate:5.1f}x"
        )


if __name__ == "__main__":
    main()
