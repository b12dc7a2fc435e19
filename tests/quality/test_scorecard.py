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
