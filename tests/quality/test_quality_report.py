"""The quality report of a day: the scorecard coloured, the pass rate by day as a heatmap and trend lines over the
history the lake keeps, and the index page linking every day; served over HTTP by ``jilin-pipelines reports``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from lxml import html as lhtml

from jilin_pipelines.quality.report import HISTORY_DAYS, colour, history, scorecard_dir, write_quality_report
from jilin_pipelines.quality.scorecard import COLUMNS

FIRST = date(2025, 6, 2)


def card(rate: float) -> pd.DataFrame:
    return pd.DataFrame([
        ("traffic_police", "completeness", 2, 100, int(100 * rate), 100 - int(100 * rate), rate),
        ("traffic_police", "timeliness", 2, 2, 2, 0, 1.0),
        ("transport", "accuracy", 1, 50, 50, 0, 1.0),
    ], columns=COLUMNS)


def store(lake, day: date, frame: pd.DataFrame) -> None:
    path = scorecard_dir(lake) / f"{day.isoformat()}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def test_a_days_page_has_its_coloured_scorecard_a_heatmap_and_trends_of_the_history(tmp_path):
    lake, reports = tmp_path / "lake", tmp_path / "reports"
    rates = [1.0, 0.95, 0.7, 0.9]
    for n, rate in enumerate(rates):
        day = FIRST + timedelta(days=n)
        store(lake, day, card(rate))
        page = write_quality_report(card(rate), lake, reports, day)
    last = FIRST + timedelta(days=len(rates) - 1)
    assert page == reports / f"scorecard_{last}.html"
    tree = lhtml.fromstring(page.read_bytes())
    cells = tree.xpath("//table//td[@style]")
    assert [c.text for c in cells] == ["90.00%", "100.00%", "100.00%"]
    assert cells[0].get("style") == f"background:{colour(0.9)}" != f"background:{colour(1.0)}"
    assert colour(0.7) == colour(0.8)  # at the floor and under: the same red
    svgs = tree.xpath("//*[local-name()='svg']")
    assert len(svgs) == 2  # the heatmap and the trends
    text = page.read_text(encoding="utf-8")
    assert "traffic_police · completeness" in text and "transport" in text
    assert f"Pass rate by day, {FIRST} … {last}" in text
    nav = {a.text: a.get("href") for a in tree.xpath("//nav/a")}
    assert nav["all days"] == "index.html" and nav["the day before"] == f"scorecard_{last - timedelta(days=1)}.html"

    index = lhtml.fromstring((reports / "index.html").read_bytes())
    links = index.xpath("//table//a/@href")
    assert links == [f"scorecard_{FIRST + timedelta(days=n)}.html" for n in reversed(range(len(rates)))]
    for href in links:
        assert (reports / href).exists()


def test_the_history_is_bounded_by_the_window(tmp_path):
    lake = tmp_path / "lake"
    for n in range(HISTORY_DAYS + 5):
        store(lake, FIRST + timedelta(days=n), card(1.0))
    last = FIRST + timedelta(days=HISTORY_DAYS + 4)
    hist = history(lake, last)
    assert hist["day"].nunique() == HISTORY_DAYS
    assert hist["day"].min() == pd.Timestamp(last - timedelta(days=HISTORY_DAYS - 1))


def test_the_reports_are_served_over_http(tmp_path):
    reports = tmp_path / "data" / "reports"
    lake = tmp_path / "data" / "lake"
    store(lake, FIRST, card(0.9))
    write_quality_report(card(0.9), lake, reports, FIRST)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"JILIN_DATA_DIR": str(tmp_path / "data"), "JILIN_REPORTS_URL": f"http://127.0.0.1:{port}",
           "PATH": "/usr/bin:/bin"}
    server = subprocess.Popen([sys.executable, "-m", "jilin_pipelines.cli", "reports"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    index = answer.read().decode("utf-8")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read().decode()
                time.sleep(0.2)
        assert f"scorecard_{FIRST}.html" in index
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/scorecard_{FIRST}.html", timeout=5) as answer:
            assert answer.status == 200 and "90.00%" in answer.read().decode("utf-8")
    finally:
        server.terminate()
        server.wait(timeout=10)
