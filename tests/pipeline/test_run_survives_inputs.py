"""``jilin-pipelines run`` survives its inputs: a stray file whose name holds an impossible date is reported and
skipped (no traceback before any day runs); a re-run whose source cannot be reached reports that day and goes on
with the others; a day that is current is skipped, and a day whose run failed after its landing is re-run."""

from __future__ import annotations

import io
import shutil
from datetime import date

import pytest

from jilin_pipelines.runner import run_days
from jilin_pipelines.settings import CHECKOUT

DAYS = ("20250602", "20250603")
FILES = ["traffic_police/motor_vehicles/motor_vehicles_{}.csv", "transport/practitioner_qualifications/"
         "practitioner_qualifications_{}.jsonl"]


@pytest.fixture()
def small(tmp_path, monkeypatch):
    """Two days of two datasets and the social-security front-end database, a data directory and DAGSTER_HOME."""
    sources = tmp_path / "sources"
    for pattern in FILES:
        for day in DAYS:
            target = sources / pattern.format(day)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(CHECKOUT / "sample_sources" / pattern.format(day), target)
    (sources / "social_security").mkdir()
    shutil.copy(CHECKOUT / "sample_sources" / "social_security" / "exchange.sqlite", sources / "social_security")
    env = {"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(tmp_path / "data"),
           "DAGSTER_HOME": str(tmp_path / "home")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return sources


def run() -> tuple[int, str]:
    """The two days (the front-end database holds a week: its other days are not run here)."""
    out = io.StringIO()
    code = run_days(start=date(2025, 6, 2), end=date(2025, 6, 3), force=False, out=out)
    return code, out.getvalue()


def test_a_stray_file_and_an_unreachable_source_are_reported_and_the_other_days_go_on(small, monkeypatch):
    stray = small / "traffic_police" / "motor_vehicles" / "motor_vehicles_20250631.csv"
    stray.write_bytes((small / FILES[0].format(DAYS[0])).read_bytes())
    code, out = run()
    assert code == 0, out
    assert f"skipped {stray}: its name holds no real date" in out
    assert "[1/2] 2025-06-02: running all" in out and "[2/2] 2025-06-03: running all" in out

    # the front-end database is locked by another writer: the days it cannot check are reported, and the run ends
    import sqlite3

    locker = sqlite3.connect(small / "social_security" / "exchange.sqlite", timeout=0.1)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        monkeypatch.setenv("JILIN_SOCIAL_SECURITY_DB_URL",
                           f"sqlite:///{small / 'social_security' / 'exchange.sqlite'}?timeout=0.1")
        code, out = run()
    finally:
        locker.rollback()
        locker.close()
    assert code == 0, out
    assert "2025-06-02: source unreachable, day not checked" in out
    assert "2025-06-03: source unreachable, day not checked" in out
    assert "database is locked" in out
    assert "not checked, a source unreachable: 2025-06-02, 2025-06-03" in out

    # reachable again, nothing changed: nothing runs
    monkeypatch.delenv("JILIN_SOCIAL_SECURITY_DB_URL")
    code, out = run()
    assert code == 0 and out.count("unchanged, skipped") == 2, out


def test_a_day_whose_run_failed_after_its_landing_is_run_again(small, monkeypatch):
    code, out = run()
    assert code == 0, out
    # the standardised partition of a day goes missing (a step failed after the raw landing, a lost file): the
    # raw fingerprints are current, yet the day is not
    from jilin_pipelines.catalogue import catalogue
    from jilin_pipelines.lake import partition_path
    from jilin_pipelines.settings import Settings

    entry = catalogue().entry("traffic_police.motor_vehicles")
    settings = Settings.from_env()
    raw = partition_path(entry, date(2025, 6, 2), settings)
    raw.write_bytes(raw.read_bytes())  # touched: no materialisation changes, nothing runs
    code, out = run()
    assert out.count("unchanged, skipped") == 2, out

    # a run of the first day that materialises only the raw landing (as a run dying after it would leave it)
    from jilin_pipelines.definitions import MAIN_JOB, build_definitions
    from jilin_pipelines.defs.keys import raw_key
    import dagster as dg

    job = build_definitions(settings).resolve_job_def(MAIN_JOB)
    with dg.DagsterInstance.get() as instance:
        assert job.execute_in_process(partition_key="2025-06-02", instance=instance, asset_selection=[raw_key(entry)]).success
    code, out = run()
    assert code == 0, out
    assert "[1/2] 2025-06-02: running" in out  # its standardised layer and everything after it
    # the scenarios of the later day, on the re-merged base, and their fairness audits
    assert "[2/2] 2025-06-03: running 10 of" in out


def test_days_outside_the_partitions_are_refused_before_anything_runs(small, tmp_path):
    early = small / "traffic_police" / "motor_vehicles" / "motor_vehicles_20250520.csv"  # before 2025-06-02
    early.write_bytes((small / FILES[0].format(DAYS[0])).read_bytes())
    out = io.StringIO()
    assert run_days(start=None, end=None, force=False, out=out) == 2
    assert "2025-05-20: outside the daily partitions (2025-06-02 … " in out.getvalue(), out.getvalue()
    assert "JILIN_PARTITIONS_START" in out.getvalue()
    assert not (tmp_path / "data" / "lake").exists()  # nothing ran
