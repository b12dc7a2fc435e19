"""``jilin-pipelines bench`` at a small N: every figure is there, and the three paths loaded the same records
(every generated record, dataset by dataset), so the comparison is fair. Timings are printed, never asserted."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from jilin_tools.bench import Options, run_bench
from jilin_tools.bench.chart import TITLE
from jilin_pipelines.cli import parser

ROWS = 3000
STAGES = {"raw", "standardised", "quality", "base"}


def _check(result: dict, data_dir) -> None:
    written = json.loads((data_dir / "bench" / "latest.json").read_text(encoding="utf-8"))
    assert written == result
    for key in ("rows", "floor_seconds", "peer_seconds", "ours_seconds", "ours_stage_seconds", "peak_rss_bytes"):
        assert key in result, key
    assert ROWS * 0.7 <= result["rows"] <= ROWS * 1.3
    for key in ("floor_seconds", "peer_seconds", "ours_seconds"):
        assert result[key] > 0, key
    stages = result["ours_stage_seconds"]
    assert STAGES <= set(stages), stages
    assert all(v > 0 for k, v in stages.items() if k in STAGES), stages
    # the stages and the overhead account for the whole run
    assert sum(stages.values()) == pytest.approx(result["ours_seconds"], rel=0.01, abs=0.05)
    assert len(result["ours_run_seconds_per_day"]) == result["days"]
    assert result["dagster_overhead_seconds_per_day"] is not None
    assert result["ours_exit_code"] == 0 and result["ours_failed_steps"] == []
    assert result["peak_rss_bytes"] >= max(result["peak_rss_bytes_by_path"].values()) > 0
    assert set(result["rows_per_second"]["ours_by_stage"]) >= STAGES
    peaks = result["ours_stage_peak_rss_bytes"]  # sampled every 20 ms: the stages that ran long enough
    assert peaks and set(peaks) <= set(stages)
    assert all(result["rss_bytes_at_start_by_path"]["ours"] // 2 < v <= result["peak_rss_bytes"] for v in peaks.values())
    steps = result["ours_step_rss"]  # per step that ran long enough to be sampled, in the order they ran
    assert steps and all(0 < s["start_bytes"] <= result["peak_rss_bytes"] and 0 < s["peak_bytes"] <= result["peak_rss_bytes"]
                         for s in steps)
    assert "base_merge" in {s["step"] for s in steps}, steps
    assert result["ratios"]["ours_over_floor"] > 0 and result["ratios"]["ours_over_peer"] > 0
    assert set(result["targets"]) == {"ours_over_floor_at_most_2", "ours_at_least_2x_faster_than_peer",
                                      "dagster_overhead_per_day_under_30s", "ours_over_copy_floor_at_most_6",
                                      "ours_over_output_floor_at_most_2", "ours_no_slower_than_peer",
                                      "last_day_within_1_2x_of_second"}
    # the output floor read every delivery and wrote again what ours wrote: some of the lake and every base table
    o = result["output_floor"]
    assert result["output_floor_seconds"] == o["seconds"] > 0
    assert o["seconds"] == pytest.approx(o["read_seconds"] + o["lake_seconds"] + o["database_seconds"], abs=0.01)
    assert o["lake_files"] > 0 and o["lake_rows"] >= result["rows"] // 2
    assert {"person", "person_source_version", "legal_entity", "vehicle"} <= set(o["database_rows"])
    assert o["database_rows"]["person"] > 0
    assert result["day_seconds"] == result["ours_run_seconds_per_day"]
    growth = result["database_growth_by_day"]
    assert sum(growth["golden_versions"].values()) == sum(n for t, n in o["database_rows"].items()
                                                          if f"{t}_source_version" in o["database_rows"])

    loaded = result["records_loaded"]
    assert loaded["floor"] == loaded["peer"] == loaded["ours"] == result["rows"], loaded
    by_dataset = result["records_loaded_by_dataset"]
    generated = result["generated_rows_by_dataset"]
    assert len(generated) == 13
    for path in ("floor", "peer", "ours"):
        got = {ds: n for ds, n in by_dataset[path].items() if n}
        assert got == {ds: n for ds, n in generated.items() if n}, path
    # the peer's upsert keeps one row per key: fewer rows than it staged, none more
    for ds, n in result["peer_target_rows"].items():
        assert 0 < n <= by_dataset["peer"][ds], ds


def test_bench_sqlite(tmp_path):
    out = io.StringIO()
    result = run_bench(Options(rows=ROWS, db="sqlite", work=tmp_path / "work", data_dir=tmp_path / "data"), out)
    _check(result, tmp_path / "data")
    text = out.getvalue()
    assert "ours/floor" in text and "records loaded" in text
    assert not (tmp_path / "work").exists()  # the scratch directory is removed


@pytest.mark.postgres
def test_bench_postgresql(tmp_path, pg_url):
    result = run_bench(Options(rows=ROWS, db="postgresql", pg_url=pg_url, work=tmp_path / "work",
                               data_dir=tmp_path / "data"), io.StringIO())
    _check(result, tmp_path / "data")
    assert result["pg_schema"]
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:  # the bench's schema is dropped afterwards
        left = conn.execute(sa.text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"),
                            {"s": result["pg_schema"]}).scalar_one()
    engine.dispose()
    assert left == 0


def test_cli_parses_bench():
    args = parser().parse_args(["bench", "--rows", "1000", "--db", "postgresql"])
    assert (args.rows, args.db, args.days) == (1000, "postgresql", None)  # two days of about N records
    args = parser().parse_args(["bench", "--rows", "1000", "--days", "60"])
    assert (args.rows, args.days) == (1000, 60)  # a history: a state of about N records, then 59 increments
    with pytest.raises(SystemExit):
        parser().parse_args(["bench", "--rows", "1000", "--db", "oracle"])


def test_the_generator_writes_a_long_history_on_request(tmp_path):
    """``sample --state N``: about N records on the first day, then small daily increments of new, changed,
    event and re-delivered records."""
    from jilin_tools.sample import generate

    summary = generate(tmp_path / "src", days=5, state=20_000, daily_share=0.01).as_json()
    per_day: dict[str, int] = {}
    for days in summary["rows"].values():
        for day, n in days.items():
            per_day[day] = per_day.get(day, 0) + n
    first, *later = [per_day[d] for d in sorted(per_day)]
    assert 12_000 <= first <= 20_000
    assert all(0.01 * first <= n <= 0.08 * first for n in later), (first, later)


def test_bench_history_sqlite(tmp_path):
    """``bench --rows N --days D``: an initial state, then daily increments, each day timed; the database grows by
    far less on a later day than on the first."""
    out = io.StringIO()
    result = run_bench(Options(rows=ROWS, db="sqlite", days=3, history=True, work=tmp_path / "work",
                               data_dir=tmp_path / "data"), out)
    assert result["history"] is True and len(result["day_seconds"]) == 3 and all(s > 0 for s in result["day_seconds"])
    assert result["ratios"]["last_over_second_day"] == pytest.approx(result["day_seconds"][2] / result["day_seconds"][1],
                                                                     abs=0.001)
    golden = result["database_growth_by_day"]["golden_versions"]
    first, *later = [golden.get(d, 0) for d in ("2025-06-02", "2025-06-03", "2025-06-04")]
    assert all(0 < n < first / 5 for n in later), golden
    text = out.getvalue()
    assert "last day / second day" in text and "2025-06-04" in text
    chart = (tmp_path / "data" / "bench" / "history.svg").read_text(encoding="utf-8")
    assert chart.startswith("<svg") and TITLE in chart and "golden versions started" in chart


def test_the_providers_bench_runs_the_same_rows_both_ways(tmp_path):
    """``bench-providers`` at 4 providers: the one-provider and the many-provider runs merge the same violations
    (the comparison is fair), and the re-delivery by one provider lands only it and drops exactly its removed row."""
    import csv

    from jilin_tools.bench.providers import ENCODING, FILE, FOLDER, run_providers_bench

    out = io.StringIO()
    result = run_providers_bench(providers=4, rows_per_provider=30, work=tmp_path, out=out, warm_up=False)
    assert result["exit_codes"] == [0, 0, 0], out.getvalue()
    assert result["redelivery_relanded_providers"] == 1
    assert {"overhead_per_provider_ms", "one_provider_seconds", "many_providers_seconds"} <= set(result)
    assert "overhead per provider:" in out.getvalue()

    def violations(run: str) -> set[str]:
        engine = sa.create_engine(f"sqlite:///{tmp_path / run / 'base.sqlite'}")
        try:
            with engine.connect() as conn:
                return set(conn.execute(sa.text("SELECT violation_no FROM violation")).scalars())
        finally:
            engine.dispose()

    with open(tmp_path / "one" / "sources" / FOLDER / FILE, encoding=ENCODING, newline="") as fh:
        dropped = list(csv.reader(fh))[1][0]  # the first row: the re-delivering provider's first, left out
    one, many = violations("one-run"), violations("many-run")
    assert len(one) > 50 and dropped in one
    assert many == one - {dropped}
