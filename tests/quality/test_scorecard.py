"""The scorecard rolls the day's results up per department and dimension: its completeness failures are
exactly the generator's empty required fields."""

from datetime import date

import pandas as pd

from jilin_pipelines.quality.report import render
from jilin_pipelines.quality.scorecard import scorecard, write_results


def test_scorecard_counts_the_injected_empty_fields(sample_outcomes, manifest, tmp_path):
    day = date(2025, 6, 2)
    ids = sorted({d for d, _ in sample_outcomes})
    for dataset_id in ids:
        raw, outcome = sample_outcomes[(dataset_id, day.isoformat())]
        write_results(tmp_path, dataset_id, day, outcome.stats, delivered=raw.num_rows > 0)
    card = scorecard(tmp_path, ids, day).set_index(["department", "dimension"])

    empty = manifest[(manifest["problem"] == "required_empty") & (manifest["day"] == day.isoformat())]
    expected = empty.assign(department=empty["dataset"].str.split(".").str[0]).groupby("department").size()
    assert expected.sum() > 0
    for department, n in expected.items():
        assert card.loc[(department, "completeness"), "rows_failed"] == n, department
    row = card.loc[("traffic_police", "normativity")]
    assert row["rows_passed"] + row["rows_failed"] == row["rows_checked"]
    assert 0 < row["pass_rate"] < 1
    page = render(card.reset_index(), card.reset_index().assign(day=pd.Timestamp(day)), day)
    assert "traffic_police" in page
    assert f"fairness_{day.isoformat()}.html" in page  # the day's fairness page


def test_providers_roll_up_the_levels_and_the_report_shows_them(tmp_path):
    """Village figures count in their county, city and province; a held provider's standardised rows count as held
    at every level above it; the report lists the province and the cities, and the held county first below them."""
    from jilin_pipelines.providers import parse_registry
    from jilin_pipelines.quality.scorecard import provider_rollup

    registry = parse_registry({"providers": [
        {"code": "220000", "division": "220000", "level": "province", "name": "吉林省"},
        {"code": "220100", "division": "220100", "level": "city", "name": "长春市", "parent": "220000"},
        {"code": "220102", "division": "220102", "level": "county", "name": "南关区", "parent": "220100",
         "datasets": ["traffic_police.violations"]},
        {"code": "220103", "division": "220103", "level": "county", "name": "宽城区", "parent": "220100",
         "datasets": ["traffic_police.violations"]},
        {"code": "220102001001", "division": "220102001001", "level": "village", "name": "村", "parent": "220102",
         "datasets": ["traffic_police.violations"]},
    ]}, tmp_path / "providers.yaml")
    day = date(2025, 6, 2)
    counts = {"220102": (10, 0, 2, 8, False), "220103": (20, 2, 12, 6, True), "220102001001": (5, 1, 0, 4, False)}
    stats = {"failed_rows_by_dimension": {}, "checked_rows": 35, "providers": {
        code: {"delivered_rows": d, "exact_duplicates": x, "quarantined_rows": q, "standardised_rows": s, "held": h}
        for code, (d, x, q, s, h) in counts.items()}}
    write_results(tmp_path, "traffic_police.violations", day, stats, delivered=True)
    rollup = provider_rollup(tmp_path, ["traffic_police.violations"], day, registry).set_index("code")
    assert list(rollup["level"]) == ["province", "city", "county", "county", "village"]
    assert rollup.loc["220000", ["rows_delivered", "rows_checked", "rows_quarantined"]].tolist() == [35, 32, 14]
    assert rollup.loc["220000", ["rows_standardised", "rows_held", "providers_held", "providers"]].tolist() == [12, 6, 1, 3]
    assert rollup.loc["220102", ["rows_delivered", "providers"]].tolist() == [15, 2]  # its village counts in it
    assert rollup.loc["220103", "pass_rate"] == round(1 - 12 / 18, 4)
    page = render(pd.DataFrame(columns=["department", "dimension", "datasets", "rows_checked", "rows_passed",
                                        "rows_failed", "pass_rate"]), pd.DataFrame(), day,
                  providers=rollup.reset_index())
    assert "By provider, rolled up by level" in page and page.index("宽城区") < page.index("南关区")
