"""The manifest says what is wrong where, and it is right: every listed defect is really in the delivered
value, every repairable one repairs (by the tests' own means) to the clean ground truth, and every value the
manifest does not list equals the clean truth and is valid."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest
from sample_spec import (
    AMOUNT_MAX,
    CODES,
    COORD_FIELDS,
    DATE_FIELDS,
    DIVISION_FIELDS,
    EVENT_TIME_FIELDS,
    FILE_PROBLEMS,
    ID_FIELDS,
    JILIN_BBOX,
    NAME_FIELDS,
    PARTY_FIELDS,
    PATTERNS,
    PLATE_FIELDS,
    RECENTLY_RETIRED,
    REPAIRABLE,
    SPEC,
    UNREPAIRABLE,
    UPDATE_TIME_FIELDS,
    USCC_FIELDS,
    VALIDITY_END_FIELDS,
    as_text,
    jilin_codes,
)
from stdnum.cn import ric, uscc

CODES_IN_FORCE = {c for c, current in jilin_codes().items() if current}
ALL_CODES = set(jilin_codes())
PLATE = re.compile(r"吉[A-HJ-NP-Z]([0-9A-HJ-NP-Z]{5}|[DF][0-9]{5}|[0-9]{5}[DF])")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def _date(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None


def _valid_id(v) -> bool:
    return isinstance(v, str) and re.fullmatch(r"\d{17}[\dX]", v) is not None and ric.is_valid(v)


def _valid_uscc(v) -> bool:
    return isinstance(v, str) and re.fullmatch(r"[0-9A-Z]{18}", v) is not None and uscc.is_valid(v)


def _id_birth(v: str) -> date | None:
    try:
        return date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return None


def _legacy_to_18(v: str) -> str:
    body = v[:6] + "19" + v[6:]
    return body + ric.calc_check_digit(body + "0")


def _parse_any_date(v) -> date | None:
    """The tests' own reading of the date formats of SPEC §7."""
    if isinstance(v, int) or (isinstance(v, str) and re.fullmatch(r"\d{5}", v)):
        return date(1899, 12, 30) + timedelta(days=int(v))
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    return None


def _value(sample, rec):
    rows = sample.rows[(rec["dataset"], rec["day"])]
    row = rows[rec["source_row"] - 1]
    field = rec["field"]
    m = re.fullmatch(r"(\w+)\[(\d+)\]", field)
    if m:
        return row, row[m.group(1)][int(m.group(2))]
    return row, row.get(field)


def _clean_row(sample, rec) -> dict:
    clean = sample.clean[rec["dataset"]]
    hit = clean[(clean["day"] == rec["day"]) & (clean["source_row"] == rec["source_row"])]
    assert len(hit) == 1, rec
    return hit.iloc[0].to_dict()


def _is_code_outside(dataset: str, field: str, v) -> bool:
    if (dataset, field) in DIVISION_FIELDS:
        return v not in ALL_CODES
    if (dataset, field) in CODES:
        return v not in CODES[(dataset, field)]
    return re.fullmatch(PATTERNS[(dataset, field)], v) is None


def _defect_present(problem: str, v, dataset: str, field: str, row: dict, day: date) -> bool:  # noqa: C901, PLR0911
    f = field.split("[")[0]
    if problem == "required_empty":
        return v is None or v == ""
    if v is None:
        return False
    s = str(v)
    if problem == "id_wrong_check_digit":
        return re.fullmatch(r"\d{17}[\dX]", s) is not None and ric.calc_check_digit(s) != s[-1]
    if problem == "id_legacy_15":
        return re.fullmatch(r"\d{15}", s) is not None and ric.is_valid(_legacy_to_18(s))
    if problem == "id_lowercase_x":
        return re.fullmatch(r"\d{17}x", s) is not None and ric.is_valid(s.upper())
    if problem == "id_fullwidth_digits":
        return any("０" <= c <= "９" for c in s) and _valid_id(unicodedata.normalize("NFKC", s))
    if problem == "id_spaces_inside":
        return " " in s.strip() and _valid_id(s.replace(" ", ""))
    if problem == "id_retired_division_code":
        return _valid_id(s) and s[:6] not in CODES_IN_FORCE
    if problem in ("id_birth_date_nonexistent", "id_birth_date_future"):
        if not (re.fullmatch(r"\d{17}[\dX]", s) and ric.calc_check_digit(s) == s[-1]):
            return False
        birth = _id_birth(s)
        return birth is None if problem == "id_birth_date_nonexistent" else (birth is not None and birth > day)
    if problem == "uscc_wrong_check_char":
        return re.fullmatch(r"[0-9A-HJ-NP-RTUWXY]{18}", s) is not None and uscc.calc_check_digit(s) != s[-1]
    if problem == "uscc_forbidden_letter":
        return len(s) == 18 and any(c in "IOZSV" for c in s[8:17])
    if problem == "uscc_lowercase":
        return s != s.upper() and _valid_uscc(s.upper())
    if problem == "date_slash":
        return re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", s) is not None and _parse_any_date(s) is not None
    if problem == "date_compact":
        return re.fullmatch(r"\d{8}", s) is not None and _parse_any_date(s) is not None
    if problem == "date_chinese":
        return re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", s) is not None and _parse_any_date(s) is not None
    if problem == "date_excel_serial":
        ok_type = isinstance(v, int) if SPEC[dataset].fmt == "xlsx" else re.fullmatch(r"\d{5}", s) is not None
        return ok_type and 20000 < int(v) < 60000
    if problem == "date_nonexistent":
        if isinstance(v, int) or re.fullmatch(r"\d{8}", s):
            s = f"{s[:4]}-{s[4:6]}-{s[6:8]}"
        return ISO_DATE.fullmatch(s) is not None and _date(s) is None
    if problem == "date_future":
        if isinstance(v, int) or re.fullmatch(r"\d{8}", s):
            s = f"{s[:4]}-{s[4:6]}-{s[6:8]}"
        parsed = _date(s[:10])
        return parsed is not None and parsed > day
    if problem == "plate_spaces":
        return " " in s and PLATE.fullmatch(s.replace(" ", "")) is not None
    if problem == "plate_lowercase":
        return s != s.upper() and PLATE.fullmatch(s.upper()) is not None
    if problem == "plate_letter_io":
        return "I" in s[2:] or "O" in s[2:]
    if problem == "coord_swapped":
        lon, lat = float(s), float(row[COORD_FIELDS[(dataset, f)]])
        return 40 < lon < 47 and 121 < lat < 132
    if problem == "coord_outside_jilin":
        lon, lat = float(s), float(row[COORD_FIELDS[(dataset, f)]])
        return not (JILIN_BBOX[0] <= lon <= JILIN_BBOX[2] and JILIN_BBOX[1] <= lat <= JILIN_BBOX[3])
    if problem == "name_outer_spaces":
        return s != s.strip(" ") and "\u3000" not in s
    if problem == "name_fullwidth_space":
        return s.startswith("\u3000") or s.endswith("\u3000")
    if problem == "name_dot_variant":
        return ("." in s or "•" in s) and "·" not in s
    if problem == "division_code_retired":
        return s in RECENTLY_RETIRED
    if problem == "code_out_of_list":
        return _is_code_outside(dataset, f, s)
    if problem == "amount_negative":
        return float(s) < 0
    if problem == "amount_absurd":
        return float(s) > 200 * AMOUNT_MAX[(dataset, f)]
    raise AssertionError(problem)


def _repair(problem: str, v, dataset: str) -> str:
    """The tests' own repair of a repairable value problem."""
    s = str(v)
    if problem == "id_legacy_15":
        return _legacy_to_18(s)
    if problem in ("id_lowercase_x", "uscc_lowercase", "plate_lowercase"):
        return s.upper()
    if problem == "id_fullwidth_digits":
        return unicodedata.normalize("NFKC", s)
    if problem in ("id_spaces_inside", "plate_spaces"):
        return s.replace(" ", "")
    if problem == "id_retired_division_code":
        return s
    if problem in ("date_slash", "date_compact", "date_chinese", "date_excel_serial"):
        return _parse_any_date(v).isoformat()
    if problem in ("name_outer_spaces", "name_fullwidth_space"):
        return s.strip(" \u3000")
    if problem == "name_dot_variant":
        return s.replace(".", "·").replace("•", "·")
    if problem == "division_code_retired":
        return RECENTLY_RETIRED[s]
    raise AssertionError(problem)


# ------------------------------------------------------------------------------------------------ tests


def test_vocabulary_and_classification(sample):
    from jilin_tools.sample import PROBLEMS

    assert set(PROBLEMS) == REPAIRABLE | UNREPAIRABLE
    for name, problem in PROBLEMS.items():
        assert problem.repairable == (name in REPAIRABLE), name
    man = sample.manifest
    assert set(man.columns) == {"dataset", "day", "source_row", "field", "problem", "repairable"}
    assert set(man["problem"]) <= set(PROBLEMS)
    assert (man["repairable"] == man["problem"].isin(REPAIRABLE)).all()


def test_every_problem_occurs(sample):
    counts = sample.manifest["problem"].value_counts()
    for name in sorted(REPAIRABLE | UNREPAIRABLE):
        if name in FILE_PROBLEMS or name == "row_truncated":
            assert counts.get(name, 0) == 1, name
        else:
            assert counts.get(name, 0) >= 3, (name, counts.get(name, 0))
    assert sample.summary.problems == counts.sort_index().to_dict()


def test_file_level_problems(sample):
    man = sample.manifest
    files = man[man["problem"].isin(FILE_PROBLEMS)]
    assert files["source_row"].isna().all() and files["field"].isna().all()
    where = {r.problem: (r.dataset, r.day) for r in files.itertuples()}
    # header only: the header line and nothing else
    ds = SPEC[where["file_header_only"][0]]
    raw = ds.path(sample.root, date.fromisoformat(where["file_header_only"][1])).read_bytes()
    text = raw.decode("utf-8-sig" if ds.fmt == "csv-utf8bom" else "gbk")
    assert text.splitlines() == [",".join(ds.columns)]
    # truncated: ends in the middle of a row, which the manifest names
    ds = SPEC[where["file_truncated"][0]]
    day = where["file_truncated"][1]
    raw = ds.path(sample.root, date.fromisoformat(day)).read_bytes()
    assert not raw.endswith(b"\n")
    last = raw.decode("gbk").split("\r\n")[-1]
    assert 0 < len(last.split(",")) <= len(ds.columns)
    rows = sample.rows[(ds.name, day)]
    cut = man[(man["problem"] == "row_truncated")].iloc[0]
    assert (cut["dataset"], cut["day"], cut["source_row"]) == (ds.name, day, len(rows))
    clean_last = sample.clean[ds.name].query("day == @day").sort_values("source_row").iloc[-1]
    present = [c for c in ds.columns if c in rows[-1]]
    assert len(present) < len(ds.columns) or any(as_text(ds, c, rows[-1][c]) != clean_last[c] for c in present)
    # wrong encoding: UTF-8, which GBK does not read as the same text
    ds = SPEC[where["file_wrong_encoding"][0]]
    raw = ds.path(sample.root, date.fromisoformat(where["file_wrong_encoding"][1])).read_bytes()
    text = raw.decode("utf-8")
    assert text.startswith(",".join(ds.columns))
    try:
        assert raw.decode("gbk") != text
    except UnicodeDecodeError:
        pass
    # missing: no file at all
    ds = SPEC[where["file_missing"][0]]
    assert not ds.path(sample.root, date.fromisoformat(where["file_missing"][1])).exists()
    assert sample.rows[(ds.name, where["file_missing"][1])] is None


def test_every_listed_defect_is_in_the_delivered_value(sample):
    man = sample.manifest
    value_rows = man[man["field"].notna()]
    failures = []
    for rec in value_rows.to_dict("records"):
        row, v = _value(sample, rec)
        if not _defect_present(rec["problem"], v, rec["dataset"], rec["field"], row, date.fromisoformat(rec["day"])):
            failures.append((rec, v))
    assert not failures, failures[:10]
    assert len(value_rows) > 1000


def test_repairable_values_repair_to_the_clean_truth(sample):
    man = sample.manifest
    recs = man[man["field"].notna() & man["repairable"]].to_dict("records")
    failures = []
    for rec in recs:
        _, v = _value(sample, rec)
        clean = _clean_row(sample, rec)
        field = rec["field"]
        m = re.fullmatch(r"(\w+)\[(\d+)\]", field)
        want = json.loads(clean[m.group(1)])[int(m.group(2))] if m else clean[field]
        if rec["dataset"] == "social_security.insured_persons" and field == "AAC006":
            want = want.replace("-", "")
        if _repair(rec["problem"], v, rec["dataset"]) != want:
            failures.append((rec, v, want))
    assert not failures, failures[:10]


def test_row_level_problems(sample):
    man = sample.manifest
    for rec in man[man["problem"] == "duplicate_in_file"].to_dict("records"):
        rows = sample.rows[(rec["dataset"], rec["day"])]
        assert rows[rec["source_row"] - 1] in rows[: rec["source_row"] - 1], rec
    # a re-delivery repeats a version delivered on an earlier day, but for the update time
    redelivered = man[man["problem"] == "redelivery"]
    assert redelivered["dataset"].nunique() >= 10
    for rec in redelivered.to_dict("records"):
        ds = SPEC[rec["dataset"]]
        clean = sample.clean[rec["dataset"]]
        row = _clean_row(sample, rec)
        same = [c for c in ds.columns if (ds.name, c) not in UPDATE_TIME_FIELDS]
        earlier = clean[clean["day"] < rec["day"]]
        match = earlier[(earlier[same] == [row[c] for c in same]).all(axis=1) | _nulls_equal(earlier, row, same)]
        assert len(match), rec
        upd = [c for c in ds.columns if (ds.name, c) in UPDATE_TIME_FIELDS]
        if upd:
            assert row[upd[0]][:10] <= rec["day"] and (match[upd[0]] < row[upd[0]]).all(), rec


def _nulls_equal(frame, row, cols):
    ok = None
    for c in cols:
        col = frame[c].isna() if row[c] is None else (frame[c] == row[c])
        ok = col if ok is None else ok & col
    return ok


def _check_clean_value(dataset: str, field: str, v: str | None, day: date, row: dict) -> str | None:  # noqa: C901, PLR0911, PLR0912
    """Why a problem-free value is not valid (None when it is)."""
    key = (dataset, field)
    if v is None:
        return None if key not in {("traffic_police.motor_vehicles", "号牌号码"), ("jishiban.verification_requests", "requestId")} else "empty"
    if key in ID_FIELDS and not _valid_id(v):
        return "invalid ID"
    if key in PARTY_FIELDS and not (_valid_id(v) if v[:2] == "22" else _valid_uscc(v)):
        return "invalid party ID"
    if key in USCC_FIELDS and not _valid_uscc(v):
        return "invalid USCC"
    if key in NAME_FIELDS and (v != v.strip() or "\u3000" in v or "." in v or "•" in v):
        return "name not canonical"
    if key in DIVISION_FIELDS and v not in CODES_IN_FORCE:
        return "division code not in force"
    if key in PLATE_FIELDS and not PLATE.fullmatch(v):
        return "plate"
    if key in CODES and v not in CODES[key]:
        return "code"
    if key in PATTERNS and not re.fullmatch(PATTERNS[key], v):
        return "code pattern"
    if key in DATE_FIELDS or key in VALIDITY_END_FIELDS or key == ("social_security.insured_persons", "AAC006"):
        parsed = _date(v)
        if parsed is None or not ISO_DATE.fullmatch(v):
            return "date"
        if key not in VALIDITY_END_FIELDS and parsed > day:
            return "date in the future"
    if key in EVENT_TIME_FIELDS | UPDATE_TIME_FIELDS:
        if not ISO_TIME.fullmatch(v) or _date(v[:10]) is None:
            return "time"
        if _date(v[:10]) > day:
            return "time in the future"
        if key in UPDATE_TIME_FIELDS and dataset.startswith("social_security.") and dataset != "social_security.assistance_applications" \
                and v[:10] != day.isoformat():
            return "handling time not on the day"
    if key in COORD_FIELDS:
        lon, lat = float(v), float(row[COORD_FIELDS[key]])
        if not (JILIN_BBOX[0] <= lon <= JILIN_BBOX[2] and JILIN_BBOX[1] <= lat <= JILIN_BBOX[3]):
            return "coordinates"
    if key in AMOUNT_MAX and not 0 <= float(v) <= AMOUNT_MAX[key]:
        return "amount"
    return None


def test_values_not_in_the_manifest_equal_the_clean_truth_and_are_valid(sample):
    man = sample.manifest
    listed = defaultdict(set)
    whole_row = set()
    for rec in man[man["source_row"].notna()].to_dict("records"):
        k = (rec["dataset"], rec["day"], int(rec["source_row"]))
        if rec["field"] is None:
            if rec["problem"] == "row_truncated":
                whole_row.add(k)
        else:
            listed[k].add(rec["field"].split("[")[0])
    failures = []
    checked = 0
    for (name, day), rows in sample.rows.items():
        if rows is None:
            continue
        ds = SPEC[name]
        clean = sample.clean[name]
        clean_day = clean[clean["day"] == day].sort_values("source_row")
        assert clean_day["source_row"].tolist() == list(range(1, len(rows) + 1)), (name, day)
        for i, (row, truth) in enumerate(zip(rows, clean_day.to_dict("records"), strict=True), start=1):
            if (name, day, i) in whole_row:
                continue
            bad_fields = listed.get((name, day, i), set())
            for col in ds.columns:
                if col in bad_fields or (col in {"Latitude", "latitude"} and {"Longitude", "longitude"} & bad_fields):
                    continue
                checked += 1
                got = as_text(ds, col, row[col])
                if got != truth[col]:
                    failures.append((name, day, i, col, got, truth[col]))
                    continue
                why = _check_clean_value(name, col, got, date.fromisoformat(day), row)
                if why:
                    failures.append((name, day, i, col, got, why))
    assert not failures, failures[:10]
    assert checked > 50_000


@pytest.mark.parametrize("name", sorted(SPEC))
def test_clean_rows_match_the_deliveries(sample, name):
    """One clean row per delivered row, with the source's column names plus day and source_row."""
    clean = sample.clean[name]
    assert list(clean.columns) == [*SPEC[name].columns, "day", "source_row"]
    for day in sample.days:
        rows = sample.rows[(name, day.isoformat())]
        assert (clean["day"] == day.isoformat()).sum() == (len(rows) if rows else 0)
    delivered = {k[1]: len(v) if v else 0 for k, v in sample.rows.items() if k[0] == name}
    assert sample.summary.rows[name] == delivered
