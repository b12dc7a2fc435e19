"""The survivorship query (``base/survivorship.py``, SQL generated from tables.yaml and run by DuckDB) decides as the
written rule does, read row by row: for random delivered versions of ``person`` — three delivering departments and
a reference-only one, a few keys, days, update times (some missing), values (some missing) — every golden version,
its validity and each attribute's winning delivered row equal those of a naive loop over keys and days written
here from the rule's words (``golden.py``'s docstring), sharing no code with the query."""

from __future__ import annotations

import functools
import json

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jilin_pipelines.base.config import base_config
from jilin_pipelines.base.golden import canonical, compute_golden, version_columns, version_types

SPEC = base_config().table("person")
ATTRS = list(SPEC.attributes)
KEYS = ["220102199001011239", "220102198502023452", "220104197703154411"]
SOURCES = [  # (dataset, role, reference)
    ("traffic_police.driving_licences", "", False),
    ("social_security.insured_persons", "", False),
    ("transport.practitioner_qualifications", "", False),
    ("traffic_police.violations", "driver", True),
]
DAYS = ["2025-06-02", "2025-06-03", "2025-06-04"]
UPDATES = [None, "2025-06-01 08:00:00.000000", "2025-06-02 08:00:00.000000", "2025-06-03 08:00:00.000000"]
VALUES = {"name": [None, "张三", "张三丰"], "sex": [None, "1", "2"], "birth_date": [None, "1990-01-01", "1991-02-03"],
          "division_code": [None, "220102", "220104"]}


@st.composite
def delivered(draw) -> list[dict]:
    """Delivered versions, at most one per (key, source, day), as the version table holds them."""
    rows, seen = [], set()
    for _ in range(draw(st.integers(1, 14))):
        key, source, day = draw(st.sampled_from(KEYS)), draw(st.sampled_from(SOURCES)), draw(st.sampled_from(DAYS))
        if (key, source, day) in seen:
            continue
        seen.add((key, source, day))
        dataset, role, reference = source
        row = {"id_number": key, **{a: draw(st.sampled_from(VALUES[a])) for a in ATTRS}}
        rows.append({**row, "_dataset": dataset, "_role": role, "_partition": day,
                     "_source_row": draw(st.integers(0, 3)), "_updated_at": draw(st.sampled_from(UPDATES)),
                     "_reference": reference, "_delivery": 1000 * DAYS.index(day) + SOURCES.index(source)})
    return rows


def _newer(a: dict, b: dict) -> bool:
    """Recency: update time (none oldest), then partition, then source row."""
    return ((a["_updated_at"] is not None, a["_updated_at"] or "", a["_partition"], a["_source_row"])
            > (b["_updated_at"] is not None, b["_updated_at"] or "", b["_partition"], b["_source_row"]))


def _wins(priority: tuple[str, ...], a: dict, b: dict) -> int:
    """-1 when ``a`` wins over ``b`` for an attribute: a delivering source before a reference, the dataset's place in
    the priority list (unlisted after listed), newer (update time, partition), then dataset, role, higher row."""
    def rank(r):
        return priority.index(r["_dataset"]) if r["_dataset"] in priority else len(priority)
    for x, y in ((a["_reference"], b["_reference"]), (rank(a), rank(b))):
        if x != y:
            return -1 if x < y else 1
    for x, y in (((a["_updated_at"] is not None, a["_updated_at"] or ""), (b["_updated_at"] is not None,
                                                                          b["_updated_at"] or "")),
                 (a["_partition"], b["_partition"])):
        if x != y:
            return -1 if x > y else 1
    for x, y in ((a["_dataset"], b["_dataset"]), (a["_role"], b["_role"])):
        if x != y:
            return -1 if x < y else 1
    return -1 if a["_source_row"] > b["_source_row"] else 1


def by_hand(rows: list[dict]) -> list[dict]:
    """Every golden version of every key, key by key and day by day."""
    out = []
    for key in sorted({r["id_number"] for r in rows}):
        mine = [r for r in rows if r["id_number"] == key]
        previous = None
        for day in sorted({r["_partition"] for r in mine}):
            newest: dict[tuple, dict] = {}
            for r in mine:
                source = (r["_dataset"], r["_role"])
                if r["_partition"] <= day and (source not in newest or _newer(r, newest[source])):
                    newest[source] = r
            state = {"placeholder": all(r["_reference"] for r in newest.values())}
            for a in ATTRS:
                present = [r for r in newest.values() if r[a] is not None]
                order = functools.partial(_wins, SPEC.priority_of(a))
                winner = sorted(present, key=functools.cmp_to_key(order))[0] if present else None
                state[a] = None if winner is None else winner[a]
                state["from " + a] = None if winner is None else (winner["_dataset"], winner["_role"])
                state["row " + a] = None if winner is None else (winner["_delivery"], winner["_role"],
                                                                 winner["_source_row"])
            meaning = {k: v for k, v in state.items() if not k.startswith("row ")}
            if previous is None or meaning != previous:
                if out and out[-1]["id_number"] == key:
                    out[-1]["_valid_to"] = day
                out.append({"id_number": key, "_valid_from": day, "_valid_to": None, **state})
            previous = meaning
    return out


def by_query(rows: list[dict]) -> list[dict]:
    frame = canonical(pd.DataFrame(rows, columns=version_columns(SPEC)), version_types(SPEC))
    golden = compute_golden(SPEC, frame).sort_values(["id_number", "_valid_from"])
    out = []
    for g in golden.to_dict("records"):
        p = json.loads(g["provenance"])
        version = {"id_number": g["id_number"], "_valid_from": g["_valid_from"], "_valid_to": g["_valid_to"],
                   "placeholder": bool(g["placeholder"])}
        for a in ATTRS:
            k = p["attributes"][a]
            src = None if k is None else p["sources"][k]
            version[a] = g[a]
            version["row " + a] = None if src is None else (src["delivery"], src["role"], src["source_row"])
        out.append(version)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=delivered())
def test_the_query_decides_as_the_rule_reads(rows):
    expected = [{k: v for k, v in g.items() if not k.startswith("from ")} for g in by_hand(rows)]
    assert by_query(rows) == expected


def test_a_value_won_from_another_source_starts_a_version_by_hand_too():
    """The naive reading is itself pinned by one hand case: the same name, won first from the licence office and
    then (its version gone quiet, a newer insured-person record) still from the licence office — no new version —
    until the insured-persons office alone has a name."""
    base = {"sex": None, "birth_date": None, "division_code": None, "_role": "", "_source_row": 0,
            "_updated_at": None, "_reference": False}
    rows = [
        {**base, "id_number": KEYS[0], "name": "张三", "_dataset": SOURCES[0][0], "_partition": DAYS[0], "_delivery": 1},
        {**base, "id_number": KEYS[0], "name": "张三", "_dataset": SOURCES[1][0], "_partition": DAYS[1], "_delivery": 2},
        {**base, "id_number": KEYS[0], "name": None, "_dataset": SOURCES[0][0], "_partition": DAYS[2], "_delivery": 3},
    ]
    hand = by_hand(rows)
    assert [(g["_valid_from"], g["_valid_to"], g["name"], g["row name"]) for g in hand] == [
        ("2025-06-02", "2025-06-04", "张三", (1, "", 0)),
        ("2025-06-04", None, "张三", (2, "", 0)),
    ]
    assert by_query(rows) == [{k: v for k, v in g.items() if not k.startswith("from ")} for g in hand]
