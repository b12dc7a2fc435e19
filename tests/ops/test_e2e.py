"""End to end through the real processes: ``dagster-webserver`` and ``dagster-daemon`` over a fresh
DAGSTER_HOME (the project's dagster.yaml, then the production PostgreSQL one), a three-day partition backfill
of the main job's assets launched through the GraphQL API and run by the daemon through the run queue, the
landed Parquet compared with an in-process landing of the same days, and the UI checked in headless Chromium.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lake import lake_inventory
from queries import ASSET_CHECKS, BACKFILL_STATUS, JOB_ASSETS, LAUNCH_BACKFILL, MATERIALISATIONS, SET_NUX_SEEN
from stack import Stack, fresh_database, make_stack, snapshot_sample

from jilin_pipelines.definitions import MAIN_JOB, build_definitions
from jilin_pipelines.settings import CHECKOUT

pytestmark = pytest.mark.slow

DAYS = ["2025-06-02", "2025-06-03", "2025-06-04"]
BACKFILL_TIMEOUT = 300  # seconds
REFERENCE_TIMEOUT = 300  # seconds
LOCATION = "jilin_pipelines"
MAIN_SELECTOR = {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "pipelineName": MAIN_JOB}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS_SCREENSHOT = CHECKOUT / "docs" / "asset-graph.png"

TERMINAL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


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
        [sys.executable, str(Path(__file__).parent / "reference_landing.py"), str(out), *DAYS],
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
    """What the deployment must land: the in-process landing's inventory."""
    proc, out, log = reference_landing
    try:
        code = proc.wait(timeout=REFERENCE_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the in-process reference landing took over {REFERENCE_TIMEOUT} s", pytrace=False)
    assert code == 0, f"the in-process reference landing failed:\n{log.read_text(errors='replace')[-3000:]}"
    inventory = json.loads(out.read_text(encoding="utf-8"))
    assert inventory, "the in-process landing wrote nothing"
    return inventory


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
        with fresh_database(pg_url) as url:
            yield from _run(
                make_stack(
                    "postgres",
                    root,
                    CHECKOUT / "deploy" / "dagster.postgres.yaml",
                    {"DAGSTER_PG_URL": url},
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
def backfill(stack, job_assets) -> dict:
    """The three-day backfill of every asset of the main job, launched through GraphQL and waited for."""
    began = time.monotonic()
    launched = stack.graphql(
        LAUNCH_BACKFILL,
        {
            "params": {
                "assetSelection": [{"path": n["assetKey"]["path"]} for n in job_assets],
                "partitionNames": DAYS,
                "title": "e2e: three days of the main job",
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    deadline = began + BACKFILL_TIMEOUT
    while True:
        state = stack.graphql(BACKFILL_STATUS, {"backfillId": backfill_id})["partitionBackfillOrError"]
        assert state["__typename"] == "PartitionBackfill", state
        if state["status"] in TERMINAL:
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
    print(f"[{stack.name}] backfill {backfill_id}: {state['status']} in {state['seconds']:.1f} s")
    return state


def _partition_of(run: dict) -> str:
    tags = {t["key"]: t["value"] for t in run["tags"]}
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return tags.get("dagster/partition") or (start if start == end else f"{start}...{end}")


def test_backfill_of_three_days_through_graphql(stack, job_assets, backfill, reference):
    # The running code location serves the same main job as the definitions in this process.
    in_process = build_definitions().resolve_job_def(MAIN_JOB).asset_layer.executable_asset_keys
    assert {tuple(n["assetKey"]["path"]) for n in job_assets} == {tuple(k.path) for k in in_process}

    failed = [r for r in backfill["runs"] if r["status"] != "SUCCESS"]
    assert backfill["status"] in {"COMPLETED", "COMPLETED_SUCCESS"} and not failed, (
        f"backfill {backfill['status']} ({backfill['error']}); failed runs: {failed}\n{stack.log_tail('daemon')}"
    )
    assert backfill["isAssetBackfill"] and backfill["numPartitions"] == len(DAYS)
    # One run per day (the BackfillPolicy), through the queue: never more at once than the instance allows.
    assert sorted(_partition_of(r) for r in backfill["runs"]) == DAYS
    spans = [(r["startTime"], r["endTime"]) for r in backfill["runs"]]
    overlap = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    print(f"[{stack.name}] runs at once: at most {overlap} (max_concurrent_runs: 2)")
    assert overlap <= 2

    # Every asset has its three partitions materialised, by the backfill's runs.
    run_ids = {r["runId"] for r in backfill["runs"]}
    nodes = stack.graphql(MATERIALISATIONS, {"pipeline": MAIN_SELECTOR, "partitions": DAYS})["assetNodes"]
    for node in nodes:
        got = node["latestMaterializationByPartition"]
        assert [m and m["partition"] for m in got] == DAYS, node["assetKey"]
        assert {m["runId"] for m in got} <= run_ids, node["assetKey"]

    # The landed Parquet: the same files, rows and delivery facts as the in-process landing.
    landed = lake_inventory(stack.data_dir)
    assert sorted(landed) == sorted(reference)
    for name, expected in reference.items():
        assert landed[name] == expected, name
    raw = [n["assetKey"]["path"] for n in job_assets if n["assetKey"]["path"][1:2] == ["raw"]]
    for department, _, dataset in raw:
        for day in DAYS:
            assert f"raw/{department}/{dataset}/{day}.parquet" in landed


# ---------------------------------------------------------------------------------------------------------
# The UI in a real browser


def chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    profile = tmp / f"chromium-profile-{time.monotonic_ns()}"
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1600,1000",
        "--virtual-time-budget=15000",
        *args,
    ]
    return subprocess.run(argv, capture_output=True, timeout=120, check=False)


def screenshot(url: str, path: Path) -> Path:
    done = chromium([f"--screenshot={path}", url], path.parent)
    assert path.exists() and path.stat().st_size > 10_000, (
        f"no screenshot of {url}: {done.stderr.decode(errors='replace')[-2000:]}"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return path


def rendered_text(url: str, tmp: Path) -> str:
    """The page's text after the app has rendered (scripts and styles removed, tags to spaces)."""
    done = chromium(["--dump-dom", url], tmp)
    dom = done.stdout.decode("utf-8", errors="replace")
    assert "<html" in dom, f"no DOM for {url}: {done.stderr.decode(errors='replace')[-2000:]}"
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", dom, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


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


# The UI is the same over either instance: checked on the SQLite-backed deployment (the same one the backfill
# test ran on: pytest shares the module-scoped stack), to keep the run short.
ON_SQLITE = pytest.mark.parametrize("stack", ["sqlite"], indirect=True)


@ON_SQLITE
def test_the_asset_graph_shows_the_assets(stack, job_assets, browser):
    groups: dict[str, list[str]] = {}
    for node in job_assets:
        groups.setdefault(node["groupName"], []).append(node["assetKey"]["path"][-1])
    # the smallest group with more than one asset: every node of it fits the window
    group = min((g for g in groups if len(groups[g]) > 1), key=lambda g: (len(groups[g]), g))
    url = f"{stack.url}/locations/{LOCATION}/asset-groups/{group}"

    shot = screenshot(url, browser / "asset-graph.png")
    text = rendered_text(url, browser)
    assert group in text and "Asset Group" in text, text[:2000]
    for name in groups[group]:
        assert name in text, f"asset {name} of group {group} is not on the page: {text[:2000]}"
    assert "Materialize" in text  # the graph's toolbar rendered, not an error page
    if os.environ.get("JILIN_UPDATE_DOCS_SCREENSHOT") == "1":  # refresh the README's picture
        shutil.copyfile(shot, DOCS_SCREENSHOT)


@ON_SQLITE
def test_an_assets_checks_page(stack, job_assets, browser):
    # an asset with checks when there is one (the quality layer), else the first asset
    node = next((n for n in job_assets if n["hasAssetChecks"]), job_assets[0])
    path = node["assetKey"]["path"]
    checks = stack.graphql(ASSET_CHECKS, {"assetKey": {"path": path}})["assetNodeOrError"]
    names = [c["name"] for c in (checks.get("assetChecksOrError") or {}).get("checks", [])]
    url = f"{stack.url}/assets/{'/'.join(path)}?view=checks"

    screenshot(url, browser / "asset-checks.png")
    text = rendered_text(url, browser)
    assert path[-1] in text and "Checks" in text, text[:2000]
    if names:
        for name in names[:10]:
            assert name in text, f"check {name} is not on the page: {text[:2000]}"
    else:
        assert "No checks defined for this asset" in text, text[:2000]
