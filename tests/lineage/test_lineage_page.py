"""The lineage page: events built by the real event builder (``run_event``) for two jobs chained through a dataset
with column lineage, written by the emitter, read back into a self-contained page whose nodes, edges, column lineage
and links are checked with lxml."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import lxml.html
import pytest

from jilin_pipelines.lineage import (
    LAKE_NAMESPACE,
    DatasetRef,
    InputField,
    LineageEmitter,
    file_source_namespace,
    run_event,
    run_id_for,
)
from jilin_pipelines.lineage.page import dataset_layer, page_path, read_latest, write_lineage_page

T0 = datetime(2025, 6, 3, 2, 0, tzinfo=timezone.utc)
SOURCES = file_source_namespace("/srv/jilin/sources")
HOSTILE = '<script>alert("x")</script> & <b>bold</b>'

SOURCE = DatasetRef(SOURCES, "traffic_police/motor_vehicles", [("号牌号码", "string"), ("hpzl", "string")])
RAW_NAME = "raw/traffic_police/motor_vehicles"
STD_NAME = "standardised/traffic_police/motor_vehicles"


def raw(rows: int | None) -> DatasetRef:
    return DatasetRef(
        LAKE_NAMESPACE, RAW_NAME,
        [("号牌号码", "string", "号牌号码 → plate"), ("hpzl", "string", "号牌种类 → plate_type")],
        {"号牌号码": [InputField(SOURCES, SOURCE.name, "号牌号码", "DIRECT", "IDENTITY")],
         "hpzl": [InputField(SOURCES, SOURCE.name, "hpzl", "DIRECT", "IDENTITY")]},
        row_count=rows,
    )


def standardised(rows: int | None) -> DatasetRef:
    return DatasetRef(
        LAKE_NAMESPACE, STD_NAME,
        [("plate", "string", HOSTILE), ("plate_type", "string", "vehicle plate type"), ("valid", "boolean")],
        {"plate": [InputField(LAKE_NAMESPACE, RAW_NAME, "号牌号码", "DIRECT", "TRANSFORMATION", "normalised")],
         "plate_type": [InputField(LAKE_NAMESPACE, RAW_NAME, "hpzl", "DIRECT", "IDENTITY")],
         "valid": [InputField(LAKE_NAMESPACE, RAW_NAME, "号牌号码", "INDIRECT", "CONDITIONAL"),
                   InputField(LAKE_NAMESPACE, RAW_NAME, "hpzl", "INDIRECT", "CONDITIONAL")]},
        row_count=rows,
    )


def day_events(day: int, raw_rows: int, std_rows: int, *, fail_std: bool = False) -> list[dict]:
    """START and COMPLETE of the raw landing, then of the standardisation (FAIL instead when ``fail_std``)."""
    at = T0 + timedelta(days=day)
    partition = date(2025, 6, 2) + timedelta(days=day)
    raw_job, std_job = "traffic_police/raw/motor_vehicles", "traffic_police/standardised/motor_vehicles"
    raw_run, std_run = run_id_for("dagster", raw_job, partition), run_id_for("dagster", std_job, partition)
    common = dict(partition_day=partition)
    events = [
        run_event("START", run_id=raw_run, job_name=raw_job, event_time=at, inputs=[SOURCE], outputs=[raw(None)],
                  **common),
        run_event("COMPLETE", run_id=raw_run, job_name=raw_job, event_time=at + timedelta(seconds=5),
                  inputs=[SOURCE], outputs=[raw(raw_rows)], **common),
        run_event("START", run_id=std_run, job_name=std_job, event_time=at + timedelta(seconds=6),
                  inputs=[raw(None)], outputs=[standardised(None)], **common),
    ]
    if fail_std:
        events.append(run_event("FAIL", run_id=std_run, job_name=std_job, event_time=at + timedelta(seconds=9),
                                inputs=[raw(None)], outputs=[standardised(None)], error="the rules could not run",
                                **common))
    else:
        events.append(run_event("COMPLETE", run_id=std_run, job_name=std_job, event_time=at + timedelta(seconds=9),
                                inputs=[raw(None)], outputs=[standardised(std_rows)], **common))
    return events


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    """Two days of events (the second day's standardisation failed), written by the emitter."""
    data = tmp_path / "data"
    emitter = LineageEmitter.for_data_dir(data)
    for event in day_events(0, 1000, 990) + day_events(1, 1200, 1111, fail_std=True):
        emitter.emit(event)
    return data


def ids_of(doc) -> list[str]:
    return doc.xpath("//@id")


def node(doc, kind: str, name: str):
    """The graph's box of a dataset or job, by its name (the box's ``text.name``)."""
    found = [a for a in doc.xpath(f'//svg//a[contains(@class, "{kind}")]')
             if a.xpath('string(.//*[@class="name"])') == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} nodes"
    return found[0]


def test_the_page_shows_nodes_edges_and_column_lineage(data_dir):
    out = write_lineage_page(data_dir)
    assert out == page_path(data_dir) == data_dir / "reports" / "lineage.html"
    doc = lxml.html.fromstring(out.read_bytes())

    # one node per dataset and per job, however many days and runs name them
    assert len(doc.xpath('//svg//a[contains(@class, "dataset")]')) == 3
    assert len(doc.xpath('//svg//a[contains(@class, "job")]')) == 2
    source = node(doc, "dataset", SOURCE.name)
    raw_node = node(doc, "dataset", RAW_NAME)
    std_node = node(doc, "dataset", STD_NAME)
    raw_job = node(doc, "job", "traffic_police/raw/motor_vehicles")
    std_job = node(doc, "job", "traffic_police/standardised/motor_vehicles")
    assert "file:///srv/jilin/sources" in source.text_content()
    assert "source" in source.get("class") and "raw" in raw_node.get("class")
    assert "standardised" in std_node.get("class")
    assert "fail" in std_job.get("class")  # its newest event failed ...

    # ... while the graph is drawn from its newest COMPLETE: dataset → job → dataset → job → dataset
    edges = {(p.get("data-from"), p.get("data-to")) for p in doc.xpath("//svg//path[contains(@class, 'edge')]")}
    ident = {a: a.get("data-node") for a in (source, raw_node, std_node, raw_job, std_job)}
    assert edges == {
        (ident[source], ident[raw_job]), (ident[raw_job], ident[raw_node]),
        (ident[raw_node], ident[std_job]), (ident[std_job], ident[std_node]),
    }
    # laid out by layer, left to right
    x = {n: float(n.xpath(".//rect")[0].get("x")) for n in ident}
    assert x[source] < x[raw_job] < x[raw_node] < x[std_job] < x[std_node]

    # a column and the input columns it comes from, linked to the input dataset's column
    std_section = doc.get_element_by_id(std_node.get("href")[1:])
    rows = {r.xpath("./td[1]")[0].text_content(): r for r in std_section.xpath(".//table//tbody/tr")}
    assert list(rows) == ["plate", "plate_type", "valid"]
    valid_from = rows["valid"].xpath("./td[4]//a")
    assert [a.text_content() for a in valid_from] == [f"{RAW_NAME}.号牌号码", f"{RAW_NAME}.hpzl"]
    targets = [doc.get_element_by_id(a.get("href")[1:]) for a in valid_from]
    assert [t.xpath("./td[1]")[0].text_content() for t in targets] == ["号牌号码", "hpzl"]
    assert all(t.xpath("ancestor::section")[0].get("id") == raw_node.get("href")[1:] for t in targets)
    assert "INDIRECT/CONDITIONAL" in rows["valid"].xpath("./td[4]")[0].text_content()
    assert "DIRECT/TRANSFORMATION" in rows["plate"].xpath("./td[4]")[0].text_content()
    # the raw landing's columns come from the delivery's fields
    raw_section = doc.get_element_by_id(raw_node.get("href")[1:])
    assert f"{SOURCE.name}.号牌号码" in raw_section.text_content()

    # the newest run's figures: day 2's landing; the standardised output's last COMPLETE (day 1)
    assert "1,200" in raw_section.text_content() and "1,000" not in raw_section.text_content()
    assert "1,111" not in std_section.text_content() and "990" in std_section.text_content()
    job_section = doc.get_element_by_id(std_job.get("href")[1:])
    assert "FAIL" in job_section.text_content() and "the rules could not run" in job_section.text_content()
    assert "2025-06-02T00:00:00+08:00" in job_section.text_content()  # the COMPLETE shown is of the first day


def test_every_link_resolves_and_ids_are_unique(data_dir):
    doc = lxml.html.fromstring(write_lineage_page(data_dir).read_bytes())
    ids = ids_of(doc)
    assert len(ids) == len(set(ids))
    hrefs = doc.xpath("//@href")
    outside = [h for h in hrefs if not h.startswith("#")]
    assert outside == ["index.html"]  # nothing outside the page but the reports' index beside it
    hrefs = [h for h in hrefs if h.startswith("#")]
    assert hrefs
    assert sorted({h[1:] for h in hrefs} - set(ids)) == []
    # every dataset and job of the graph has its section
    for a in doc.xpath("//svg//a"):
        assert doc.get_element_by_id(a.get("href")[1:]).tag in ("section",)


def test_the_page_is_self_contained_and_escapes_everything(data_dir):
    text = write_lineage_page(data_dir).read_text(encoding="utf-8")
    doc = lxml.html.fromstring(text.encode("utf-8"))
    assert not doc.xpath("//script[@src] | //link | //img | //iframe")
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text
    scripts = doc.xpath("//script")
    assert len(scripts) == 1 and "alert" not in scripts[0].text_content()
    assert not doc.xpath("//b")  # the description's markup is text, not elements
    assert HOSTILE in doc.text_content()
    assert html_escaped(HOSTILE) in text


def html_escaped(text: str) -> str:
    import html

    return html.escape(text)


def test_unreadable_lines_and_foreign_events_are_handled(data_dir, tmp_path):
    path = data_dir / "lineage" / "openlineage.jsonl"
    newest = day_events(2, 1300, 1290)[1]  # the raw landing of a third day ...
    with path.open("a", encoding="utf-8") as f:
        f.write('{"eventType":"COMPLETE","eventTime":"2025-06-0')  # a torn line
        f.write("\n\n")
        f.write("not json\n")
        f.write(json.dumps(newest, indent=None) + "\n")  # ... written by another producer's formatting
    latest = read_latest(path)
    assert (latest.lines, latest.unreadable) == (11, 2)  # 8 events, 2 unreadable, 1 more event
    key = ("jilin_pipelines", "traffic_police/raw/motor_vehicles")
    assert latest.newest[key] == newest == latest.complete[key]
    assert read_latest(path, fast=False).newest == latest.newest
    doc = lxml.html.fromstring(write_lineage_page(data_dir).read_bytes())
    assert "2 lines not read" in doc.xpath("//header")[0].text_content()
    assert "1,300" in doc.text_content()


def test_newest_wins_by_event_time_not_by_line(tmp_path):
    """A run written late (an old partition backfilled) does not replace a newer run of the job."""
    data = tmp_path / "data"
    emitter = LineageEmitter.for_data_dir(data)
    for event in day_events(5, 500, 490) + day_events(1, 100, 90):
        emitter.emit(event)
    latest = read_latest(data / "lineage" / "openlineage.jsonl")
    [raw_complete] = [e for k, e in latest.complete.items() if k[1] == "traffic_police/raw/motor_vehicles"]
    assert raw_complete["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 500


def test_no_events_gives_a_page_that_says_so(tmp_path):
    out = write_lineage_page(tmp_path / "data", tmp_path / "elsewhere" / "page.html")
    assert out == tmp_path / "elsewhere" / "page.html"
    doc = lxml.html.fromstring(out.read_bytes())
    assert "0 datasets and 0 jobs" in doc.text_content() and "no events at" in doc.text_content()


def test_a_long_history_keeps_one_node_per_dataset(tmp_path):
    """Many days of the same two jobs: still three datasets and two jobs, the last day's figures."""
    data = tmp_path / "data"
    emitter = LineageEmitter.for_data_dir(data)
    lines = b"".join(
        b"".join(json.dumps(e, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                 for e in day_events(d, 1000 + d, 900 + d))
        for d in range(300)
    )
    emitter.write(lines)
    latest = read_latest(data / "lineage" / "openlineage.jsonl")
    assert latest.lines == 1200 and len(latest.newest) == 2
    doc = lxml.html.fromstring(write_lineage_page(data).read_bytes())
    assert len(doc.xpath("//svg//a")) == 5
    assert "1,299" in doc.text_content() and "1,298" not in doc.text_content()


@pytest.mark.parametrize(
    ("namespace", "name", "layer"),
    [
        ("file:///srv/jilin/sources", "traffic_police/motor_vehicles", "source"),
        ("postgresql://db:5432/front", "SI_INSURED", "source"),
        (LAKE_NAMESPACE, RAW_NAME, "raw"),
        (LAKE_NAMESPACE, STD_NAME, "standardised"),
        (LAKE_NAMESPACE, "quality/traffic_police/motor_vehicles", "standardised"),
        ("jilin://base", "person", "base"),
        ("jilin://scenarios", "certificate_verification/decisions", "scenario"),
    ],
)
def test_layers(namespace, name, layer):
    assert dataset_layer(namespace, name) == layer
