"""The emitter sends through the official OpenLineage client's transports: its HttpTransport to a real HTTP server on
loopback (headers and credentials included), its FileTransport writing a file, its KafkaTransport (configured only
when asked; confluent-kafka is not a dependency), and the client's own configuration from the environment."""

from __future__ import annotations

import base64
import http.server
import json
import logging
import sys
import threading
import types
from pathlib import Path

import pytest
from lineage_testkit import asset_event

from jilin_pipelines.lineage import LineageEmitter, validate_event
from jilin_pipelines.lineage.emit import client_transport_config


@pytest.fixture(autouse=True)
def fresh_cooldowns():
    LineageEmitter.reset_cooldowns()
    yield
    LineageEmitter.reset_cooldowns()


@pytest.fixture()
def server():
    """A loopback HTTP server recording each request's path, headers and JSON body; answers ``status`` (200)."""
    received: list[dict] = []
    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
            payload = b"{}" if state["status"] < 300 else "rejected: owner_name=张三 13912345678".encode()
            self.send_response(state["status"])
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield types.SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_address[1]}", received=received, state=state)
    httpd.shutdown()
    httpd.server_close()


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_endpoint_is_posted_to_by_the_clients_http_transport(tmp_path, server, spec_dir):
    from openlineage.client.transport.http import HttpTransport

    emitter = LineageEmitter(tmp_path / "ol.jsonl", server.url, api_key="k3y-0f-the-endpoint")
    assert [type(s.transport) for s in emitter._sinks] == [HttpTransport]
    event = asset_event("scenario", "COMPLETE")
    result = emitter.emit(event)
    assert (result.delivered, result.attempts, result.error) == (True, 1, None)
    assert result.url == f"{server.url}/api/v1/lineage" and emitter.targets == [result.url]
    [request] = server.received
    assert request["path"] == "/api/v1/lineage"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["Authorization"] == "Bearer k3y-0f-the-endpoint"
    assert request["body"] == event == _lines(emitter.path)[0]
    validate_event(request["body"], spec_dir)


def test_credentials_in_the_url_are_sent_but_never_shown_or_logged(tmp_path, server, caplog):
    url = server.url.replace("http://", "http://jilin:s3cr%40t-pw@")
    server.state["status"] = 500
    with caplog.at_level(logging.DEBUG):  # every logger: ours, the client's, requests' and urllib3's
        emitter = LineageEmitter(tmp_path / "ol.jsonl", url, retries=1, backoff=0.01)
        result = emitter.emit(asset_event("raw", "START"))
    assert (result.delivered, result.attempts) == (False, 2)
    assert [r["headers"]["Authorization"] for r in server.received] == [
        "Basic " + base64.b64encode(b"jilin:s3cr@t-pw").decode()
    ] * 2
    # the answer's personal values are masked in the error, and the credentials are nowhere
    assert result.error.startswith("HTTP 500: rejected:")
    assert "13912345678" not in result.error and "张三" not in result.error
    shown = " ".join([result.url, result.error, caplog.text, *emitter.targets])
    assert "s3cr" not in shown
    assert base64.b64encode(b"jilin:s3cr@t-pw").decode() not in shown  # nor the header the client was given
    assert "Constructing OpenLineage transport" in caplog.text  # the client's debug log was captured, and clean
    assert "not delivered" in caplog.text


def test_an_unreachable_endpoint_is_masked_and_left_alone_for_the_cooldown(tmp_path, caplog):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://user:hunter2@127.0.0.1:{port}"
    emitter = LineageEmitter(tmp_path / "ol.jsonl", url, retries=0, cooldown=60)
    with caplog.at_level(logging.DEBUG):
        first = emitter.emit(asset_event("raw", "START"))
        second = LineageEmitter(tmp_path / "ol.jsonl", url, retries=0, cooldown=60).emit(asset_event("raw", "COMPLETE"))
    assert first.error.startswith("ConnectionError") and first.attempts == 1
    assert second.error.startswith("skipped") and second.attempts == 0
    assert "hunter2" not in caplog.text + first.error + first.url
    assert len(_lines(emitter.path)) == 2


def test_a_bad_url_is_reported_not_raised(tmp_path):
    emitter = LineageEmitter(tmp_path / "ol.jsonl", "marquez:5000")
    result = emitter.emit(asset_event("raw", "START"))
    assert not result.delivered and result.error.startswith("not set up: ValueError")
    assert len(_lines(emitter.path)) == 1


def test_the_clients_file_transport_writes_its_file(tmp_path, spec_dir):
    from openlineage.client.transport.file import FileConfig, FileTransport

    copy = tmp_path / "copy" / "events.jsonl"
    copy.parent.mkdir()
    instance = tmp_path / "instance.jsonl"
    emitter = LineageEmitter(
        tmp_path / "ol.jsonl",
        transports=[
            {"type": "file", "log_file_path": str(copy), "append": True},
            FileTransport(FileConfig(log_file_path=str(instance), append=True)),
        ],
    )
    assert emitter.targets == [f"file:{copy}", f"file:{instance}"]
    events = [asset_event(kind, t) for kind in ("raw", "base") for t in ("START", "COMPLETE")]
    results = [emitter.emit(e) for e in events]
    assert all(r.delivered and r.error is None for r in results)
    assert [d.attempts for d in results[0].deliveries] == [1, 1]
    assert _lines(copy) == events == _lines(instance) == _lines(emitter.path)
    emitter.close()
    for event in _lines(copy):
        validate_event(event, spec_dir)


def test_a_failing_transport_does_not_stop_the_others(tmp_path, server):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("")
    emitter = LineageEmitter(
        tmp_path / "ol.jsonl", server.url,
        transports=[{"type": "file", "log_file_path": str(blocked / "x.jsonl"), "append": True}],
        cooldown=60,
    )
    first, second = emitter.emit(asset_event("raw", "START")), emitter.emit(asset_event("raw", "COMPLETE"))
    assert [d.delivered for d in first.deliveries] == [True, False]
    assert not first.delivered and first.url == f"file:{blocked / 'x.jsonl'}"
    assert first.error.startswith(f"file:{blocked / 'x.jsonl'}: RuntimeError")
    assert second.deliveries[1].error.startswith("skipped")  # the cooldown holds for every kind of transport
    assert len(server.received) == 2 and len(_lines(emitter.path)) == 2


def test_kafka_without_confluent_kafka_is_reported_when_configured(tmp_path, caplog):
    pytest.importorskip("openlineage.client.transport.kafka")
    if "confluent_kafka" in sys.modules:
        pytest.skip("confluent-kafka is installed")
    with caplog.at_level(logging.ERROR, logger="jilin_pipelines.lineage.emit"):
        emitter = LineageEmitter(tmp_path / "ol.jsonl", transports=[
            {"type": "kafka", "topic": "lineage", "config": {"bootstrap.servers": "127.0.0.1:9"}}])
    result = emitter.emit(asset_event("raw", "START"))
    assert result.error.startswith("not set up: ModuleNotFoundError") and "confluent_kafka" in result.error
    assert "not set up" in caplog.text
    assert len(_lines(emitter.path)) == 1


def test_kafka_events_are_keyed_like_the_clients(tmp_path, monkeypatch):
    """A stand-in for confluent_kafka (not installed) records what the client's KafkaTransport produces."""
    produced: list[dict] = []

    class Producer:
        def __init__(self, config):
            self.config = config

        def produce(self, **kwargs):
            produced.append(kwargs)

        def flush(self, timeout=-1):
            return 0

    monkeypatch.setitem(sys.modules, "confluent_kafka", types.SimpleNamespace(Producer=Producer))
    emitter = LineageEmitter(tmp_path / "ol.jsonl", transports=[
        {"type": "kafka", "topic": "openlineage.events", "config": {"bootstrap.servers": "kafka:9092"}}])
    assert emitter.targets == ["kafka:openlineage.events"]
    scenario, raw = asset_event("scenario", "COMPLETE"), asset_event("raw", "START")
    assert emitter.emit(scenario).delivered and emitter.emit(raw).delivered
    assert [p["topic"] for p in produced] == ["openlineage.events"] * 2
    assert [p["key"] for p in produced] == [
        "run:jilin_pipelines/scenario_social_assistance_verification",  # the parent job: a scenario's runs in order
        "run:jilin_pipelines/traffic_police/raw/motor_vehicles",
    ]
    assert [json.loads(p["value"]) for p in produced] == [scenario, raw]


def test_the_clients_configuration_from_the_environment(tmp_path):
    assert client_transport_config({}) is None
    env = {
        "OPENLINEAGE__TRANSPORT__TYPE": "kafka",
        "OPENLINEAGE__TRANSPORT__TOPIC": "lineage",
        "OPENLINEAGE__TRANSPORT__CONFIG": '{"bootstrap.servers": "kafka:9092"}',
        "OPENLINEAGE__TRANSPORT__FLUSH": "true",
    }
    assert client_transport_config(env) == {
        "type": "kafka", "topic": "lineage", "config": {"bootstrap.servers": "kafka:9092"}, "flush": True}
    yml = tmp_path / "openlineage.yml"
    yml.write_text("transport:\n  type: file\n  log_file_path: /tmp/ol.json\n  append: true\n", encoding="utf-8")
    # the file wins over the variables where both say something, as in the client
    assert client_transport_config({**env, "OPENLINEAGE_CONFIG": str(yml)}) == {
        "type": "file", "topic": "lineage", "config": {"bootstrap.servers": "kafka:9092"}, "flush": True,
        "log_file_path": "/tmp/ol.json", "append": True}
    assert client_transport_config({"OPENLINEAGE_URL": "http://marquez:5000", "OPENLINEAGE_API_KEY": "k"}) == {
        "type": "http", "url": "http://marquez:5000", "endpoint": "api/v1/lineage",
        "auth": {"type": "api_key", "apiKey": "k"}}
    assert client_transport_config({**env, "OPENLINEAGE_DISABLED": "true"}) is None
    assert client_transport_config({"OPENLINEAGE_CONFIG": str(tmp_path / "missing.yml")}) is None


def test_from_environment_sends_through_the_configured_transport(tmp_path, server):
    copy = tmp_path / "copy.jsonl"
    env = {"OPENLINEAGE__TRANSPORT__TYPE": "file", "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(copy),
           "OPENLINEAGE__TRANSPORT__APPEND": "true"}
    emitter = LineageEmitter.from_environment(tmp_path / "data", server.url, environ=env, retries=0)
    event = asset_event("standardised", "COMPLETE")
    assert emitter.emit(event).delivered
    assert _lines(copy) == [event] == [r["body"] for r in server.received]
    assert _lines(tmp_path / "data" / "lineage" / "openlineage.jsonl") == [event]


def test_the_same_endpoint_named_twice_is_posted_to_once(tmp_path, server):
    env = {"OPENLINEAGE_URL": server.url}
    emitter = LineageEmitter.from_environment(tmp_path / "data", server.url, environ=env)
    assert emitter.emit(asset_event("raw", "START")).delivered
    assert len(server.received) == 1
    # the client's HTTP configuration alone is posted to as well (by its own HttpTransport)
    alone = LineageEmitter.from_environment(tmp_path / "data", None, environ=env)
    assert alone.emit(asset_event("raw", "COMPLETE")).delivered
    assert len(server.received) == 2 and alone.targets == [f"{server.url}/api/v1/lineage"]
