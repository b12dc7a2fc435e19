"""The emitter: events land in the JSON Lines file (two processes appending at once included) and reach a real
HTTP endpoint on loopback; an endpoint that fails, refuses or hangs never fails the caller."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from lineage_testkit import EVENT_TYPES, KINDS, asset_event

from jilin_pipelines.lineage import LineageEmitter, default_path, validate_event


def _events() -> list[dict]:
    return [asset_event(kind, t) for kind in KINDS for t in EVENT_TYPES]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_events_round_trip_through_the_file(tmp_path, spec_dir):
    emitter = LineageEmitter.for_data_dir(tmp_path / "data")
    assert emitter.path == tmp_path / "data" / "lineage" / "openlineage.jsonl" == default_path(tmp_path / "data")
    events = _events()
    for event in events:
        result = emitter.emit(event)
        assert (result.path, result.url, result.delivered, result.error) == (emitter.path, None, False, None)
    raw = emitter.path.read_bytes()
    assert raw.count(b"\n") == len(events) and raw.endswith(b"\n")
    assert "所有人证件号码".encode() in raw  # UTF-8 as is, not \u escapes
    read = _lines(emitter.path)
    assert read == events
    for event in read:
        validate_event(event, spec_dir)


def test_the_file_is_appended_to_not_replaced(tmp_path):
    path = tmp_path / "lineage" / "openlineage.jsonl"
    first, second = asset_event("raw", "START"), asset_event("raw", "COMPLETE")
    LineageEmitter(path).emit(first)
    LineageEmitter(path).emit(second)  # another emitter, as another run would have
    assert _lines(path) == [first, second]


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from jilin_pipelines.lineage import LineageEmitter
    path, who, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    emitter = LineageEmitter(path)
    (go.parent / f"ready-{who}").touch()
    while not go.exists():
        time.sleep(0.001)
    for i in range(count):
        emitter.emit({"who": who, "i": i, "padding": who * 200_000})
    """
)


def test_two_processes_appending_at_once_never_interleave(tmp_path):
    """Lines of 200 kB (far beyond PIPE_BUF and Python's buffer) from two processes started together."""
    path, go, count = tmp_path / "openlineage.jsonl", tmp_path / "go", 40
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), who, str(count), str(go)]) for who in "ab"
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{who}").exists() for who in "ab") and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    assert [w.wait(timeout=60) for w in writers] == [0, 0]
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]  # a torn line would not parse
    for who in "ab":
        mine = [r for r in records if r["who"] == who]
        assert [r["i"] for r in mine] == list(range(count))
        assert all(r["padding"] == who * 200_000 for r in mine)


def test_posting_delivers_the_same_events(tmp_path, endpoint):
    server = endpoint(200)
    emitter = LineageEmitter(tmp_path / "ol.jsonl", server.url)
    events = _events()
    results = [emitter.emit(e) for e in events]
    assert all(r.delivered and r.attempts == 1 and r.error is None for r in results)
    assert results[0].url == f"{server.url}/api/v1/lineage"
    assert [r["path"] for r in server.requests] == ["/api/v1/lineage"] * len(events)
    assert {r["content_type"] for r in server.requests} == {"application/json"}
    assert server.bodies == events == _lines(emitter.path)


def test_a_full_lineage_url_is_not_extended(tmp_path, endpoint):
    server = endpoint(201)
    result = LineageEmitter(tmp_path / "ol.jsonl", f"{server.url}/api/v1/lineage/").emit(asset_event("base", "START"))
    assert result.delivered
    assert [r["path"] for r in server.requests] == ["/api/v1/lineage"]


def test_an_endpoint_answering_500_does_not_fail_the_caller(tmp_path, endpoint, caplog):
    server = endpoint(500)
    emitter = LineageEmitter(tmp_path / "ol.jsonl", server.url, retries=2, backoff=0.01)
    event = asset_event("scenario", "COMPLETE")
    with caplog.at_level(logging.WARNING, logger="jilin_pipelines.lineage.emit"):
        result = emitter.emit(event)
    assert (result.delivered, result.attempts) == (False, 3)
    assert result.error.startswith("HTTP 500")
    assert "220102********1234" in result.error and "220102199001011234" not in result.error
    assert len(server.requests) == 3  # bounded: 1 + retries
    assert _lines(emitter.path) == [event]
    assert "not delivered" in caplog.text and "after 3 attempt(s)" in caplog.text


def test_a_transient_failure_is_retried(tmp_path, endpoint):
    server = endpoint(503, 429, 200)
    result = LineageEmitter(tmp_path / "ol.jsonl", server.url, retries=2, backoff=0.01).emit(asset_event("raw", "START"))
    assert (result.delivered, result.attempts, result.error) == (True, 3, None)
    assert len(server.requests) == 3 and server.bodies[0] == server.bodies[2]


def test_a_rejected_event_is_not_retried(tmp_path, endpoint):
    server = endpoint(400)
    result = LineageEmitter(tmp_path / "ol.jsonl", server.url, retries=3, backoff=0.01).emit(asset_event("raw", "START"))
    assert (result.delivered, result.attempts) == (False, 1)
    assert result.error.startswith("HTTP 400")
    assert len(server.requests) == 1


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_does_not_fail_the_caller(tmp_path):
    url = f"http://user:secret@127.0.0.1:{_closed_port()}"
    emitter = LineageEmitter(tmp_path / "ol.jsonl", url, retries=1, backoff=0.01)
    event = asset_event("standardised", "FAIL")
    result = emitter.emit(event)
    assert (result.delivered, result.attempts) == (False, 2)
    assert result.error.startswith("ConnectionError")
    assert "secret" not in result.error and "secret" not in result.url
    assert _lines(emitter.path) == [event]


def test_a_hanging_endpoint_times_out(tmp_path, endpoint):
    server = endpoint(200, hang=10)
    emitter = LineageEmitter(tmp_path / "ol.jsonl", server.url, timeout=0.3, retries=1, backoff=0.01)
    started = time.monotonic()
    result = emitter.emit(asset_event("base", "COMPLETE"))
    assert time.monotonic() - started < 5
    assert (result.delivered, result.attempts) == (False, 2)
    assert "Timeout" in result.error
    assert len(_lines(emitter.path)) == 1


def test_an_unwritable_file_does_raise(tmp_path):
    """The file is the record of lineage: failing to write it is an error, unlike a failing endpoint."""
    blocker = tmp_path / "data"
    blocker.write_text("not a directory")
    with pytest.raises(OSError):
        LineageEmitter.for_data_dir(blocker).emit(asset_event("raw", "START"))


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(ValueError):
        LineageEmitter(tmp_path / "x", "http://127.0.0.1:1", retries=-1)
    with pytest.raises(ValueError):
        LineageEmitter(tmp_path / "x", "http://127.0.0.1:1", timeout=0)


@pytest.fixture()
def fresh_cooldowns():
    LineageEmitter.reset_cooldowns()
    yield
    LineageEmitter.reset_cooldowns()


def test_a_hanging_endpoint_is_left_alone_for_the_cooldown(tmp_path, endpoint, fresh_cooldowns):
    server = endpoint(200, hang=10)
    first = LineageEmitter(tmp_path / "ol.jsonl", server.url, timeout=0.3, retries=0, cooldown=60)
    assert "Timeout" in first.emit(asset_event("raw", "START")).error
    started = time.monotonic()
    # another emitter of the same process (the next asset) skips the endpoint at once; the file gets the event
    second = LineageEmitter(tmp_path / "ol.jsonl", server.url, timeout=0.3, retries=0, cooldown=60)
    result = second.emit(asset_event("raw", "COMPLETE"))
    assert time.monotonic() - started < 0.2
    assert (result.delivered, result.attempts) == (False, 0) and result.error.startswith("skipped")
    assert len(server.requests) == 1
    assert [e["eventType"] for e in _lines(first.path)] == ["START", "COMPLETE"]


def test_after_the_cooldown_the_endpoint_is_tried_again(tmp_path, endpoint, fresh_cooldowns):
    server = endpoint(503, 200)
    emitter = LineageEmitter(tmp_path / "ol.jsonl", server.url, retries=0, cooldown=0.3)
    assert not emitter.emit(asset_event("raw", "START")).delivered
    assert emitter.emit(asset_event("raw", "START")).attempts == 0
    time.sleep(0.35)
    assert emitter.emit(asset_event("raw", "COMPLETE")).delivered
    assert len(server.requests) == 2


def test_a_rejected_event_does_not_start_the_cooldown(tmp_path, endpoint, fresh_cooldowns):
    """A 4xx is about the event, not the endpoint: the next event is posted."""
    server = endpoint(400, 200)
    emitter = LineageEmitter(tmp_path / "ol.jsonl", server.url, retries=0, cooldown=60)
    assert emitter.emit(asset_event("raw", "START")).error.startswith("HTTP 400")
    assert emitter.emit(asset_event("raw", "COMPLETE")).delivered


def test_without_cooldown_every_event_is_tried(tmp_path, fresh_cooldowns):
    url = f"http://127.0.0.1:{_closed_port()}"
    emitter = LineageEmitter(tmp_path / "ol.jsonl", url, retries=0, backoff=0)
    assert [emitter.emit(asset_event("raw", t)).attempts for t in ("START", "COMPLETE")] == [1, 1]
