"""Client of the departments' HTTP API (``sources/SPEC.md`` §6).

``GET {base_url}/api/v1/{department}/{dataset}?date=YYYY-MM-DD&page=N&page_size=M`` with
``Authorization: Bearer {token}``, pages from 1 until a page has no items.

* every request has a timeout (connect, read);
* connection errors, timeouts, broken bodies and ``5xx`` are retried up to ``max_retries`` times per
  page, waiting ``backoff * 2**attempt`` seconds (capped at ``max_backoff``);
* ``429`` waits what ``Retry-After`` says (seconds or an HTTP date), at most ``max_retry_after``
  seconds, then retries (counted against the same ``max_retries``);
* ``401``/``403`` fail at once with a :class:`DeliveryError` naming the endpoint (never the token),
  ``404`` is an unknown dataset, any other ``4xx`` fails at once;
* redirects are never followed automatically: one to the same scheme, host and port is followed
  (at most 5), one anywhere else is refused with a :class:`DeliveryError`;
* the items received must add up to the ``total`` the API announced, or the fetch fails;
* bounded: a whole delivery (every page, retries and waits included) must be complete within ``deadline``
  seconds (default 300; a body is read as it arrives, so a server that trickles is cut off too), a total above
  ``MAX_TOTAL`` or more items than the announced total are refused, a page is at most ``MAX_PAGE_BYTES`` (pages
  that never run out end at the deadline). A source
  that cannot be reached, fails, or misses the deadline raises :class:`SourceUnavailable` (retried later);
  a delivery that is wrong raises :class:`DeliveryError` (held).

Items become rows like JSON Lines objects (strings as they are, numbers as JSON writes them, lists
and objects as compact JSON); ``_source_row`` is the item's position over all pages. An item the
stand-in could not parse (``{"_unparseable": "<line>"}``) or an item that is not an object is an
unparseable row with its raw text.

``location`` is the endpoint URL with the day (``...?date=YYYY-MM-DD``) and without credentials.
``sha256`` and ``size_bytes`` are those of the **canonical JSON of the received items**: the UTF-8
bytes of one JSON array holding every item in the order received, each item serialised with
``json.dumps(item, ensure_ascii=False, separators=(",", ":"), sort_keys=True)``. The same items in
the same order give the same digest, whatever the paging or the server's formatting.

A day with no items (``total`` 0) is no delivery: an empty table, ``location`` None, a warning.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import re
import time
from collections.abc import Sequence
from datetime import date, datetime, timezone
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import requests

from jilin_pipelines.sources.collector import ColumnCollector
from jilin_pipelines.sources.delivery import Delivery, DeliveryError, Sink, SourceUnavailable, empty_table
from jilin_pipelines.sources.delivery_warnings import Warnings
from jilin_pipelines.sources.jsonl_reader import LONE_SURROGATE, compact_json, object_texts
from jilin_pipelines.sources.paths import check_name
from jilin_pipelines.sources.reader import no_delivery

log = logging.getLogger(__name__)
# a JSON Lines line the API could not parse comes as {UNPARSEABLE_KEY: "<the line>"} (the protocol's own)
UNPARSEABLE_KEY = "_unparseable"

MAX_PAGE_SIZE = 1000
#: One delivery (all its pages) must be complete within this many seconds, retries and waits included.
DEFAULT_DEADLINE = 300.0
#: No department's delivery of a day holds more items than this: a larger announced total is refused.
MAX_TOTAL = 50_000_000
#: No page is larger than this.
MAX_PAGE_BYTES = 256 << 20
_MAX_REDIRECTS = 5
_RETRYABLE_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


class ApiClient:
    """One department API: ``ApiClient(base_url, token).fetch(department, dataset, day, columns)``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 60.0,
        page_size: int = MAX_PAGE_SIZE,
        session: requests.Session | None = None,
        deadline: float = DEFAULT_DEADLINE,
    ):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        if not token:
            raise ValueError("an API token is required")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        if parts.port:
            netloc += f":{parts.port}"
        # credentials in the URL are dropped: the token is the authentication, and locations never carry them
        self.base_url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self._token = token
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.page_size = page_size
        self.deadline = deadline
        self._deadline_at = float("inf")
        self._session = session or requests.Session()
        self._session.trust_env = False  # no proxies or netrc credentials picked up behind our back
        self._origin = _origin(self.base_url)

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, token=***)"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def endpoint(self, department: str, dataset: str) -> str:
        check_name(department, "department")
        check_name(dataset, "dataset")
        return f"{self.base_url}/api/v1/{quote(department)}/{quote(dataset)}"

    # ------------------------------------------------------------------------------------------

    def fetch(self, department: str, dataset: str, day: date, columns: Sequence[str] | None,
              sink: Sink | None = None, provider: str | None = None) -> Delivery:
        """All items of ``dataset`` for ``day`` as one :class:`Delivery` (see the module docstring) — of one
        ``provider`` of many (``?provider=<code>``). With a ``sink``, the items pass to it a chunk at a time as the
        pages come, and the delivery's ``table`` is left empty (its counts say what was read)."""
        endpoint = self.endpoint(department, dataset)
        if provider is not None:
            check_name(provider, "provider")
        location = f"{endpoint}?date={day.isoformat()}" + (f"&provider={quote(provider)}" if provider else "")
        self._deadline_at = time.monotonic() + self.deadline
        name = f"{department}.{dataset}"
        warn = Warnings(location)
        collector = ColumnCollector(location, columns, warn, sink=sink)
        digest = hashlib.sha256()
        size = 0
        total: int | None = None
        received = 0
        page = 1
        while True:
            body = self._get_page(endpoint, location, day, page, provider)
            page_total = body["total"]
            if page_total > MAX_TOTAL:
                raise DeliveryError(f"{location}: the API announces {page_total} items, more than any delivery "
                                    f"holds ({MAX_TOTAL}); not read")
            if total is None:
                total = page_total
            elif page_total != total:
                warn.file(f"the announced total changed from {total} to {page_total} at page {page}")
                total = page_total
            items = body["items"]
            if not items:
                break
            for item in items:
                received += 1
                canonical = json.dumps(item, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
                try:
                    canonical, no_text = canonical.encode(), False
                except UnicodeEncodeError:  # a lone surrogate escape: the item is kept, as ASCII JSON, unparseable
                    canonical, no_text = json.dumps(item, separators=(",", ":"), sort_keys=True).encode(), True
                chunk = (b"[" if received == 1 else b",") + canonical
                digest.update(chunk)
                size += len(chunk)
                if no_text:
                    collector.add_unparseable(received, LONE_SURROGATE, canonical.decode())
                elif isinstance(item, dict) and set(item) == {UNPARSEABLE_KEY}:
                    raw = item[UNPARSEABLE_KEY]
                    collector.add_unparseable(received, "the source line is not a JSON object",
                                              raw if isinstance(raw, str) else compact_json(raw))
                elif isinstance(item, dict):
                    collector.add(received, object_texts(item))
                else:
                    collector.add_unparseable(received, f"item is not a JSON object but a {type(item).__name__}",
                                              compact_json(item))
            if received > total:
                raise DeliveryError(
                    f"{location}: received {received} items by page {page}, more than the announced total {total}"
                )
            page += 1
        if received != total:
            raise DeliveryError(f"{location}: received {received} items but the API announced a total of {total}")
        if received == 0:
            return no_delivery(name, day, columns, location, "the API has no items for this day")
        digest.update(b"]")
        size += 1
        delivery = Delivery(dataset=name, day=day, table=empty_table(list(columns or [])), location=location,
                            sha256=digest.hexdigest(), size_bytes=size)
        collector.deliver(delivery)
        delivery.warnings = warn.done()
        return delivery

    # ------------------------------------------------------------------------------------------

    def _get_page(self, endpoint: str, location: str, day: date, page: int, provider: str | None = None) -> dict:
        where = f"{endpoint} (date {day.isoformat()}{f', provider {provider}' if provider else ''}, page {page})"
        params = {"date": day.isoformat(), "page": page, "page_size": self.page_size}
        body = self._request(endpoint, params | ({"provider": provider} if provider else {}), where)
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise DeliveryError(f"{where}: the answer is not a page (no items list)")
        total = body.get("total")
        if not isinstance(total, int) or isinstance(total, bool) or total < 0:
            raise DeliveryError(f"{where}: the answer has no valid total ({total!r})")
        if "page" in body and body["page"] != page:
            raise DeliveryError(f"{where}: the API answered page {body['page']!r} instead")
        if "date" in body and body["date"] != day.isoformat():
            raise DeliveryError(f"{where}: the API answered date {body['date']!r} instead")
        return body

    def _scrub(self, message: str) -> str:
        """The message with the token masked where it stands as a word of its own (a one-letter token does not
        turn ``ReadTimeout`` into ``Read***imeout``)."""
        if not self._token:
            return message
        return re.sub(rf"(?<![A-Za-z0-9._~+/-]){re.escape(self._token)}(?![A-Za-z0-9._~+/=-])", "***", message)

    def _remaining(self, where: str) -> float:
        """Seconds left of the delivery's deadline; past it, the source counts as unavailable."""
        left = self._deadline_at - time.monotonic()
        if left <= 0:
            raise SourceUnavailable(f"{where}: no complete delivery within {self.deadline:.0f} s (the API is too "
                                    f"slow or never ends); giving up")
        return left

    def _read_body(self, response: requests.Response, where: str) -> bytes:
        """The response body, read as it arrives (a server that trickles a byte at a time is cut off at the
        delivery's deadline, not waited for), at most MAX_PAGE_BYTES."""
        parts, size = [], 0
        raw = response.raw
        while True:
            self._remaining(where)
            block = raw.read1(1 << 16, decode_content=True)
            if not block:
                return b"".join(parts)
            size += len(block)
            if size > MAX_PAGE_BYTES:
                response.close()
                raise DeliveryError(f"{where}: a page larger than {MAX_PAGE_BYTES >> 20} MiB; not read")
            parts.append(block)

    def _pause(self, attempt: int) -> float:
        return min(self.backoff * (2**attempt), self.max_backoff)

    def _retry_after(self, response: requests.Response, attempt: int) -> float:
        value = response.headers.get("Retry-After", "").strip()
        wait: float | None = None
        if value:
            try:
                wait = float(value)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(value)
                    if when.tzinfo is None:
                        when = when.replace(tzinfo=timezone.utc)
                    wait = (when - datetime.now(timezone.utc)).total_seconds()
                except (TypeError, ValueError):
                    wait = None
        if wait is None or wait != wait:
            wait = self._pause(attempt)
        return max(0.0, min(wait, self.max_retry_after))

    def _request(self, url: str, params: dict | None, where: str):
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        attempt = 0
        redirects = 0
        while True:
            problem: str
            try:
                self._remaining(where)
                response = self._session.get(url, params=params, headers=headers, timeout=self.timeout,
                                             allow_redirects=False, stream=True)
                status = response.status_code
                content = self._read_body(response, where)  # read it all (keeps the connection reusable)
            except _RETRYABLE_EXCEPTIONS as exc:
                problem = f"{type(exc).__name__}"
                status = None
            if status is not None:
                if status in (301, 302, 303, 307, 308):
                    target = urljoin(response.url, response.headers.get("Location", ""))
                    if _origin(target) != self._origin:
                        scheme, host, port = _origin(target)
                        raise DeliveryError(
                            f"{where}: redirected to another host ({scheme}://{host}:{port}); not followed"
                        )
                    redirects += 1
                    if redirects > _MAX_REDIRECTS:
                        raise DeliveryError(f"{where}: more than {_MAX_REDIRECTS} redirects")
                    url, params = target, None
                    continue
                if status in (401, 403):
                    raise DeliveryError(
                        f"{where}: the API refused the credentials (HTTP {status}); check the API token"
                    )
                if status == 404:
                    raise DeliveryError(f"{where}: unknown dataset (HTTP 404)")
                if status == 429:
                    if attempt >= self.max_retries:
                        raise SourceUnavailable(f"{where}: still rate limited (HTTP 429) after {attempt + 1} attempts")
                    wait = self._retry_after(response, attempt)
                    log.info("%s: HTTP 429, waiting %.1f s as asked (attempt %d)", where, wait, attempt + 1)
                    time.sleep(min(wait, self._remaining(where)))
                    attempt += 1
                    continue
                if 400 <= status < 500:
                    detail = content[:300].decode("utf-8", "replace")
                    raise DeliveryError(self._scrub(f"{where}: HTTP {status}: {detail}"))
                if status == 200:
                    try:
                        return json.loads(content)
                    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
                        problem = "an answer that is not valid JSON"
                else:
                    problem = f"HTTP {status}"
            if attempt >= self.max_retries:
                raise SourceUnavailable(self._scrub(f"{where}: {problem} after {attempt + 1} attempts; giving up"))
            wait = self._pause(attempt)
            log.info("%s: %s, retrying in %.1f s (attempt %d)", where, problem, wait, attempt + 1)
            time.sleep(min(wait, self._remaining(where)))
            attempt += 1
