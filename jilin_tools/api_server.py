"""A stand-in for the departments' HTTP API (``sources/SPEC.md`` §6), serving files from a directory.

``GET /api/v1/{department}/{dataset}?date=YYYY-MM-DD&page=N&page_size=M`` with
``Authorization: Bearer {token}`` answers
``{"date": ..., "page": N, "page_size": M, "total": T, "items": [...]}`` from
``<root>/{department}/{dataset}/{dataset}_YYYYMMDD.jsonl`` — with ``&provider=CODE`` (one of many providers of the
dataset) from ``<root>/{department}/{dataset}/{CODE}/{dataset}_YYYYMMDD.jsonl``:

* a day without a file: ``total`` 0 and no items; a dataset without a directory: ``404``;
* ``page`` starts at 1 (a page past the end has no items); ``page_size`` defaults to and is capped
  at 1000; a missing or malformed ``date``, or a bad ``page`` / ``page_size``: ``400``;
* a missing or wrong token: ``401``;
* a JSONL line the server cannot parse as a JSON object is served as ``{"_unparseable": "<line>"}``
  so that nothing is lost end to end (the client lands it as an unparseable row); blank lines are
  not items.

Faults, for tests and rehearsals:

* ``rate_limit_per_second``: more requests than that within one second are answered ``429`` with
  ``Retry-After: <retry_after>`` (seconds);
* ``fail_every=k``: every k-th authorised API request is answered ``fail_status`` (default 503);
  ``fail_rate=p`` with ``seed``: each request fails with probability p, from a seeded generator
  (deterministic for a given request sequence); ``fail_first=n``: the first n requests fail;
* ``redirect_to``: every request is redirected (302) to that base URL plus the request's path.

Use :func:`serve` to run it in the foreground (the ``serve-sources`` command) or :class:`ApiServer`
to run it on a background thread (tests): ``with ApiServer(root, token="t") as server: server.url``.
"""

from __future__ import annotations

import hmac
import json
import logging
import random
import re
import threading
import time
from collections import OrderedDict, deque
from datetime import date
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from jilin_pipelines.sources.api_client import UNPARSEABLE_KEY
from jilin_pipelines.sources.decoding import decode_strict, decode_tail
from jilin_pipelines.sources.delivery import DeliveryError
from jilin_pipelines.sources.layout import delivery_path
from jilin_pipelines.sources.paths import check_name, ensure_inside

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 1000
_CACHE_ENTRIES = 8
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def load_items(path: Path) -> list:
    """The items of one day file: parsed objects, or ``{"_unparseable": line}`` for bad lines."""
    items: list = []
    decoded = decode_strict(path.read_bytes(), "utf-8")  # a GB18030 file is read as such
    text = decoded.utf8.decode("utf-8") + decode_tail(decoded.truncated_tail)
    for line in text.split("\n"):
        line = line[:-1] if line.endswith("\r") else line
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            obj = None
        items.append(obj if isinstance(obj, dict) else {UNPARSEABLE_KEY: line})
    return items


class _State:
    """Configuration and mutable state shared by the handler threads."""

    def __init__(self, root, token, rate_limit_per_second, retry_after, fail_every, fail_rate, fail_status,
                 fail_first, seed, redirect_to):
        if not token:
            raise ValueError("the API stand-in needs a token")
        self.root = Path(root).resolve()
        self.token = token
        self.rate_limit = rate_limit_per_second
        self.retry_after = retry_after
        self.fail_every = fail_every
        self.fail_rate = fail_rate
        self.fail_status = fail_status
        self.fail_first = fail_first
        self.rng = random.Random(seed)
        self.redirect_to = redirect_to.rstrip("/") if redirect_to else None
        self.lock = threading.Lock()
        self.window: deque[float] = deque()
        self.api_requests = 0
        self.statuses: dict[int, int] = {}
        self.cache: OrderedDict[tuple, list] = OrderedDict()

    def count(self, status: int) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def rate_limited(self) -> bool:
        if not self.rate_limit:
            return False
        now = time.monotonic()
        with self.lock:
            while self.window and now - self.window[0] >= 1.0:
                self.window.popleft()
            if len(self.window) >= self.rate_limit:
                return True
            self.window.append(now)
            return False

    def injected_failure(self) -> bool:
        with self.lock:
            self.api_requests += 1
            n = self.api_requests
            if self.fail_first and n <= self.fail_first:
                return True
            if self.fail_every and n % self.fail_every == 0:
                return True
            if self.fail_rate and self.rng.random() < self.fail_rate:
                return True
        return False

    def items(self, path: Path) -> list:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        items = load_items(path)
        with self.lock:
            self.cache[key] = items
            while len(self.cache) > _CACHE_ENTRIES:
                self.cache.popitem(last=False)
        return items


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "JilinApiStandIn/1.0"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms stalls

    @property
    def state(self) -> _State:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: dict | None = None, headers: dict[str, str] | None = None) -> None:
        try:
            payload = json.dumps(body if body is not None else {}, ensure_ascii=False).encode("utf-8")
        except RecursionError:  # an item nested deeper than the encoder goes: its line, kept as unparseable text
            status, body = 500, {"error": "an item is nested too deeply to serialise"}
            payload = json.dumps(body).encode("utf-8")
        self.state.count(status)  # counted before answering, so a client never sees an uncounted answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, {"error": message, "status": status}, headers)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        state = self.state
        url = urlsplit(self.path)
        if state.redirect_to:
            state.count(302)
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", state.redirect_to + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        parts = url.path.split("/")
        if len(parts) != 5 or parts[:3] != ["", "api", "v1"]:
            self._error(404, "not found: use /api/v1/{department}/{dataset}")
            return
        department, dataset = parts[3], parts[4]
        auth = self.headers.get("Authorization", "")
        expected = f"Bearer {state.token}"
        if not hmac.compare_digest(auth.encode("utf-8", "replace"), expected.encode("utf-8")):
            self._error(401, "missing or wrong token", {"WWW-Authenticate": 'Bearer realm="jilin"'})
            return
        if state.rate_limited():
            self._error(429, "too many requests", {"Retry-After": str(state.retry_after)})
            return
        if state.injected_failure():
            self._error(state.fail_status, "injected failure")
            return
        try:
            check_name(department, "department")
            check_name(dataset, "dataset")
            directory = ensure_inside(state.root, state.root / department / dataset)
        except DeliveryError:
            self._error(404, "unknown dataset")
            return
        if not directory.is_dir():
            self._error(404, f"unknown dataset {department}/{dataset}")
            return
        query = parse_qs(url.query, keep_blank_values=True)
        try:
            text = _one(query, "date")
            if not _DATE_RE.match(text):
                raise ValueError(text)
            day = date.fromisoformat(text)
        except (KeyError, ValueError):
            self._error(400, "date must be given as YYYY-MM-DD")
            return
        try:
            page = int(_one(query, "page", "1"))
            page_size = int(_one(query, "page_size", str(MAX_PAGE_SIZE)))
        except ValueError:
            self._error(400, "page and page_size must be integers")
            return
        if page < 1 or page_size < 1:
            self._error(400, "page and page_size start at 1")
            return
        page_size = min(page_size, MAX_PAGE_SIZE)
        try:
            provider = _one(query, "provider", "") or None  # one of many providers: its own folder
            path = delivery_path(state.root, department, dataset, day, "jsonl", provider)
        except DeliveryError:
            self._error(404, "unknown dataset")
            return
        try:
            items = state.items(path)
        except FileNotFoundError:
            items = []
        except OSError as exc:
            self._error(500, f"cannot read the day file: {exc.strerror}")
            return
        start = (page - 1) * page_size
        self._send(200, {
            "date": day.isoformat(),
            "page": page,
            "page_size": page_size,
            "total": len(items),
            "items": items[start : start + page_size],
        })

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET()


def _one(query: dict[str, list[str]], name: str, default: str | None = None) -> str:
    values = query.get(name)
    if not values:
        if default is None:
            raise KeyError(name)
        return default
    if len(values) > 1:
        raise ValueError(f"{name} given twice")
    return values[0]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state: _State):
        self.state = state
        super().__init__(address, _Handler)


class ApiServer:
    """The stand-in on a background thread: ``with ApiServer(root, token="t") as s: s.url``.

    ``port=0`` (the default) picks a free port. ``statuses`` counts the answers by HTTP status.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_per_second: float | None = None,
        retry_after: int = 1,
        fail_every: int | None = None,
        fail_rate: float = 0.0,
        fail_status: int = 503,
        fail_first: int = 0,
        seed: int = 0,
        redirect_to: str | None = None,
    ):
        self._state = _State(root, token, rate_limit_per_second, retry_after, fail_every, fail_rate, fail_status,
                             fail_first, seed, redirect_to)
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The base URL (still known after the server stopped)."""
        if self._url is None:
            raise RuntimeError("the server was never started")
        return self._url

    @property
    def statuses(self) -> dict[int, int]:
        with self._state.lock:
            return dict(self._state.statuses)

    def bind(self) -> str:
        """Open the listening socket (without serving yet); returns the URL."""
        if self._server is None:
            self._server = _Server(self._address, self._state)
            host, port = self._server.server_address[:2]
            host = f"[{host}]" if ":" in host else host
            self._url = f"http://{host}:{port}"
        return self._url

    def start(self) -> str:
        """Serve on a background thread; returns the URL."""
        self.bind()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="api-stand-in", daemon=True
        )
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        self.bind()
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> ApiServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(root: str | Path, host: str = "127.0.0.1", port: int = 8000, token: str = "", **faults) -> None:
    """Run the stand-in in the foreground until interrupted (``jilin-pipelines serve-sources``).

    ``faults`` are :class:`ApiServer`'s keyword options (rate limit, injected failures, redirect).
    """
    root_path = Path(root)
    if not root_path.is_dir():
        raise SystemExit(f"serve-sources: {root_path} is not a directory")
    if not token:
        raise SystemExit("serve-sources: a token is required (--token)")
    server = ApiServer(root_path, token=token, host=host, port=port, **faults)
    url = server.bind()
    print(f"serving {root_path.resolve()} on {url}/api/v1/{{department}}/{{dataset}} (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
