"""Daily operation over three days of the sample, through the real command (``jilin-pipelines run`` in processes of
its own): a broken delivery is held while the province flows on, and its re-delivery is merged late and re-decided;
days run in reverse and two runs at once give the in-order database; ``kill -9`` during the raw landing, the merge
and a scenario, and a re-delivery whose run died, end — after one plain ``run`` — in the database of an
uninterrupted run.

Every comparison is against a reference: the same three days run once, in order, with the good files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import pytest
from basedb import base_snapshot
from stack import snapshot_sample

from jilin_pipelines.base.schema import metadata

pytestmark = pytest.mark.slow

DAYS = ["2025-06-02", "2025-06-03", "2025-06-04"]
BROKEN = "transport/road_transport_permits/road_transport_permits_20250603.xlsx"
REDELIVERED = "traffic_police/violations/violations_20250602.csv"
RUN_TIMEOUT = 420  # seconds: three days of the sample take about a minute
#: Every table a run writes but the audit log (its entries carry times and run ids) and the holds (times).
TABLES = tuple(sorted(t for t in metadata().tables if t not in ("exchange_audit", "partition_hold", "base_alembic_version")))


def _env(sources: Path, root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JILIN_", "DAGSTER_"))}
    env.update({"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(root / "data"),
                "DAGSTER_HOME": str(root / "home")})
    return env


def _start(sources: Path, root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jilin_pipelines.cli", "run", *args], env=_env(sources, root),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def _run(sources: Path, root: Path, *args: str) -> tuple[int, str]:
    proc = _start(sources, root, *args)
    out, _ = proc.communicate(timeout=RUN_TIMEOUT)
    return proc.returncode, out


def _snapshot(root: Path) -> dict[str, list[str]]:
    return base_snapshot(f"sqlite:///{root / 'data' / 'base.sqlite'}", TABLES)


def _differences(a: dict, b: dict) -> dict[str, tuple[int, int]]:
    """Per table that differs: rows only in a, rows only in b."""
    return {t: (len(set(a[t]) - set(b[t])), len(set(b[t]) - set(a[t]))) for t in a if a[t] != b[t]}


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    return snapshot_sample(tmp_path_factory.mktemp("ops_sources") / "sources")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, sources) -> dict[str, list[str]]:
    """The three days, in order, with the good files, uninterrupted."""
    root = tmp_path_factory.mktemp("ops_reference")
    code, out = _run(sources, root, "--end", DAYS[-1])
    assert code == 0, out
    snapshot = _snapshot(root)
    for table in ("certificate_verification", "commercial_vehicle_risk", "social_security_approval"):
        assert snapshot[table], f"the reference decided nothing in {table}"
    return snapshot


def _copy(sources: Path, target: Path) -> Path:
    shutil.copytree(sources, target)
    return target


def test_a_broken_delivery_is_held_while_the_rest_flows_and_its_redelivery_is_merged_late(
        tmp_path, sources, reference):
    broken = _copy(sources, tmp_path / "sources")
    good = (broken / BROKEN).read_bytes()
    (broken / BROKEN).write_bytes(b"this is no workbook")
    root = tmp_path / "run"

    # Reverse order, and two runs at once: the last day first (its earlier days run first), the first day beside it.
    last = _start(broken, root, "--start", DAYS[-1], "--end", DAYS[-1])
    time.sleep(1.0)
    first = _start(broken, root, "--start", DAYS[0], "--end", DAYS[0])
    out_last, _ = last.communicate(timeout=RUN_TIMEOUT)
    out_first, _ = first.communicate(timeout=RUN_TIMEOUT)
    assert last.returncode == 0, out_last  # a held partition is no failure of ours
    assert first.returncode == 0, out_first
    assert "[earlier] 2025-06-02: running all" in out_last and "[earlier] 2025-06-03: running all" in out_last
    assert "held partitions: 1" in out_last and "transport.road_transport_permits 2025-06-03: held" in out_last
    held = _snapshot(root)
    # every other partition of the day is in the base; only the held one is missing
    versions = [json.loads(r) for r in held["road_transport_permit_source_version"]]
    assert {v["_partition"] for v in versions} == {DAYS[0], DAYS[2]}
    for table in ("certificate_source_version", "person_source_version", "vehicle_source_version"):
        assert {json.loads(r)["_partition"] for r in held[table]} >= set(DAYS), table
    # every scenario decided every day, and says which held delivery it decided without
    for table, column in (("certificate_verification", "partition"), ("commercial_vehicle_risk", "as_of"),
                          ("social_security_approval", "partition"), ("budget_staff_basic_info", "as_of")):
        assert {json.loads(r)[column] for r in held[table]} == set(DAYS), table
    caveats = {(c["scenario"], c["partition"]) for c in map(json.loads, held["scenario_held_input"])}
    assert ("commercial_vehicle_safety", DAYS[1]) in caveats and ("commercial_vehicle_safety", DAYS[2]) in caveats
    assert not any(day == DAYS[0] for _, day in caveats)  # the first day lacked nothing
    alerts = (root / "data" / "alerts" / "alerts.jsonl").read_text(encoding="utf-8")
    assert '"kind": "held"' in alerts and "transport.road_transport_permits" in alerts

    # The re-delivery: merged late, the later day's decisions re-decided — the database of the good file from the start.
    (broken / BROKEN).write_bytes(good)
    code, out = _run(broken, root, "--end", DAYS[-1])
    assert code == 0, out
    assert "2025-06-03: running" in out and "re-delivered" in out
    # only its scenarios, and their fairness audits
    assert "2025-06-04: running 10 of" in out and "an earlier day changed" in out
    assert "held partitions: none" in out
    assert _differences(_snapshot(root), reference) == {}


def _kill_when(root: Path, proc: subprocess.Popen, started: datetime, partition: str, step: str, event: str) -> None:
    """``kill -9`` the run's process group once its run of ``partition`` (made after ``started``) logged ``event``
    for ``step``."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before {step} {event} of {partition}: {proc.stdout.read()}"
        if (root / "home" / "history").exists():
            with dg.DagsterInstance.from_config(str(root / "home")) as instance:
                runs = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": partition}, created_after=started))
                for run in runs:
                    for entry in instance.all_logs(run.run_id):
                        e = entry.dagster_event
                        if e is not None and e.step_key == step and e.event_type_value == event:
                            os.killpg(proc.pid, signal.SIGKILL)
                            proc.wait()
                            return
        time.sleep(0.2)
    raise AssertionError(f"{step} {event} of {partition} never came")


def test_kill_9_anywhere_then_a_plain_run_gives_the_uninterrupted_database(tmp_path, sources, reference):
    # The days were run with an earlier delivery of one file; the department re-delivers it.
    earlier = _copy(sources, tmp_path / "earlier")
    path = earlier / REDELIVERED
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-3]))  # the first delivery lacked its last three rows
    root = tmp_path / "run"
    code, out = _run(earlier, root, "--end", DAYS[-1])
    assert code == 0, out

    # The run of the re-delivery dies right after landing it, then in the merge, then in a scenario of a later day.
    for partition, step, event in (("2025-06-02", "traffic_police__raw__violations", "ASSET_MATERIALIZATION"),
                                   ("2025-06-02", "base_merge", "STEP_START"),
                                   ("2025-06-03", "scenario__commercial_vehicle_risk", "STEP_START")):
        started = datetime.now(timezone.utc)
        proc = _start(sources, root, "--end", DAYS[-1])
        _kill_when(root, proc, started, partition, step, event)

    began = time.monotonic()
    code, out = _run(sources, root, "--end", DAYS[-1])
    assert code == 0, out
    assert "recovered: run" in out  # the dead run was found, its slots released
    print(f"recovery run after three kills: {time.monotonic() - began:.1f} s")
    assert _differences(_snapshot(root), reference) == {}
    with dg.DagsterInstance.from_config(str(root / "home")) as instance:
        stuck = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]))
        assert stuck == []
    assert not list((root / "data" / "lake").rglob(".*.tmp"))  # no temporary file of a dead run is left
