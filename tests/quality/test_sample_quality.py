"""On the committed sample, every problem the generator injected (its manifest) is repaired or quarantined as
the rule says: the quarantine holds exactly the unrepairable rows, repaired values equal the generator's clean
truth, scenario inputs are answered rather than quarantined."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd

from jilin_pipelines.catalogue import catalogue

SCENARIO_INPUTS = {e.id for e in catalogue().entries if e.dataset.scenario_input}
FRONTDB = {e.id: e for e in catalogue().entries if e.dataset.format.kind == "frontdb"}

# Which repair the standardisation must count for each repairable problem of the generator.
REPAIR_OF = {
    "id_legacy_15": "legacy_15",
    "id_lowercase_x": "case",
    "id_fullwidth_digits": "full_width",
    "id_spaces_inside": "whitespace",
    "uscc_lowercase": "case",
    "date_slash": "date_format",
    "date_compact": "date_format",
    "date_chinese": "date_format",
    "date_excel_serial": "date_format",
    "plate_spaces": "whitespace",
    "plate_lowercase": "case",
    "name_outer_spaces": "whitespace",
    "name_fullwidth_space": "whitespace",
    "name_dot_variant": "middle_dot",
    "division_code_retired": "division_successor",
}


def quarantine_keys(sample_outcomes) -> set[tuple[str, str, str]]:
    keys = set()
    for outcome in (o for _, o in sample_outcomes.values()):
        q = outcome.quarantine
        keys |= set(zip(q["dataset"], q["partition"], q["source_row"], strict=True))
    return keys


def manifest_key(row, sample_outcomes) -> tuple[str, str, str]:
    """The quarantine's name for a manifest row: its row number, or for the front-end database its key."""
    if row.dataset not in FRONTDB:
        return (row.dataset, row.day, str(int(row.source_row)))
    entry = FRONTDB[row.dataset]
    raw = sample_outcomes[(row.dataset, row.day)][0].to_pandas()
    hit = raw[raw["_source_row"] == int(row.source_row)].iloc[0]
    return (row.dataset, row.day, "|".join("" if pd.isna(hit[entry.dataset.field(k).source]) else hit[entry.dataset.field(k).source] for k in entry.dataset.key))


def test_the_quarantine_holds_exactly_the_unrepairable_rows(sample_outcomes, manifest):
    unrepairable = manifest[~manifest["repairable"] & manifest["source_row"].notna()]
    blocked = unrepairable[~unrepairable["dataset"].isin(SCENARIO_INPUTS)]
    expected = {manifest_key(r, sample_outcomes) for r in blocked.itertuples()}
    got = {k for k in quarantine_keys(sample_outcomes) if k[0] not in SCENARIO_INPUTS}
    assert len(expected) > 100  # the sample carries every problem at a known rate
    assert got - expected == set(), "quarantined rows the generator did not break"
    assert expected - got == set(), "broken rows that were not quarantined"


def test_scenario_inputs_are_answered_not_quarantined(sample_outcomes, manifest):
    for (dataset, day), (raw, outcome) in sample_outcomes.items():
        if dataset in SCENARIO_INPUTS:
            assert set(outcome.quarantine["rule"]) <= {"row.parseable"}, (dataset, day)
    broken = manifest[~manifest["repairable"] & manifest["source_row"].notna() & manifest["dataset"].isin(SCENARIO_INPUTS)
                      & (manifest["problem"] != "row_truncated")]
    assert len(broken) > 10
    for row in broken.itertuples():
        table = sample_outcomes[(row.dataset, row.day)][1].table.to_pandas()
        hit = table[table["_source_row"] == int(row.source_row)]
        if hit.empty:  # superseded by a newer version of the same key in the same delivery
            continue
        warnings = json.loads(hit["_warnings"].iloc[0])
        assert warnings, (row.dataset, row.day, row.source_row, row.problem)


def _canonical(value) -> str | None:
    if value is None or (not isinstance(value, (list, str)) and pd.isna(value)):
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def source_field(entry, manifest_field: str):
    """The catalogue field a manifest row names (``householdIdNumbers[2]`` names an element of a list)."""
    return next(f for f in entry.dataset.fields if f.source == manifest_field.split("[", 1)[0])


def test_repaired_values_equal_the_clean_truth(sample_outcomes, manifest, clean):
    repairable = manifest[manifest["repairable"] & manifest["field"].notna() & manifest["problem"].isin(REPAIR_OF)]
    checked = 0
    for row in repairable.itertuples():
        entry = catalogue().entry(row.dataset)
        spec = source_field(entry, row.field)
        raw, outcome = sample_outcomes[(row.dataset, row.day)]
        table = outcome.table.to_pandas()
        hit = table[table["_source_row"] == int(row.source_row)]
        if hit.empty:  # superseded within the delivery, or quarantined for another field's problem
            continue
        truth = clean[row.dataset].loc[(row.day, int(row.source_row)), spec.source]
        got = hit[spec.name].iloc[0]
        if spec.type.value == "json_list":  # the manifest names one element: householdIdNumbers[2]
            i = int(row.field.split("[", 1)[1].rstrip("]"))
            assert json.loads(got)[i] == json.loads(truth)[i], (row.dataset, row.day, row.source_row, row.field)
        else:
            assert _canonical(got) == truth, (row.dataset, row.day, row.source_row, row.field, row.problem)
        checked += 1
    assert checked > 100


def test_repairs_are_counted(sample_outcomes, manifest):
    repairable = manifest[manifest["repairable"] & manifest["field"].notna() & manifest["problem"].isin(REPAIR_OF)]
    for (dataset, day), group in repairable.groupby(["dataset", "day"]):
        counted = sample_outcomes[(dataset, day)][1].stats["repairs"]
        entry = catalogue().entry(dataset)
        need: dict[str, int] = {}
        for row in group.itertuples():
            name = source_field(entry, row.field).name
            key = f"{name}.{REPAIR_OF[row.problem]}"
            need[key] = need.get(key, 0) + 1
        for key, n in need.items():
            assert counted.get(key, 0) >= n, (dataset, day, key, counted)


def test_exact_duplicates_are_dropped_and_counted(sample_outcomes, manifest):
    copies = manifest[manifest["problem"] == "duplicate_in_file"]
    assert len(copies) > 0
    for (dataset, day), group in copies.groupby(["dataset", "day"]):
        stats = sample_outcomes[(dataset, day)][1].stats
        assert stats["exact_duplicates"] == len(group), (dataset, day)


def test_every_delivered_row_is_accounted_for(sample_outcomes):
    for (dataset, day), (raw, outcome) in sample_outcomes.items():
        s = outcome.stats
        assert s["delivered_rows"] == raw.num_rows
        assert (s["standardised_rows"] + s["quarantined_rows"] + s["exact_duplicates"] + s["superseded_in_delivery"]
                == s["delivered_rows"]), (dataset, day, s)
        assert set(outcome.table.column("_partition").to_pylist()) <= {date.fromisoformat(day)}
