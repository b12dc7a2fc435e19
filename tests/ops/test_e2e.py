"""End to end through the real processes: ``dagster-webserver`` and ``dagster-daemon`` over a fresh
DAGSTER_HOME (the project's dagster.yaml with SQLite, then the production PostgreSQL one with the base database in
PostgreSQL too), a three-day partition backfill of a scenario and every asset upstream of it (raw → standardised →
base → scenario) launched through the GraphQL API and run by the daemon through the run queue; the lake and the
base database (golden records, quarantine, the scenario's decisions and evidence) compared with the same days
materialised in-process one after the other, as the daily runs would; the UI checked in headless Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from basedb import base_snapshot, rows_by_partition
from browser import CHROMIUM, rendered_text, screenshot
from lake import lake_inventory
from queries import (
    ASSET_CHECKS,
    CHECK_EXECUTIONS,
    BACKFILL_STATUS,
    FRESHNESS,
    JOB_ASSETS,
    LAUNCH_BACKFILL,
    MATERIALISATIONS,
    SET_NUX_SEEN,
)
from reference_landing import selection
from stack import Stack, fresh_database, make_stack, snapshot_sample

from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.definitions import MAIN_JOB, build_definitions
from jilin_pipelines.defs.raw_assets import freshness_policy
from jilin_pipelines.defs.keys import raw_key
from jilin_pipelines.settings import CHECKOUT

pytestmark = pytest.mark.slow

DAYS = ["2025-06-02", "2025-06-03", "2025-06-04"]
SCENARIO = "scenario/certificate_verification"  # its upstream: five datasets of four departments, base/certificate
BACKFILL_TIMEOUT = 600  # seconds (nine runs: a landing, a merge and a scenario per day)
REFERENCE_TIMEOUT = 300  # seconds
LOCATION = "jilin_pipelines"
MAIN_SELECTOR = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "pipelineName": MAIN_JOB}
DOCS_SCREENSHOT = CHECKOUT / "docs" / "asset-graph.png"

TERMINAL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
ACTIVE = {"QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED", "CANCELING"}

# The UI, freshness and the repair path are the same over either instance: checked on the SQLite-backed deployment
# (the one the backfill test ran on: pytest shares the module-scoped stack), to keep the run short.
ON_SQLITE = pytest.mark.parametrize("stack", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    """The sample deliveries, copied: the reference and both deployments read the very same files."""
    return snapshot_sample(tmp_path_factory.mktemp("sources") / "sample_sources")


@pytest.fixture(scope="module")
def reference_landing(tmp_path_factory, sources):
    """The three days landed in-process, in a process of its own that runs while the first deployment starts
    and its daemon waits between iterations (the CPU is mostly idle then); its inventory is read later."""
    root = tmp_path_factory.mktemp("reference")
    out = root / "inventory.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JILIN_", "DAGSTER_"))}
    env.update(
        {"JILIN_SOURCES_DIR": str(sources), "JILIN_DATA_DIR": str(root / "data"), "DAGSTER_HOME": str(root / "home")}
    )
    log = (root / "reference.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "reference_landing.py"), str(out), SCENARIO, *DAYS],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield proc, out, root / "reference.log"
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


@pytest.fixture(scope="module")
def reference(reference_landing) -> dict[str, dict]:
    """What the deployment must leave: the in-process run's lake inventory and base database snapshot."""
    proc, out, log = reference_landing
    try:
        code = proc.wait(timeout=REFERENCE_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the in-process reference landing took over {REFERENCE_TIMEOUT} s", pytrace=False)
    assert code == 0, f"the in-process reference landing failed:\n{log.read_text(errors='replace')[-3000:]}"
    reference = json.loads(out.read_text(encoding="utf-8"))
    assert reference["lake"] and reference["base"]["certificate"], "the in-process run wrote nothing"
    return reference


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def stack(request, tmp_path_factory, sources, reference_landing):
    """A running webserver + daemon; one backend at a time (pytest runs all tests of one param first). The
    reference landing is started first, to run alongside."""
    root = tmp_path_factory.mktemp(f"stack_{request.param}")
    if request.param == "sqlite":
        yield from _run(make_stack("sqlite", root, CHECKOUT / "dagster.yaml", sources=sources))
    else:
        pg_url = request.getfixturevalue("pg_url")
        # Dagster's storage and the base database in PostgreSQL, each a database of its own
        with fresh_database(pg_url) as url, fresh_database(pg_url) as base_url:
            yield from _run(
                make_stack(
                    "postgres",
                    root,
                    CHECKOUT / "deploy" / "dagster.postgres.yaml",
                    {"DAGSTER_PG_URL": url, "JILIN_BASE_DB_URL": base_url},
                    sources=sources,
                )
            )


def _run(stack: Stack):
    began = time.monotonic()
    try:
        stack.start()
        print(f"\n[{stack.name}] webserver + daemon up in {time.monotonic() - began:.1f} s at {stack.url}")
        yield stack
    finally:
        stopping = time.monotonic()
        stack.stop()
        print(f"[{stack.name}] stopped in {time.monotonic() - stopping:.1f} s")


@pytest.fixture(scope="module")
def job_assets(stack) -> list[dict]:
    nodes = stack.graphql(JOB_ASSETS, {"pipeline": MAIN_SELECTOR})["assetNodes"]
    assert nodes, "the main job has no assets in the running code location"
    return nodes


@pytest.fixture(scope="module")
def selected() -> list[list[str]]:
    """The scenario and every asset upstream of it, as asset key paths."""
    return [list(k.path) for k in selection(build_definitions(), SCENARIO)]


@pytest.fixture(scope="module")
def backfill(stack, selected) -> dict:
    """The three-day backfill of the scenario and its upstream assets, launched through GraphQL and waited for."""
    began = time.monotonic()
    launched = stack.graphql(
        LAUNCH_BACKFILL,
        {
            "params": {
                "assetSelection": [{"path": path} for path in selected],
                "partitionNames": DAYS,
                "title": f"e2e: three days of {SCENARIO} and its upstream assets",
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    state = wait_for_backfill(stack, backfill_id, began)
    print(f"[{stack.name}] backfill {backfill_id}: {state['status']} in {state['seconds']:.1f} s")
    return state


def wait_for_backfill(stack: Stack, backfill_id: str, began: float) -> dict:
    """Poll the backfill until it is done; its state with the seconds it took since ``began``."""
    deadline = began + BACKFILL_TIMEOUT
    while True:
        state = stack.graphql(BACKFILL_STATUS, {"backfillId": backfill_id})["partitionBackfillOrError"]
        assert state["__typename"] == "PartitionBackfill", state
        if state["status"] in TERMINAL and not any(r["status"] in ACTIVE for r in state["runs"]):
            break
        if time.monotonic() > deadline:
            runs = ", ".join(f"{r['runId'][:8]} {r['status']}" for r in state["runs"]) or "none"
            pytest.fail(
                f"backfill {backfill_id} still {state['status']} after {BACKFILL_TIMEOUT} s (runs: {runs})\n"
                f"{stack.log_tail('daemon')}",
                pytrace=False,
            )
        time.sleep(2)
    state["seconds"] = time.monotonic() - began
    return state


def _partition_of(run: dict) -> str:
    tags = {t["key"]: t["value"] for t in run["tags"]}
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return tags.get("dagster/partition") or (start if start == end else f"{start}...{end}")


def _layer(path: list[str]) -> str:
    """raw, standardised, base or scenario, from an asset key path."""
    return path[0] if path[0] in ("base", "scenario") else path[1]


def _base_url(stack: Stack) -> str:
    return stack.env.get("JILIN_BASE_DB_URL") or f"sqlite:///{stack.data_dir / 'base.sqlite'}"


def test_backfill_of_a_scenario_and_its_upstream_over_three_days(stack, job_assets, selected, backfill, reference):
    # The running code location serves the same assets as the definitions in this process.
    in_process = build_definitions().resolve_job_def(MAIN_JOB).asset_layer.executable_asset_keys
    assert {tuple(n["assetKey"]["path"]) for n in job_assets} == {tuple(k.path) for k in in_process}
    layers = {_layer(path) for path in selected}
    assert layers == {"raw", "standardised", "base", "scenario"}, selected  # every layer, raw to scenario

    failed = [r for r in backfill["runs"] if r["status"] != "SUCCESS"]
    assert backfill["status"] in {"COMPLETED", "COMPLETED_SUCCESS"} and not failed, (
        f"backfill {backfill['status']} ({backfill['error']}); failed runs: {failed}\n{stack.log_tail('daemon')}"
    )
    assert backfill["isAssetBackfill"] and backfill["numPartitions"] == len(DAYS)
    # Runs of one day each (the BackfillPolicy), through the queue: never more at once than the instance allows.
    spans = [(r["startTime"], r["endTime"]) for r in backfill["runs"]]
    overlap = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    print(f"[{stack.name}] {len(spans)} runs, at most {overlap} at once (max_concurrent_runs: 2)")
    assert overlap <= 2
    # Per day: the raw and standardised landing, the base merge, the scenario. The base is cumulative ("as of D" is
    # every day up to D), so the merges ran in day order, and each day's scenario after that day's merge.
    by_layer = {}
    for r in backfill["runs"]:
        layers_run = {_layer(a["path"]) for a in r["assetSelection"]}
        layer = "base" if "base" in layers_run else "scenario" if layers_run == {"scenario"} else "landing"
        assert layers_run <= {"raw", "standardised"} or layers_run in ({"base"}, {"scenario"}), layers_run
        assert (layer, _partition_of(r)) not in by_layer, r
        by_layer[layer, _partition_of(r)] = r
    assert sorted(by_layer) == sorted((layer, d) for layer in ("landing", "base", "scenario") for d in DAYS)
    for before, day in zip(DAYS, DAYS[1:]):
        assert by_layer["base", day]["startTime"] >= by_layer["base", before]["endTime"], (before, day)
    for day in DAYS:
        assert by_layer["scenario", day]["startTime"] >= by_layer["base", day]["endTime"], day

    # Every selected asset has its three partitions materialised, by the backfill's runs; nothing else ran.
    run_ids = {r["runId"] for r in backfill["runs"]}
    nodes = stack.graphql(MATERIALISATIONS, {"pipeline": MAIN_SELECTOR, "partitions": DAYS})["assetNodes"]
    wanted = {tuple(p) for p in selected}
    for node in nodes:
        got = node["latestMaterializationByPartition"]
        if tuple(node["assetKey"]["path"]) in wanted:
            assert [m and m["partition"] for m in got] == DAYS, node["assetKey"]
            assert {m["runId"] for m in got} <= run_ids, node["assetKey"]
        else:
            assert not any(got), node["assetKey"]  # e.g. base/person: not upstream of the scenario

    # The lake: the same files, rows and delivery facts as the in-process run of the same days.
    # (only the three days: a schedule that fires meanwhile lands the latest day, with nothing delivered)
    ours = tuple(f"/{d}.parquet" for d in DAYS)
    landed = {k: v for k, v in lake_inventory(stack.data_dir).items() if k.endswith(ours)}
    assert sorted(landed) == sorted(reference["lake"])
    for name, expected in reference["lake"].items():
        assert landed[name] == expected, name
    for path in selected:
        if path[1:2] in (["raw"], ["standardised"]):
            for day in DAYS:
                assert f"{path[1]}/{path[0]}/{path[2]}/{day}.parquet" in landed

    # The base database: golden certificates with their versions, the quarantine, and the scenario's decisions
    # and evidence - row for row what the daily in-process runs wrote (SQLite there; PostgreSQL here, too).
    base = base_snapshot(_base_url(stack))
    decided = rows_by_partition(base, "certificate_verification")
    print(f"[{stack.name}] certificate verifications per day: {decided}; "
          + ", ".join(f"{t} {len(rows)}" for t, rows in base.items()))
    assert sorted(decided) == DAYS and all(decided[d] > 0 for d in DAYS), decided
    assert rows_by_partition(base, "scenario_evidence").keys() == set(DAYS)
    for table, rows in reference["base"].items():
        assert len(base[table]) == len(rows), table
        assert base[table] == rows, f"{table}: first difference " + next(
            (f"{a} != {b}" for a, b in zip(base[table], rows) if a != b), ""
        )


@ON_SQLITE
def test_the_daemon_evaluates_the_raw_assets_freshness(stack, selected, backfill):
    """The freshness policies reach the UI, and the daemon (``freshness: enabled``) evaluates them: the raw assets
    the backfill landed just now are fresh, those never landed have no state yet (they show no landing). The
    daemon runs the departments' schedules too: one due while the test runs lands its latest day (fresh, then).
    (The deployment's sources are a copy of the sample, not the committed sample itself: its partitions are open-ended,
    so its raw assets carry their policies — a history with a last day carries none, tests/ops/test_automation.py.)"""
    entries = {raw_key(e): e for e in catalogue().entries}
    landed = {tuple(p) for p in selected if p[1:2] == ["raw"]}
    deadline = time.monotonic() + 90  # the freshness daemon runs every 30 s
    while True:
        nodes = stack.graphql(FRESHNESS, {"pipeline": MAIN_SELECTOR})["assetNodes"]
        raw = {tuple(n["assetKey"]["path"]): n for n in nodes if n["assetKey"]["path"][1:2] == ["raw"]}
        status = {k: (n["freshnessStatusInfo"] or {}).get("freshnessStatus") for k, n in raw.items()}
        if all(status[k] == "HEALTHY" for k in landed) or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert raw and landed < raw.keys()
    for key, node in raw.items():
        policy = freshness_policy(entries[dg.AssetKey(list(key))])
        assert node["internalFreshnessPolicy"] == {
            "__typename": "CronFreshnessPolicy", "deadlineCron": policy.deadline_cron,
            "lowerBoundDeltaSeconds": 24 * 3600, "timezone": "Asia/Shanghai",
        }, key
    assert {k: status[k] for k in landed} == dict.fromkeys(landed, "HEALTHY"), stack.log_tail("daemon")
    # never landed: not fresh (a department's schedule that fired meanwhile landed its latest day: those are)
    never = {k for k in raw.keys() - landed if not raw[k]["assetMaterializations"]}
    assert never and {status[k] for k in never} <= {"UNKNOWN", "DEGRADED"}, status


# ---------------------------------------------------------------------------------------------------------
# The UI in a real browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory, stack, backfill):
    """Chromium, after the backfill (so the pages show materialisations)."""
    if not Path(CHROMIUM).exists():
        reason = f"headless Chromium is not installed ({CHROMIUM}); .ci/run installs it (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " - CI requires it", pytrace=False)
        pytest.skip(reason)
    # The UI greets a loopback origin with a one-time community pop-up; mark it seen, as its "Skip" does.
    assert stack.graphql(SET_NUX_SEEN)["setNuxSeen"] is True
    return tmp_path_factory.mktemp(f"browser_{stack.name}")




@ON_SQLITE
def test_the_asset_graph_shows_every_layer(stack, job_assets, browser):
    # The global asset graph: every asset group, raw → standardised → quality and base → scenarios.
    url = f"{stack.url}/asset-groups"
    shot = screenshot(url, browser / "asset-graph.png", size="1600,1400")  # the whole graph fits
    text = rendered_text(url, browser)
    assert "Global asset lineage" in text, text[:2000]
    groups = sorted({n["groupName"] for n in job_assets})
    assert {g.split("_")[-1] for g in groups} >= {"raw", "standardised", "base"}
    assert sum(g.startswith("scenario_") for g in groups) == 5
    for group in groups:
        assert group in text, f"group {group} is not on the page: {text[:2000]}"
    assert "Materialize all" in text  # the graph's toolbar rendered, not an error page

    # The scenario with everything upstream of it, asset by asset.
    lineage = f"{stack.url}/assets/{SCENARIO}?view=lineage&lineageScope=upstream&lineageDepth=4"
    scenario_shot = screenshot(lineage, browser / "certificate-verification-lineage.png")
    text = rendered_text(lineage, browser)
    assert "certificate_verification" in text and "Upstream" in text and "Lineage" in text, text[:2000]
    # short names are shown whole in the graph's nodes (long ones are cut in the middle)
    for name in ("driving_licences", "certificate", "base", "transport_raw", "municipal_raw"):
        assert name in text, f"{name} is not on the page: {text[:2000]}"
    if os.environ.get("JILIN_UPDATE_DOCS_SCREENSHOT") == "1":  # refresh the README's pictures
        shutil.copyfile(shot, DOCS_SCREENSHOT)
        shutil.copyfile(scenario_shot, DOCS_SCREENSHOT.with_name("certificate-verification-lineage.png"))


@ON_SQLITE
def test_an_assets_checks_page(stack, selected, browser):
    # a standardised asset the backfill materialised: its checks were evaluated with it
    path = next(p for p in selected if p[1:2] == ["standardised"])
    node = stack.graphql(ASSET_CHECKS, {"assetKey": {"path": path}})["assetNodeOrError"]
    checks = node["assetChecksOrError"]["checks"]
    names = sorted(c["name"] for c in checks)
    assert "blocked_share" in names and "timeliness" in names, names
    assert all(c["executionForLatestMaterialization"] for c in checks), checks  # evaluated by the backfill
    url = f"{stack.url}/assets/{'/'.join(path)}?view=checks"

    screenshot(url, browser / "asset-checks.png")
    text = rendered_text(url, browser)
    assert path[-1] in text and "Checks" in text, text[:2000]
    for name in names:
        assert name in text, f"check {name} is not on the page: {text[:2000]}"
    # the list shows each check's result over the days (partitioned checks: failed when it failed on any day), as
    # the API has it day by day — every day of the backfill has its own result
    shown = {"SUCCEEDED": "Succeeded", "FAILED": "Failed"}
    for check in checks:
        days = {day: stack.graphql(CHECK_EXECUTIONS, {"assetKey": {"path": path}, "checkName": check["name"],
                                                      "partition": day})["assetCheckExecutions"] for day in DAYS}
        assert all(len(runs) == 1 for runs in days.values()), (check["name"], days)
        status = "FAILED" if any(runs[0]["status"] == "FAILED" for runs in days.values()) else "SUCCEEDED"
        assert f"{check['name']} {shown[status]}" in text, f"{check['name']}: {status} is not shown: {text[:2000]}"
    assert "Evaluation result" in text and "by_expectation" in text, text[:3000]


# ---------------------------------------------------------------------------------------------------------
# Repair: a broken delivery is held (its day's runs succeed, the alert names it); its re-delivery, landed by a
# backfill of that day alone, lifts the hold

BROKEN = ("transport", "road_transport_permits", "xlsx")
REPAIR_DAYS = ["2025-06-05", "2025-06-06"]  # other days than the backfill's above: its comparison stays exact


def _launch(stack: Stack, paths: list[list[str]], days: list[str], title: str) -> str:
    launched = stack.graphql(
        LAUNCH_BACKFILL,
        {"params": {"assetSelection": [{"path": p} for p in paths], "partitionNames": days, "title": title}},
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def _materialised_by(stack: Stack, paths: list[list[str]], days: list[str]) -> dict[tuple, dict[str, str]]:
    """asset path → partition → the run that materialised it last."""
    nodes = stack.graphql(MATERIALISATIONS, {"pipeline": MAIN_SELECTOR, "partitions": days})["assetNodes"]
    wanted = {tuple(p) for p in paths}
    return {
        tuple(n["assetKey"]["path"]): {m["partition"]: m["runId"] for m in n["latestMaterializationByPartition"] if m}
        for n in nodes
        if tuple(n["assetKey"]["path"]) in wanted
    }


def _held(stack: Stack) -> dict[tuple[str, str], str]:
    """(dataset, day) → kind of every partition held in the deployment's base database."""
    import sqlalchemy as sa

    engine = sa.create_engine(_base_url(stack))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT dataset, partition, kind FROM partition_hold WHERE released_at IS NULL"))
            return {(r[0], str(r[1])[:10]): r[2] for r in rows}
    finally:
        engine.dispose()


@ON_SQLITE
def test_a_broken_delivery_is_held_and_its_redelivery_lands(stack, sources, backfill):
    department, dataset, ext = BROKEN
    paths = [[department, "raw", dataset], [department, "standardised", dataset]]
    broken_day, good_day = REPAIR_DAYS
    delivery = sources / department / dataset / f"{dataset}_{broken_day.replace('-', '')}.{ext}"
    original = delivery.read_bytes()
    began = time.monotonic()
    try:
        delivery.write_bytes(b"this is no workbook")  # a broken delivery
        first = wait_for_backfill(stack, _launch(stack, paths, REPAIR_DAYS, "e2e: a broken delivery"), began)
        # held, not failed: both days' runs succeed, the broken day's partition is held out of the base
        assert first["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, first
        assert {r["status"] for r in first["runs"]} == {"SUCCESS"}, first["runs"]
        assert _held(stack) == {(f"{department}.{dataset}", broken_day): "unreadable"}
        before = _materialised_by(stack, paths, REPAIR_DAYS)
        assert all(set(by_day) == set(REPAIR_DAYS) for by_day in before.values()), before

        # The alert names the dataset, the day and the reason.
        alerts = stack.data_dir / "alerts" / "alerts.jsonl"
        alert = next(json.loads(x) for x in alerts.read_text(encoding="utf-8").splitlines() if broken_day in x)
        assert alert["kind"] == "held" and alert["datasets"] == [f"{department}.{dataset}"], alert
        assert alert["partition"] == broken_day and "XLSX" in alert["reason"], alert

        # The department re-delivers; a backfill of that day alone lands it and lifts the hold.
        delivery.write_bytes(original)
        second = wait_for_backfill(stack, _launch(stack, paths, [broken_day], "e2e: the re-delivery"), time.monotonic())
    finally:
        delivery.write_bytes(original)
    print(f"[{stack.name}] broken delivery held, re-delivered and landed: {time.monotonic() - began:.1f} s")
    assert second["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, second
    assert [_partition_of(r) for r in second["runs"]] == [broken_day], second["runs"]  # only the re-delivered day
    assert _held(stack) == {}
    after = _materialised_by(stack, paths, REPAIR_DAYS)
    retry_run = second["runs"][0]["runId"]
    for path in paths:
        assert after[tuple(path)][broken_day] == retry_run, path  # now there, by the re-run
        assert after[tuple(path)][good_day] == before[tuple(path)][good_day], path  # not run again
