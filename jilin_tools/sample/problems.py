"""The known problems of SPEC §7: a fixed vocabulary, default rates, and their column-wise injection.

Every problem has a name, a level and whether the pipeline can repair it without guessing (SPEC §7):

* ``value`` problems sit in one field of one row. At most one is applied per row and field; a value that
  is empty in the truth (an optional field) gets none.
* ``row`` problems concern the whole row (``field`` is null in the manifest).
* ``file`` problems concern a whole delivery (``source_row`` and ``field`` are null).

A rate is the probability that an *eligible* value gets the problem: lower-case ``x`` only applies to ID
numbers ending in ``X``, the legacy 15-digit form only to people born in the 1900s, the ``·`` variants only
to names that have a ``·``, a retired division code only to counties re-coded recently (220381, 220181,
220724, 220625), the Excel serial only to date columns of XLSX and CSV files, a future date only to dates
that must not lie in the future (not the end of a validity), negative amounts only to positive ones.
Three rates are not per value: ``id_retired_division_code`` is a property of the person (the share of
persons whose ID number was issued under a since-retired code; every delivered value of such an ID is listed),
``duplicate_in_file`` the share of a file's problem-free rows delivered a second time later in the same file,
and ``redelivery`` the daily share of a dataset's records delivered before (for event datasets: in the last
seven days; for assistance applications three times the rate) that come again unchanged with a newer update
time. Where the problem is at the choice of a department rather than a field (which fields are required,
which hold codes, which dates may lie in the future), ``datasets.SPECS`` says so per field.

File-level problems are placed, not drawn: ``datasets.FILE_PROBLEMS`` (a header-only ``urban_cases`` file on
the second day, ``violations`` cut off in its last row on the third, ``motor_vehicles`` in UTF-8 on the
fourth, no ``road_transport_permits`` file on the fifth; on shorter periods the last day). The rows of a
header-only or missing file are delivered the next day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from jilin_tools.sample import codes
from jilin_tools.sample.ids import USCC_ALPHABET


@dataclass(frozen=True)
class Problem:
    name: str
    level: str  # "value", "row" or "file"
    repairable: bool
    description: str


_P = Problem
PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        # resident ID numbers
        _P("id_wrong_check_digit", "value", False, "ID number whose check character is wrong"),
        _P("id_legacy_15", "value", True, "legacy 15-digit ID number (born 19xx, no check character)"),
        _P("id_lowercase_x", "value", True, "ID number ending in a lower-case x"),
        _P("id_fullwidth_digits", "value", True, "ID number written with full-width digits (U+FF10…)"),
        _P("id_spaces_inside", "value", True, "ID number with spaces inside (6 8 4 grouping)"),
        _P("id_retired_division_code", "value", True,
           "ID number issued under a division code valid then but retired since; the number itself is valid and stays"),
        _P("id_birth_date_nonexistent", "value", False, "ID number whose birth date does not exist (check character recomputed)"),
        _P("id_birth_date_future", "value", False, "ID number whose birth date lies after the delivery day (check recomputed)"),
        # unified social credit codes
        _P("uscc_wrong_check_char", "value", False, "USCC whose check character is wrong"),
        _P("uscc_forbidden_letter", "value", False, "USCC with one of the letters I, O, Z, S, V in its organisation code"),
        _P("uscc_lowercase", "value", True, "USCC written in lower case"),
        # dates
        _P("date_slash", "value", True, "date written YYYY/M/D"),
        _P("date_compact", "value", True, "date written YYYYMMDD"),
        _P("date_chinese", "value", True, "date written YYYY年M月D日"),
        _P("date_excel_serial", "value", True, "date as an Excel serial number (numeric cell in XLSX, the number in CSV)"),
        _P("date_nonexistent", "value", False, "a date that does not exist (e.g. 02-30, month 13)"),
        _P("date_future", "value", False, "a date or time after the delivery day where that is impossible"),
        # plates
        _P("plate_spaces", "value", True, "plate number with a space inside"),
        _P("plate_lowercase", "value", True, "plate number with lower-case letters"),
        _P("plate_letter_io", "value", False, "plate number containing the letter I or O"),
        # coordinates (field = the longitude column; the pair is affected)
        _P("coord_swapped", "value", False, "longitude and latitude swapped"),
        _P("coord_outside_jilin", "value", False, "coordinates outside Jilin"),
        # names
        _P("name_outer_spaces", "value", True, "name with leading and/or trailing spaces"),
        _P("name_fullwidth_space", "value", True, "name with a leading or trailing full-width space U+3000"),
        _P("name_dot_variant", "value", True, "the · of a minority name written as . (or • in UTF-8 files)"),
        # division codes, code lists, amounts, required fields
        _P("division_code_retired", "value", True, "division-code field holding a recently retired code (repair: its successor)"),
        _P("code_out_of_list", "value", False, "a code outside its code list (division codes: in no GB/T 2260 edition)"),
        _P("amount_negative", "value", False, "negative amount"),
        _P("amount_absurd", "value", False, "absurdly large amount (over 250 times the largest plausible value)"),
        _P("required_empty", "value", False, "a required field left empty"),
        # rows
        _P("duplicate_in_file", "row", True, "the same record a second time in the same file (this row is the copy)"),
        _P("redelivery", "row", True, "a record delivered again unchanged on a later day with a newer update time"),
        _P("row_truncated", "row", False, "the row the file was cut off in (see file_truncated)"),
        # files
        _P("file_header_only", "file", False, "a file with its header and no rows (the day's rows follow the next day)"),
        _P("file_truncated", "file", False, "a file cut off in the middle of its last row"),
        _P("file_wrong_encoding", "file", True, "a GBK file delivered in UTF-8"),
        _P("file_missing", "file", False, "no file at all for the day (the day's rows follow the next day)"),
    )
}
del _P

DEFAULT_RATES: dict[str, float] = {
    "id_wrong_check_digit": 0.01,
    "id_legacy_15": 0.015,
    "id_lowercase_x": 0.25,
    "id_fullwidth_digits": 0.01,
    "id_spaces_inside": 0.01,
    "id_retired_division_code": 0.03,
    "id_birth_date_nonexistent": 0.005,
    "id_birth_date_future": 0.005,
    "uscc_wrong_check_char": 0.01,
    "uscc_forbidden_letter": 0.012,
    "uscc_lowercase": 0.02,
    "date_slash": 0.012,
    "date_compact": 0.012,
    "date_chinese": 0.01,
    "date_excel_serial": 0.015,
    "date_nonexistent": 0.005,
    "date_future": 0.005,
    "plate_spaces": 0.015,
    "plate_lowercase": 0.015,
    "plate_letter_io": 0.006,
    "coord_swapped": 0.015,
    "coord_outside_jilin": 0.01,
    "name_outer_spaces": 0.015,
    "name_fullwidth_space": 0.01,
    "name_dot_variant": 0.3,
    "division_code_retired": 0.25,
    "code_out_of_list": 0.005,
    "amount_negative": 0.006,
    "amount_absurd": 0.006,
    "required_empty": 0.004,
    "duplicate_in_file": 0.005,
    "redelivery": 0.015,
}

# Value problems by field kind, in the order their rate intervals are laid out.
ID_PROBLEMS = (
    "id_wrong_check_digit", "id_legacy_15", "id_lowercase_x", "id_fullwidth_digits", "id_spaces_inside",
    "id_birth_date_nonexistent", "id_birth_date_future",
)
USCC_PROBLEMS = ("uscc_wrong_check_char", "uscc_forbidden_letter", "uscc_lowercase")
NAME_PROBLEMS = ("name_outer_spaces", "name_fullwidth_space", "name_dot_variant")
DATE_PROBLEMS = ("date_slash", "date_compact", "date_chinese", "date_excel_serial", "date_nonexistent", "date_future")
KIND_PROBLEMS: dict[str, tuple[str, ...]] = {
    "id": ID_PROBLEMS,
    "uscc": USCC_PROBLEMS,
    "party": ID_PROBLEMS + USCC_PROBLEMS,  # resident ID or USCC, by value
    "person_name": NAME_PROBLEMS,
    "entity_name": NAME_PROBLEMS[:2],
    "date": DATE_PROBLEMS,
    "date_int": ("date_nonexistent", "date_future"),
    "event_time": ("date_future",),
    "plate": ("plate_spaces", "plate_lowercase", "plate_letter_io"),
    "division": ("division_code_retired", "code_out_of_list"),
    "code": ("code_out_of_list",),
    "amount": ("amount_negative", "amount_absurd"),
    "lon": ("coord_swapped", "coord_outside_jilin"),
    "id_list": ID_PROBLEMS,
    "text": (),
    "time": (),
}
EXCEL_EPOCH = date(1899, 12, 30)
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_NONEXISTENT_MMDD = ("0230", "0231", "0431", "0631", "0931", "1131", "1301", "0000", "1232")


@dataclass(frozen=True)
class Field:
    """One source column and what may go wrong in it."""

    name: str
    kind: str = "text"
    required: bool = False
    codes: str | None = None  # key of codes.OUT_OF_LIST
    excel: bool = False  # an Excel serial is possible (XLSX / CSV date columns)
    future_ok: bool = False  # a future date is normal (end of validity)
    absurd: float = 0.0  # absurd amounts are at least this
    pair: str | None = None  # the latitude column of a longitude field


def validate_rates(rates: Mapping[str, float] | None) -> dict[str, float]:
    out = dict(DEFAULT_RATES)
    for name, rate in (rates or {}).items():
        if name not in DEFAULT_RATES:
            raise ValueError(f"unknown problem rate {name!r}; known: {', '.join(DEFAULT_RATES)}")
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"rate of {name} must lie in [0, 1], got {rate}")
        out[name] = float(rate)
    for kind, names in KIND_PROBLEMS.items():
        total = sum(out[p] for p in names) + out["required_empty"]
        if total > 1.0:
            raise ValueError(f"the rates of the {kind} problems add up to {total:.3f} > 1")
    return out


# ---------------------------------------------------------------------------------------------------
# eligibility and transforms: each works on an object array of canonical non-empty strings


def _eligible(problem: str, vals: np.ndarray, field: Field) -> np.ndarray:
    n = len(vals)
    if problem in ID_PROBLEMS:
        ok = np.array([len(v) == 18 and v[:2] == "22" for v in vals], dtype=bool)
        if problem == "id_legacy_15":
            ok &= np.array([v[6:8] == "19" for v in vals], dtype=bool)
        elif problem == "id_lowercase_x":
            ok &= np.array([v[-1] == "X" for v in vals], dtype=bool)
        return ok
    if problem in USCC_PROBLEMS:
        ok = np.array([len(v) == 18 and v[:2] != "22" for v in vals], dtype=bool)
        if problem == "uscc_lowercase":
            ok &= np.array([any(c.isalpha() for c in v) for v in vals], dtype=bool)
        return ok
    if problem == "name_dot_variant":
        return np.array(["·" in v for v in vals], dtype=bool)
    if problem == "date_excel_serial":
        return np.full(n, field.excel)
    if problem == "date_future":
        return np.full(n, not field.future_ok)
    if problem == "division_code_retired":
        return np.array([v in codes.RECENT_PREDECESSOR for v in vals], dtype=bool)
    if problem == "amount_negative":
        return np.array([float(v) > 0 for v in vals], dtype=bool)
    return np.ones(n, dtype=bool)


def _ymd(v: str) -> date:
    return date(int(v[0:4]), int(v[5:7]), int(v[8:10]))


def _future_date(day: date, r: float) -> date:
    return day + timedelta(days=30 + int(r * 2000))


def _transform(problem: str, vals: np.ndarray, field: Field, rng: np.random.Generator, day: date, utf8: bool) -> list:
    """The delivered form of ``vals`` with ``problem`` applied (same length)."""
    r = rng.random(len(vals))
    k = rng.integers(0, 1 << 30, len(vals))
    out: list = []
    for v, ri, ki in zip(vals, r, k, strict=True):
        out.append(_one(problem, v, field, ri, int(ki), day, utf8))
    return out


def _one(problem: str, v: str, field: Field, r: float, k: int, day: date, utf8: bool):  # noqa: C901, PLR0911, PLR0912
    if problem == "id_wrong_check_digit":
        right = v[17]
        wrong = [c for c in "0123456789X" if c != right]
        return v[:17] + wrong[k % len(wrong)]
    if problem == "id_legacy_15":
        return v[:6] + v[8:17]
    if problem == "id_lowercase_x":
        return v[:17] + "x"
    if problem == "id_fullwidth_digits":
        return v.translate(_FULLWIDTH)
    if problem == "id_spaces_inside":
        return f"{v[:6]} {v[6:14]} {v[14:]}"
    if problem in ("id_birth_date_nonexistent", "id_birth_date_future"):
        if problem == "id_birth_date_nonexistent":
            birth = v[6:10] + _NONEXISTENT_MMDD[k % len(_NONEXISTENT_MMDD)]
        else:
            birth = _future_date(day, r).strftime("%Y%m%d")
        body = v[:6] + birth + v[14:17]
        return body + _id_check(body)
    if problem == "uscc_wrong_check_char":
        wrong = [c for c in USCC_ALPHABET if c != v[17]]
        return v[:17] + wrong[k % len(wrong)]
    if problem == "uscc_forbidden_letter":
        pos = 8 + k % 9
        return v[:pos] + "IOZSV"[(k >> 5) % 5] + v[pos + 1 :]
    if problem == "uscc_lowercase":
        return v.lower()
    if problem in ("date_slash", "date_compact", "date_chinese", "date_excel_serial", "date_nonexistent", "date_future"):
        if field.kind == "date_int":
            if problem == "date_nonexistent":
                return v[0:4] + _NONEXISTENT_MMDD[k % len(_NONEXISTENT_MMDD)]
            return _future_date(day, r).strftime("%Y%m%d")
        if field.kind == "event_time":  # only date_future
            return _future_date(day, r).strftime("%Y-%m-%d") + v[10:]
        d = _ymd(v)
        if problem == "date_slash":
            return f"{d.year}/{d.month}/{d.day}"
        if problem == "date_compact":
            return d.strftime("%Y%m%d")
        if problem == "date_chinese":
            return f"{d.year}年{d.month}月{d.day}日"
        if problem == "date_excel_serial":
            return (d - EXCEL_EPOCH).days  # an int: a numeric cell in XLSX
        if problem == "date_nonexistent":
            mmdd = _NONEXISTENT_MMDD[k % len(_NONEXISTENT_MMDD)]
            return f"{d.year}-{mmdd[:2]}-{mmdd[2:]}"
        return _future_date(day, r).isoformat()
    if problem == "plate_spaces":
        return v[:2] + " " + v[2:]
    if problem == "plate_lowercase":
        return v.lower()
    if problem == "plate_letter_io":
        pos = 2 + k % (len(v) - 2)
        return v[:pos] + "IO"[(k >> 4) % 2] + v[pos + 1 :]
    if problem == "name_outer_spaces":
        return (" " + v, v + " ", " " + v + " ", "  " + v)[k % 4]
    if problem == "name_fullwidth_space":
        return ("\u3000" + v, v + "\u3000")[k % 2]
    if problem == "name_dot_variant":
        return v.replace("·", "." if (not utf8 or k % 2 == 0) else "•")
    if problem == "division_code_retired":
        return codes.RECENT_PREDECESSOR[v]
    if problem == "code_out_of_list":
        choices = codes.OUT_OF_LIST[field.codes or "division"]
        return choices[k % len(choices)]
    if problem == "amount_negative":
        return "-" + v
    if problem == "amount_absurd":
        x = field.absurd * (1 + r * 9)
        return _fmt_amount(x if "." in v else round(x))  # integers stay integers
    raise ValueError(problem)


def _id_check(body: str) -> str:
    """GB 11643 check character of a 17-digit body (one value: plain Python is faster than numpy here)."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))


def _fmt_amount(x: float) -> str:
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return s if s != "-0" else "0"


def fmt_amounts(x: np.ndarray) -> np.ndarray:
    """Canonical text of amounts: at most 2 decimals, trailing zeros dropped (4500, 3612.5, 3612.55)."""
    return np.array([_fmt_amount(v) for v in np.round(np.asarray(x, dtype=float), 2)], dtype=object)


# ---------------------------------------------------------------------------------------------------


@dataclass
class Injected:
    delivered: pd.DataFrame  # object columns, delivered values (str, int for Excel serials, list for id_list, None)
    problems: pd.DataFrame  # row (0-based position in the truth frame), field, problem
    dirty: np.ndarray  # per truth row: has any value problem


def _obj(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class _Recorder:
    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.fields: list[np.ndarray] = []
        self.problems: list[np.ndarray] = []

    def __call__(self, idx: np.ndarray, field_name, problem: str) -> None:
        if len(idx):
            self.rows.append(np.asarray(idx, dtype=np.int64))
            self.fields.append(np.broadcast_to(np.asarray(field_name, dtype=object), np.shape(idx)).copy())
            self.problems.append(np.full(len(idx), problem, dtype=object))

    def frame(self) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame({"row": np.array([], dtype=np.int64), "field": _obj([]), "problem": _obj([])})
        return pd.DataFrame(
            {"row": np.concatenate(self.rows), "field": np.concatenate(self.fields), "problem": np.concatenate(self.problems)}
        )


def inject(
    truth: pd.DataFrame,
    fields: Sequence[Field],
    rates: Mapping[str, float],
    rng: np.random.Generator,
    day: date,
    *,
    utf8: bool,
    retired_id_codes: frozenset[str],
) -> Injected:
    """Apply the value problems of ``fields`` to a copy of ``truth`` (canonical strings; None = empty).

    For every field, one uniform draw per row is laid against consecutive intervals, one per applicable
    problem (its rate wide), so a value gets at most one problem and an eligible value gets problem *p*
    with probability ``rates[p]``."""
    n = len(truth)
    delivered = truth.copy()
    record = _Recorder()
    for field in fields:
        if field.kind == "id_list":
            _inject_list(delivered, field, rates, rng, day, utf8, retired_id_codes, record)
            continue
        series = truth[field.name]
        vals = series.to_numpy(dtype=object)
        present = series.notna().to_numpy()
        used = ~present
        if field.kind in ("id", "party"):
            text = series.fillna("").astype(str)
            retired = present & text.str[:6].isin(retired_id_codes).to_numpy() & (text.str.len() == 18).to_numpy()
            record(np.flatnonzero(retired), field.name, "id_retired_division_code")
            used |= retired
        u = rng.random(n)
        intervals = [(p, rates[p]) for p in KIND_PROBLEMS[field.kind]]
        if field.required:
            intervals.append(("required_empty", rates["required_empty"]))
        col = delivered[field.name].to_numpy(dtype=object).copy()
        lo = 0.0
        for problem, rate in intervals:
            hi = lo + rate
            cand = np.flatnonzero(~used & (u >= lo) & (u < hi))
            lo = hi
            if len(cand) and problem != "required_empty":
                cand = cand[_eligible(problem, vals[cand], field)]
            if not len(cand):
                continue
            used[cand] = True
            record(cand, field.name, problem)
            if problem == "required_empty":
                col[cand] = None
            elif field.kind == "lon":
                _coords(delivered, truth, field, problem, cand, rng)
                col[cand] = delivered[field.name].to_numpy(dtype=object)[cand]
            else:
                col[cand] = _obj(_transform(problem, vals[cand], field, rng, day, utf8))
        delivered[field.name] = col
    problems = record.frame()
    dirty = np.zeros(n, dtype=bool)
    dirty[problems["row"].to_numpy(dtype=np.int64)] = True
    return Injected(delivered, problems, dirty)


def _coords(delivered: pd.DataFrame, truth: pd.DataFrame, field: Field, problem: str, idx: np.ndarray,
            rng: np.random.Generator) -> None:
    lon = delivered[field.name].to_numpy(dtype=object).copy()
    lat = delivered[field.pair].to_numpy(dtype=object).copy()
    if problem == "coord_swapped":
        lon[idx], lat[idx] = truth[field.pair].to_numpy(dtype=object)[idx], truth[field.name].to_numpy(dtype=object)[idx]
    else:
        pick = rng.integers(0, len(codes.OUTSIDE_POINTS), len(idx))
        pts = np.array(codes.OUTSIDE_POINTS)[pick]
        lon[idx] = [f"{x:.6f}" for x in pts[:, 0]]
        lat[idx] = [f"{y:.6f}" for y in pts[:, 1]]
    delivered[field.name] = lon
    delivered[field.pair] = lat


def _inject_list(delivered, field, rates, rng, day, utf8, retired_id_codes, record) -> None:
    """ID problems inside a list of ID numbers; the field is named ``name[i]`` (0-based element)."""
    lists = delivered[field.name].to_numpy(dtype=object)
    lengths = np.array([len(x) for x in lists], dtype=np.int64)
    flat = np.array([v for x in lists for v in x], dtype=object)
    owner = np.repeat(np.arange(len(lists)), lengths)
    pos = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    names = np.array([f"{field.name}[{i}]" for i in pos], dtype=object)
    used = np.zeros(len(flat), dtype=bool)
    retired = np.array([v[:6] in retired_id_codes for v in flat], dtype=bool)
    for i in np.flatnonzero(retired):
        record(np.array([owner[i]]), names[i], "id_retired_division_code")
    used |= retired
    new = flat.copy()
    u = rng.random(len(flat))
    lo = 0.0
    for problem in ID_PROBLEMS:
        hi = lo + rates[problem]
        cand = np.flatnonzero(~used & (u >= lo) & (u < hi))
        lo = hi
        if not len(cand):
            continue
        cand = cand[_eligible(problem, flat[cand], field)]
        if not len(cand):
            continue
        used[cand] = True
        for i in cand:
            record(np.array([owner[i]]), names[i], problem)
        new[cand] = _obj(_transform(problem, flat[cand], field, rng, day, utf8))
    out = np.empty(len(lists), dtype=object)
    start = 0
    for i, ln in enumerate(lengths):
        out[i] = list(new[start : start + ln])
        start += ln
    delivered[field.name] = out


def duplicate_positions(n: int, clean: np.ndarray, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Delivery order with exact duplicates of some problem-free rows inserted later in the file.

    Returns (order: indices into the truth rows, is_copy: whether that delivered row is the second copy)."""
    pick = np.flatnonzero(clean & (rng.random(n) < rate))
    keys = np.arange(n, dtype=np.float64)
    if len(pick):
        later = pick + 0.5 + np.floor(rng.random(len(pick)) * (n - pick)).astype(np.float64)
        keys = np.concatenate([keys, later])
    src = np.concatenate([np.arange(n), pick])
    is_copy = np.concatenate([np.zeros(n, dtype=bool), np.ones(len(pick), dtype=bool)])
    order = np.argsort(keys, kind="stable")
    return src[order], is_copy[order]


