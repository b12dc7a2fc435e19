"""What a data engineer sees after ``make run`` and ``make ui``: the real webserver over the sample run's instance
and the reports server over its data directory (no daemon: nothing may run on the shared sample run), read through
GraphQL and in headless Chromium (driven by Playwright, to click where the UI keeps state out of the URL). The automation sensor running by default; a standardised asset's checks of a
given day; the day's quality report with its charts; the lineage page; a scenario column's description.

Screenshots go to the test's directory; ``JILIN_UPDATE_DOCS_SCREENSHOT=1`` copies them to ``docs/`` (the README's
pictures)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import requests
from browser import CHROMIUM
from lxml import html as lhtml
from playwright.sync_api import expect
from queries import CHECK_EXECUTIONS, SET_NUX_SEEN
from stack import Stack, free_port

from jilin_pipelines.defs.automation import AUTOMATION_SENSOR
from jilin_pipelines.settings import CHECKOUT

pytestmark = pytest.mark.slow

DAY = "2025-06-03"
CHECKED = ["traffic_police", "standardised", "violations"]
DOCS = CHECKOUT / "docs"

SENSORS = """
query Sensors($repository: RepositorySelector!) {
  sensorsOrError(repositorySelector: $repository) {
    ... on Sensors { results { name sensorType sensorState { status } } }
  }
}
"""
REPOSITORY = {"repositoryLocationName": "jilin_pipelines", "repositoryName": "__repository__"}


@pytest.fixture(scope="module")
def ui(sample_run, tmp_path_factory):
    """The webserver and the reports server over the sample run; Chromium required."""
    if not Path(CHROMIUM).exists():
        reason = f"headless Chromium is not installed ({CHROMIUM}); .ci/run installs it (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " - CI requires it", pytrace=False)
        pytest.skip(reason)
    settings = sample_run.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JILIN_", "DAGSTER_"))}
    env.update({"DAGSTER_HOME": str(settings.dagster_home), "JILIN_SOURCES_DIR": str(settings.sources_dir),
                "JILIN_DATA_DIR": str(settings.data_dir), "PYTHONUNBUFFERED": "1"})
    stack = Stack(name="after-a-run", home=settings.dagster_home, data_dir=settings.data_dir, port=free_port(), env=env)
    try:
        stack.start(daemon=False, reports=True)
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ui_shots")


@pytest.fixture(scope="module")
def browser(ui):
    """Headless Chromium (the system's, as .ci/run installs it) under Playwright; the UI's one-time pop-up marked
    seen, as its "Skip" does."""
    from playwright.sync_api import sync_playwright

    assert ui.graphql(SET_NUX_SEEN)["setNuxSeen"] is True
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser):
    page = browser.new_page(viewport={"width": 1600, "height": 1100})
    page.set_default_timeout(30_000)
    yield page
    page.close()


def _docs(shot: Path, name: str) -> None:
    if os.environ.get("JILIN_UPDATE_DOCS_SCREENSHOT") == "1":  # refresh the README's pictures
        shutil.copyfile(shot, DOCS / name)


def test_the_automation_sensor_runs_by_default(ui, page, shots):
    sensors = {s["name"]: s for s in ui.graphql(SENSORS, {"repository": REPOSITORY})["sensorsOrError"]["results"]}
    assert sensors[AUTOMATION_SENSOR]["sensorState"]["status"] == "RUNNING", sensors
    # no other automation sensor, stopped, that would leave assets without their conditions evaluated
    assert [n for n, s in sensors.items() if s["sensorType"] == "AUTO_MATERIALIZE"] == [AUTOMATION_SENSOR]
    page.goto(f"{ui.url}/automation")
    item = page.locator("[data-index]").filter(has_text=AUTOMATION_SENSOR)
    item.wait_for()
    # a list item: its selection box, then its on/off switch — on (once the states have loaded); the file
    # sensor's, loaded with it, off by default
    expect(item.locator("input[type=checkbox]").nth(1)).to_be_checked()
    stopped = page.locator("[data-index]").filter(has_text="source_file_arrival")
    expect(stopped.locator("input[type=checkbox]")).to_have_count(2)  # its switch rendered too
    assert [box.is_checked() for box in stopped.locator("input[type=checkbox]").all()] == [False, False]
    page.screenshot(path=shots / "automation.png")


def test_a_standardised_assets_checks_of_a_given_day(ui, page, shots):
    executions = ui.graphql(CHECK_EXECUTIONS, {"assetKey": {"path": CHECKED}, "checkName": "normativity",
                                               "partition": DAY})["assetCheckExecutions"]
    assert [e["partition"] for e in executions] == [DAY], executions  # that day's, once: the sample ran each day once
    assert executions[0]["evaluation"]["partition"] == DAY
    assert {m["label"] for m in executions[0]["evaluation"]["metadataEntries"]} >= {"by_expectation", "unexpected_rows"}
    every = ui.graphql(CHECK_EXECUTIONS, {"assetKey": {"path": CHECKED}, "checkName": "normativity",
                                          "partition": None})["assetCheckExecutions"]
    assert sorted(e["partition"] for e in every) == [f"2025-06-0{d}" for d in range(2, 9)]  # none without a day

    # In the UI: the check's Partitions tab, the day picked: that day's result, not the latest day's
    page.goto(f"{ui.url}/assets/{'/'.join(CHECKED)}?view=checks&checkDetail=normativity")
    page.locator("button[role=tab]#partitions").click()
    page.get_by_text(DAY, exact=True).first.click()
    described = executions[0]["evaluation"]["description"]
    detail = page.get_by_text(described, exact=True)
    detail.wait_for()
    latest = ui.graphql(CHECK_EXECUTIONS, {"assetKey": {"path": CHECKED}, "checkName": "normativity",
                                           "partition": "2025-06-08"})["assetCheckExecutions"][0]
    assert latest["evaluation"]["description"] != described  # the days differ: what is shown is the day's
    shot = shots / "asset-checks-by-day.png"
    page.screenshot(path=shot)
    _docs(shot, "asset-checks.png")


def test_the_days_quality_report_with_its_charts(ui, page, shots):
    # the scorecard asset's link, as the UI shows it, leads to the day's report on the reports server
    page.goto(f"{ui.url}/assets/quality/scorecard?view=partitions&partition=2025-06-08")
    link = page.get_by_role("link", name="http://127.0.0.1:3001/scorecard_2025-06-08.html")
    link.wait_for()
    page.goto(f"{ui.reports_url}/")  # (the sample run linked the default port; this server listens on another)
    page.get_by_role("link", name="quality scorecard").first.click()
    page.wait_for_url("**/scorecard_2025-06-08.html")
    assert page.locator("svg").count() >= 2  # the heatmap and the trends (and their parts)
    text = page.inner_text("body")
    assert "Pass rate by day, 2025-06-02 … 2025-06-08" in text and "Trends per department" in text, text[:2000]
    shot = shots / "quality-report.png"
    page.set_viewport_size({"width": 1400, "height": 2200})
    page.screenshot(path=shot)
    _docs(shot, "quality-report.png")


def test_the_lineage_page(ui, page, shots):
    url = f"{ui.reports_url}/lineage.html"
    answer = requests.get(url, timeout=60)
    assert answer.status_code == 200
    dom = lhtml.fromstring(answer.content)
    ids = set(dom.xpath("//@id"))
    local = [h for h in dom.xpath("//@href") if h.startswith("#")]
    assert local and {h[1:] for h in local} <= ids  # every link lands on the page
    page.goto(url)
    text = page.inner_text("body")
    for name in ("traffic_police/raw/motor_vehicles", "base/person", "certificate_verification"):
        assert name in text, name
    shot = shots / "lineage-page.png"
    page.screenshot(path=shot)
    _docs(shot, "lineage-page.png")
    # a click on a base table's box leads to its section: its columns and where each comes from
    page.locator("svg a").filter(has_text="person").first.click()
    assert page.url.split("#", 1)[1] in ids
    assert "id_number" in page.locator(f"#{page.url.split('#', 1)[1]}").inner_text()


def test_a_scenario_columns_description_in_the_ui(ui, page, shots):
    page.goto(f"{ui.url}/assets/scenario/certificate_verification")
    row = page.get_by_role("row").filter(has_text="holder_mismatch (the presented holder ID or name is not")
    row.wait_for()
    assert row.inner_text().split()[0] == "result"
    row.scroll_into_view_if_needed()
    shot = shots / "scenario-columns.png"
    page.screenshot(path=shot)
    _docs(shot, "scenario-columns.png")
