"""The day's fairness page: a section per scenario, written by its own audit, the page made of every section so
far; the chart is inline SVG (nothing fetched), its colours say flagged, under the threshold, untested."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd

from jilin_pipelines.fairness.report import FLAGGED, UNDER, UNTESTED, write_report
from jilin_pipelines.fairness.stats import COLUMNS

DAY = date(2025, 6, 11)


def _rows(scenario: str, groups: list[tuple]) -> pd.DataFrame:
    rows = [{"window": "30d", "dimension": "province", "group": "all", "n": 500, "adverse": 100, "adverse_rate": 0.2,
             "ratio": None, "p_value": None, "flagged": False, "missing_data_rate": 0.1, "coverage_explains": None,
             "coverage": "{}", "drivers": "[]"}]
    for group, n, ratio, p, flagged in groups:
        rows.append({"window": "30d", "dimension": "county", "group": group, "n": n, "adverse": n // 2,
                     "adverse_rate": 0.5, "ratio": ratio, "p_value": p, "flagged": flagged, "missing_data_rate": 0.4,
                     "coverage_explains": True if flagged else None,
                     "coverage": json.dumps({"insured_person": {"group": 0.0, "rest": 0.6}}),
                     "drivers": json.dumps([{"reason": "identity_unverified", "group": 0.7, "rest": 0.3}])})
    return pd.DataFrame(rows, columns=list(COLUMNS)).assign(scenario=scenario)


def test_the_page_holds_every_scenario_written_and_says_what_is_flagged(tmp_path):
    write_report("a_scenario", _rows("a_scenario", [("222426 安图县", 93, 0.35, 0.004, True), ("220102 南关区", 40, 0.7, 0.3, False),
                                      ("unknown", 12, 0.1, None, False)]), DAY, tmp_path, "A 甲", 0.8)
    page = write_report("b_scenario", _rows("b_scenario", [("220102 南关区", 40, 1.1, 0.9, False)]), DAY, tmp_path, "B 乙", 0.8)
    text = page.read_text("utf-8")
    assert page.name == "fairness_2025-06-11.html"
    assert text.index("A 甲") < text.index("B 乙")  # both sections, in scenario order
    assert "county 222426 安图县 (30d): n 93" in text and "insured_person holds 0% of the group vs 60% of the rest" in text
    assert "No group flagged." in text  # the second scenario's
    assert text.count("<svg") == 2  # inline: nothing to fetch
    assert not any(tag in text for tag in ("<script", "<link", " src=", "<img"))
    # the colours: the flagged county red, the one under the threshold orange, the untested unknown grey
    for colour in (FLAGGED, UNDER, UNTESTED):
        assert colour.lower() in text.lower(), colour
    # written again (a re-run of the first audit): still two sections, the page replaced whole
    write_report("a_scenario", _rows("a_scenario", []), DAY, tmp_path, "A 甲", 0.8)
    again = page.read_text("utf-8")
    assert again.count("<svg") == 2 and "222426" not in again
    assert not list(tmp_path.rglob("*.tmp"))
    # a scenario without a decision in the window (nothing delivered yet): a section that says so, no chart
    page = write_report("c_scenario", pd.DataFrame(columns=list(COLUMNS)), DAY, tmp_path, "C 丙", 0.8)
    assert "C 丙</h2>\n<p>no decisions</p>" in page.read_text("utf-8") and page.read_text("utf-8").count("<svg") == 2
