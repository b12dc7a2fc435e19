"""Fixtures of the lineage tests: the OpenLineage spec copy beside the checkout, loopback HTTP endpoints."""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# The OpenLineage spec, copied into the checkout with its licence (openlineage-spec/NOTICE, LICENSE)
SPEC_DIR = Path(__file__).resolve().parent / "openlineage-spec"


@pytest.fixture(scope="session")
def spec_dir() -> Path:
    if not (SPEC_DIR / "OpenLineage.json").is_file():
        pytest.fail(f"the OpenLineage spec is missing: expected {SPEC_DIR}/OpenLineage.json in the checkout")
    return SPEC_DIR


@dataclass
class Endpoint:
    """A real HTTP server on loopback that records every request and answers with ``statuses`` in turn."""

    statuses: list[int]
    hang: float = 0.0  # seconds to wait before answering (to provoke client time-outs)
    requests: list[dict] = field(default_factory=list)
    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def bodies(self) -> list[object]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture()
def endpoint():
    """Factory: ``endpoint(200)``, ``endpoint(503, 200)``, ``endpoint(200, hang=2)``; the last status repeats."""
    servers: list[tuple[http.server.ThreadingHTTPServer, Endpoint]] = []

    def start(*statuses: int, hang: float = 0.0) -> Endpoint:
        state = Endpoint(statuses=list(statuses) or [200], hang=hang)
        lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    n = len(state.requests)
                    state.requests.append(
                        {"path": self.path, "content_type": self.headers.get("Content-Type"), "body": body}
                    )
                if state.hang:
                    state.release.wait(state.hang)
                status = state.statuses[min(n, len(state.statuses) - 1)]
                payload = b"{}" if status < 300 else b"boom: 220102199001011234"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on a hanging endpoint: what the test is about

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        servers.append((server, state))
        return state

    yield start
    for server, state in servers:
        state.release.set()
        server.shutdown()
        server.server_close()
