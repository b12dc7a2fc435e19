"""Persons and legal entities of the sample world, generated column-wise."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from jilin_tools.sample import codes
from jilin_tools.sample.ids import make_ids, make_usccs
from jilin_tools.sample.util import concat_text, d64, pick, yyyymmdd

PERSON_COLUMNS = ("id", "name", "sex", "birth", "id_code", "home_div", "retired_code", "group")


def person_names(rng: np.random.Generator, n: int, dot_share: float = 0.03) -> np.ndarray:
    """Han names (surname + 1 or 2 given characters) and a share of transliterated names with '·'."""
    surnames = np.array(list(codes.SURNAMES), dtype=object)
    weights = 1.0 / np.arange(1, len(surnames) + 1) ** 0.9
    given = np.array(list(codes.GIVEN_CHARS), dtype=object)
    sur = surnames[rng.choice(len(surnames), n, p=weights / weights.sum())]
    g1 = given[rng.integers(0, len(given), n)]
    g2 = np.where(rng.random(n) < 0.7, given[rng.integers(0, len(given), n)], "")
    names = concat_text(sur, g1, g2)
    dot = rng.random(n) < dot_share
    if dot.any():
        k = int(dot.sum())
        first = np.array(codes.DOT_FIRST, dtype=object)[rng.integers(0, len(codes.DOT_FIRST), k)]
        second = np.array(codes.DOT_SECOND, dtype=object)[rng.integers(0, len(codes.DOT_SECOND), k)]
        names[dot] = concat_text(first, "·", second)
    return names


def make_persons(
    rng: np.random.Generator,
    births: np.ndarray,
    group: str,
    retired_share: float,
    taken: set[str] | None = None,
) -> pd.DataFrame:
    """Persons born on ``births`` (datetime64[D]) with valid ID numbers.

    The address code of each ID is one in force in the birth year (as stdnum validates it); a share
    ``retired_share`` gets a code in force then but retired since (e.g. 220381 公主岭市 before 2020)."""
    n = len(births)
    births = np.asarray(births, dtype="datetime64[D]")
    years = pd.DatetimeIndex(births).year.to_numpy()
    sex = np.where(rng.random(n) < 0.5, 1, 2)
    id_code = np.empty(n, dtype=object)
    want_retired = rng.random(n) < retired_share
    r = rng.random(n)
    for year in np.unique(years):
        sel = np.flatnonzero(years == year)
        current, retired = codes.id_code_pools(int(year))
        use_retired = want_retired[sel] & bool(retired)
        pool_cur = np.array(current, dtype=object)
        id_code[sel] = pool_cur[(r[sel] * len(pool_cur)).astype(int) % len(pool_cur)]
        if retired:
            pool_ret = np.array(retired, dtype=object)
            rs = sel[use_retired]
            id_code[rs] = pool_ret[(r[rs] * len(pool_ret)).astype(int) % len(pool_ret)]
    birth_num = yyyymmdd(births)
    code_num = id_code.astype(np.int64)
    taken = set() if taken is None else taken
    seq = rng.integers(0, 500, n) * 2 + (sex == 1)
    ids = make_ids(code_num, birth_num, seq).astype(object)
    # redraw order codes until every number is unique (also against ``taken``)
    for _ in range(100):
        s = pd.Series(ids)
        dup = s.duplicated().to_numpy() | s.isin(taken).to_numpy()
        if not dup.any():
            break
        k = np.flatnonzero(dup)
        seq[k] = rng.integers(0, 500, len(k)) * 2 + (sex[k] == 1)
        ids[k] = make_ids(code_num[k], birth_num[k], seq[k]).astype(object)
    else:  # pragma: no cover - 1000 order codes per place and day are plenty
        raise RuntimeError("could not draw unique ID numbers")
    home_r = rng.random(n)
    home = np.array([codes.home_division(c, x) for c, x in zip(id_code, home_r, strict=True)], dtype=object)
    return pd.DataFrame(
        {
            "id": ids,
            "name": person_names(rng, n),
            "sex": sex.astype(str).astype(object),
            "birth": births,
            "id_code": id_code,
            "home_div": home,
            "retired_code": np.isin(id_code, list(codes.RETIRED_SUCCESSORS)),
            "group": group,
        }
    )


def births_for_ages(rng: np.random.Generator, start: date, age_lo: np.ndarray | float, age_hi: np.ndarray | float, n: int) -> np.ndarray:
    """Birth days of people aged between ``age_lo`` and ``age_hi`` years on ``start`` (never after it)."""
    age_days = (np.asarray(age_lo) + rng.random(n) * (np.asarray(age_hi) - np.asarray(age_lo))) * 365.25
    births = d64(start) - np.maximum(age_days.astype(np.int64), 1).astype("timedelta64[D]")
    return births


# --- legal entities --------------------------------------------------------------------------------

ENTITY_KINDS = ("organ", "institution", "enterprise", "transport", "construction", "developer", "individual_business", "other")
KIND_SHARE = (0.06, 0.12, 0.28, 0.15, 0.09, 0.07, 0.15, 0.08)
KIND_AAB019 = {
    "organ": "10", "institution": "30", "enterprise": "50", "transport": "50", "construction": "50",
    "developer": "50", "individual_business": "70", "other": "90",
}
KIND_PREFIX = {
    "organ": ("11",), "institution": ("12",), "enterprise": ("91",), "transport": ("91",), "construction": ("91",),
    "developer": ("91",), "individual_business": ("92",), "other": ("51", "52", "53", "93"),
}


def make_entities(rng: np.random.Generator, n: int, first_serial: int = 0) -> pd.DataFrame:
    """Legal entities with valid USCCs; every kind (and so every AAB019 type) occurs at least once."""
    kinds = np.array(ENTITY_KINDS, dtype=object)
    kind = kinds[rng.choice(len(kinds), n, p=np.array(KIND_SHARE) / sum(KIND_SHARE))]
    kind[: min(n, len(kinds))] = kinds[: min(n, len(kinds))]
    counties = np.array(codes.current_counties(), dtype=object)
    division = counties[rng.integers(0, len(counties), n)]
    prefix = np.array([KIND_PREFIX[k][i % len(KIND_PREFIX[k])] for k, i in zip(kind, rng.integers(0, 4, n), strict=True)],
                      dtype=object)
    uscc = make_usccs(prefix.astype("U2"), division.astype("U6"), rng).astype(object)
    # a USCC is unique: redraw clashes
    for _ in range(50):
        dup = pd.Series(uscc).duplicated().to_numpy()
        if not dup.any():
            break
        k = np.flatnonzero(dup)
        uscc[k] = make_usccs(prefix[k].astype("U2"), division[k].astype("U6"), rng).astype(object)
    seat = np.array([codes.PREFECTURES[d[:4]][1] for d in division], dtype=object)
    county = np.array([codes.county_name(d) for d in division], dtype=object)
    place = np.where(np.array([c.endswith("区") for c in county]), seat + county, county)
    brand = pick(rng, codes.ENTITY_BRANDS, n)
    suffix = pick(rng, codes.COMPANY_SUFFIXES, n, p=[0.7, 0.2, 0.1])
    owner_names = np.full(n, "", dtype=object)
    ib = kind == "individual_business"
    if ib.any():
        owner_names[ib] = person_names(rng, int(ib.sum()), dot_share=0.0)
    name = np.select(
        [kind == "organ", kind == "institution", kind == "enterprise", kind == "transport", kind == "construction",
         kind == "developer", kind == "individual_business"],
        [
            place + pick(rng, codes.ORGAN_NAMES, n),
            place + pick(rng, codes.INSTITUTION_NAMES, n),
            "吉林省" + brand + pick(rng, codes.ENTERPRISE_TRADES, n) + suffix,
            seat + brand + pick(rng, codes.TRANSPORT_TRADES, n) + suffix,
            "吉林" + brand + pick(rng, codes.CONSTRUCTION_TRADES, n) + suffix,
            seat + brand + pick(rng, codes.DEVELOPER_TRADES, n) + suffix,
            county + owner_names + pick(rng, codes.SHOP_KINDS, n),
        ],
        default=seat + pick(rng, codes.OTHER_ORG_NAMES, n),
    ).astype(object)
    serial = np.arange(first_serial, first_serial + n)
    aab001 = concat_text(np.array([d[:4] for d in division], dtype=object), np.char.zfill(serial.astype("U6"), 6).astype(object))
    return pd.DataFrame(
        {
            "uscc": uscc,
            "name": name,
            "kind": kind,
            "aab019": np.array([KIND_AAB019[k] for k in kind], dtype=object),
            "division": division,
            "aab001": aab001,
        }
    )
