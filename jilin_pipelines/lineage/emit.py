"""Emitting OpenLineage run events: every event appended to ``<data>/lineage/openlineage.jsonl`` (always, under a
lock), and sent through the official OpenLineage Python client's transports — ``JILIN_OPENLINEAGE_URL`` by its
``HttpTransport``, and whatever the client's own configuration names (``OPENLINEAGE_CONFIG``,
``OPENLINEAGE__TRANSPORT__…``: file, Kafka, HTTP). A transport that is down, refuses or hangs is reported (masked,
without credentials) and left alone for a cooldown; it never fails the asset. The events themselves are built and
validated in ``events.py`` and ``validation.py``."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from jilin_pipelines.lineage.naming import _host_port
from jilin_pipelines.privacy.redaction import mask_free_text

try:  # POSIX: appends from several processes are serialised with an exclusive lock
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)



def default_path(data_dir: str | os.PathLike[str]) -> Path:
    """``<data>/lineage/openlineage.jsonl``, where events go by default."""
    return Path(data_dir) / "lineage" / "openlineage.jsonl"


def event_line(event: Mapping[str, Any]) -> bytes:
    """The event as one line of JSON (UTF-8, no ASCII escapes, newline-terminated)."""
    return (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Delivery:
    """What one transport made of one event."""

    target: str  # ``http://marquez:5000/api/v1/lineage`` (no credentials), ``file:<path>``, ``kafka:<topic>``, ...
    delivered: bool = False
    attempts: int = 0
    error: str | None = None  # masked and without credentials; ``skipped: ...`` during a cooldown


@dataclass(frozen=True)
class EmitResult:
    """What became of one event: where it was written, and what each transport made of it.

    ``url``, ``delivered``, ``attempts`` and ``error`` sum the deliveries up: the target and attempts of the first
    delivery that failed (else of the first one), whether every transport took the event, and the errors (prefixed
    with their targets when there are several transports). With no transport configured: ``None``, False, 0, None.
    """

    path: Path
    deliveries: tuple[Delivery, ...] = ()

    def _failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.delivered]

    @property
    def url(self) -> str | None:
        failed = self._failed()
        if failed:
            return failed[0].target
        return self.deliveries[0].target if self.deliveries else None

    @property
    def delivered(self) -> bool:
        return bool(self.deliveries) and not self._failed()

    @property
    def attempts(self) -> int:
        failed = self._failed()
        if failed:
            return failed[0].attempts
        return self.deliveries[0].attempts if self.deliveries else 0

    @property
    def error(self) -> str | None:
        failed = self._failed()
        if not failed:
            return None
        if len(self.deliveries) == 1:
            return failed[0].error
        return "; ".join(f"{d.target}: {d.error}" for d in failed)


TransportSpec = Any
"""A transport of the official client (``openlineage.client.transport.Transport``) or its configuration as the
client's ``transport`` section has it: ``{"type": "file", "log_file_path": ..., "append": True}``,
``{"type": "kafka", "topic": ..., "config": {"bootstrap.servers": ...}}``, ``{"type": "http", "url": ...}``."""


@dataclass
class _Sink:
    transport: Any  # openlineage.client.transport.Transport
    target: str  # shown: no credentials
    key: str  # the cooldown's key
    retries: int
    backoff: float


class LineageEmitter:
    """Appends events to a JSON Lines file and sends them through the official OpenLineage client's transports.

    The file is the record of lineage, always written: one line per event, written with one ``write`` on an
    ``O_APPEND`` descriptor under an exclusive ``flock``, so two processes appending at once never interleave lines.
    Failing to write it raises.

    ``url`` is an OpenLineage HTTP endpoint's base (``http://marquez:5000``; events go to ``{url}/api/v1/lineage``)
    or the full ``.../api/v1/lineage`` URL, posted to by the client's ``HttpTransport``: ``api_key`` is sent as a
    bearer token, a ``user:password@`` in the URL as basic authentication (never shown: targets, errors and logs
    carry the URL without it). A post is tried ``1 + retries`` times at most, with ``timeout`` seconds each and a
    doubling pause from ``backoff`` seconds, on connection errors, time-outs, 429 and 5xx; other answers are final.

    ``transports`` adds transports of the client (instances, or configurations the client's transport factory builds:
    ``file``, ``kafka``, ``http``, ``composite``, ...; :func:`client_transport_config` reads the client's own
    configuration from the environment, :meth:`from_environment` uses it). They are tried once per event (their own
    configuration says how they retry). A ``kafka`` transport is keyed like the client keys its own events (the
    parent job's run, else the job's): the client's ``confluent-kafka`` is needed only when one is configured.

    No transport ever raises out of :meth:`emit`: its error (masked, without credentials) is in the result and
    logged as a warning, and a transport that cannot be set up (an unknown type, Kafka without ``confluent-kafka``)
    is logged as an error once and reported by every emit.

    With ``cooldown`` seconds (default 0: off), a transport that failed (connection error, time-out, 429, 5xx after
    every attempt; any error of a transport other than HTTP) is not tried again by any emitter of this process for
    that long: the events still go to the file, and :meth:`emit` says the transport was skipped. A hanging endpoint
    then costs one event's time-outs, not every event's.
    """

    _down_until: dict[str, float] = {}  # transport key -> monotonic time before which it is not tried (per process)

    def __init__(
        self,
        path: str | os.PathLike[str],
        url: str | None = None,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.5,
        api_key: str | None = None,
        cooldown: float = 0.0,
        transports: Iterable[TransportSpec] = (),
    ):
        if retries < 0 or timeout <= 0 or backoff < 0 or cooldown < 0:
            raise ValueError("retries, backoff and cooldown must be >= 0 and timeout > 0")
        self.cooldown = cooldown
        self.path = Path(path)
        self.url = _endpoint(url) if url else None
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._sinks: list[_Sink] = []
        self._broken: list[Delivery] = []  # transports that could not be set up
        if self.url is not None:
            shown = _without_credentials(self.url)
            try:
                self._sinks.append(_Sink(_http_transport(self.url, timeout, api_key), shown, self.url, retries, backoff))
            except Exception as exc:  # noqa: BLE001 - a bad URL is reported, not raised (lineage never fails a run)
                self._not_set_up(shown, exc)
        for spec in transports:
            shown = _spec_target(spec)
            try:
                transport = _transport(spec)
            except Exception as exc:  # noqa: BLE001 - reported by every emit
                self._not_set_up(shown, exc)
                continue
            if transport is None:  # OPENLINEAGE_DISABLED=true: the client's factory gives a no-op transport
                continue
            target = _target(transport)
            self._sinks.append(_Sink(transport, target, f"{transport.kind}:{target}", 0, 0.0))

    def _not_set_up(self, target: str, exc: BaseException) -> None:
        error = f"not set up: {_error_text(exc)}"
        log.error("OpenLineage transport %s %s", target, error)
        self._broken.append(Delivery(target, error=error))

    @property
    def targets(self) -> list[str]:
        """Where events go besides the file (no credentials), the transports that could not be set up included."""
        return [d.target for d in self._broken] + [s.target for s in self._sinks]

    @classmethod
    def reset_cooldowns(cls) -> None:
        """Forget which transports failed recently (they are tried again by the next emit)."""
        cls._down_until.clear()

    @classmethod
    def for_data_dir(cls, data_dir: str | os.PathLike[str], url: str | None = None, **options: Any) -> LineageEmitter:
        """An emitter writing to :func:`default_path` of the data directory."""
        return cls(default_path(data_dir), url, **options)

    @classmethod
    def from_environment(
        cls,
        data_dir: str | os.PathLike[str],
        url: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        **options: Any,
    ) -> LineageEmitter:
        """:meth:`for_data_dir` plus the transport of the client's own configuration (:func:`client_transport_config`).

        ``url`` is ``JILIN_OPENLINEAGE_URL``; when the client's configuration names an HTTP transport to the same
        endpoint, the event is posted once.
        """
        config = client_transport_config(environ)
        extra = list(options.pop("transports", ()))
        if config is not None and not (url and _same_endpoint(config, url)):
            extra.append(config)
        return cls.for_data_dir(data_dir, url, transports=extra, **options)

    def emit(self, event: Mapping[str, Any]) -> EmitResult:
        """Write ``event`` to the file (errors writing it raise), then send it through each transport."""
        self.write(event_line(event))
        deliveries = list(self._broken)
        deliveries += [self._deliver(sink, event) for sink in self._sinks]
        return EmitResult(path=self.path, deliveries=tuple(deliveries))

    def close(self, timeout: float = 5.0) -> None:
        """Close the transports (HTTP sessions; Kafka waits up to ``timeout`` s for what it buffered). Never raises."""
        for sink in self._sinks:
            try:
                sink.transport.close(timeout)
            except Exception as exc:  # noqa: BLE001 - closing lineage never fails the caller
                log.warning("OpenLineage transport %s not closed: %s", sink.target, _error_text(exc))

    def write(self, line: bytes) -> None:
        """Append one line to the file, atomically with respect to other writers."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            view = memoryview(line)
            while view:  # one write in practice; the loop only finishes a short write, still under the lock
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)  # closing releases the lock

    def _deliver(self, sink: _Sink, event: Mapping[str, Any]) -> Delivery:
        wait = LineageEmitter._down_until.get(sink.key, 0.0) - time.monotonic()
        if wait > 0:
            error = f"skipped: the transport failed within the last {self.cooldown:g} s (next try in {wait:.0f} s)"
            return Delivery(sink.target, error=error)
        delivered, attempts, error, unreachable = self._send(sink, event)
        if unreachable and self.cooldown:
            LineageEmitter._down_until[sink.key] = time.monotonic() + self.cooldown
        elif delivered:
            LineageEmitter._down_until.pop(sink.key, None)
        if error is not None:
            log.warning("OpenLineage event not delivered to %s after %d attempt(s): %s", sink.target, attempts, error)
        return Delivery(sink.target, delivered=delivered, attempts=attempts, error=error)

    @staticmethod
    def _send(sink: _Sink, event: Mapping[str, Any]) -> tuple[bool, int, str | None, bool]:
        """(delivered, attempts, error, unreachable: every attempt failed in a way worth retrying)."""
        error = None
        attempt = 0
        for attempt in range(1, sink.retries + 2):
            try:
                # The client's transports serialise a dict as they do their own events (``Serde.to_json`` takes
                # dicts); a copy, so that no transport can change the event the caller keeps.
                sink.transport.emit(json.loads(json.dumps(event)))
            except Exception as exc:  # noqa: BLE001 - a transport never fails the caller
                error, worth_retrying = _failure(exc)
                if not worth_retrying:
                    return False, attempt, error, False
            else:
                return True, attempt, None, False
            if attempt <= sink.retries:
                time.sleep(sink.backoff * 2 ** (attempt - 1))
        return False, attempt, error, True


def _failure(exc: BaseException) -> tuple[str, bool]:
    """The masked error of a transport, and whether it says the target is unreachable (worth retrying)."""
    response = getattr(exc, "response", None) if isinstance(exc, requests.HTTPError) else None
    if response is not None:
        status = response.status_code
        return f"HTTP {status}: {_clean(response.text[:300])}", status == 429 or status >= 500
    return _error_text(exc), True


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_clean(str(exc))}"


def _clean(text: str) -> str:
    return mask_free_text(_without_credentials(text))


def _endpoint(url: str) -> str:
    url = url.strip().rstrip("/")
    return url if url.endswith("/api/v1/lineage") else f"{url}/api/v1/lineage"


def _without_credentials(text: str) -> str:
    return re.sub(r"(?<=://)[^/@\s:]+(?::[^/@\s]*)?@", "***@", text)


@cache
def _header_provider_class() -> type:
    from openlineage.client.transport.http import TokenProvider

    class HeaderTokenProvider(TokenProvider):
        """An ``Authorization`` header given once (bearer API key, basic credentials); its repr shows none of it."""

        def __init__(self, header: str | None) -> None:
            super().__init__({})
            self._header = header

        def get_bearer(self) -> str | None:
            return self._header

        def __repr__(self) -> str:
            return f"<{type(self).__name__} {'set' if self._header else 'none'}>"

    return HeaderTokenProvider


def _http_transport(endpoint: str, timeout: float, api_key: str | None):
    """The client's ``HttpTransport`` posting to ``endpoint`` once per call (the emitter retries itself).

    The URL it is given has no credentials (the client logs its URL at debug level): ``user:password@`` becomes a
    basic ``Authorization`` header, unless ``api_key`` gives a bearer one.
    """
    import base64
    from urllib.parse import unquote

    from openlineage.client.transport.http import HttpConfig, HttpTransport

    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {_without_credentials(endpoint)!r}")
    bare = urlunsplit((parts.scheme, _host_port(parts), parts.path, parts.query, ""))
    header = f"Bearer {api_key}" if api_key else None
    if header is None and parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        header = "Basic " + base64.b64encode(credentials).decode("ascii")
    config = HttpConfig(
        url=bare,
        endpoint="",  # urljoin(bare, "") is bare: the URL is the full endpoint already
        timeout=timeout,
        auth=_header_provider_class()(header),
        retry={"total": 0, "read": False},  # as requests' own default: one try, read time-outs raised as such
    )
    return HttpTransport(config)


def _kafka_key(event: Mapping[str, Any]) -> str:
    """The client's Kafka message key of a run event: ``run:<root or parent job>``, else ``run:<job>``."""
    job = event.get("job") or {}
    parent = ((event.get("run") or {}).get("facets") or {}).get("parent") or {}
    for owner in ((parent.get("root") or {}).get("job"), parent.get("job")):
        if owner and owner.get("namespace") and owner.get("name"):
            return f"run:{owner['namespace']}/{owner['name']}"
    return f"run:{job.get('namespace')}/{job.get('name')}"


@cache
def _kafka_transport_class() -> type:
    from openlineage.client.transport.kafka import KafkaTransport

    class DictKafkaTransport(KafkaTransport):
        """The client's ``KafkaTransport``, keying our dict events as it keys its own ``RunEvent`` objects."""

        def _get_message_key(self, event: Any) -> str | None:
            if isinstance(event, Mapping):
                return _kafka_key(event)
            return super()._get_message_key(event)

    return DictKafkaTransport


def _transport(spec: TransportSpec):
    """A transport of the client from a transport or its configuration; None for the client's no-op transport."""
    if not isinstance(spec, Mapping):
        if not callable(getattr(spec, "emit", None)):
            raise TypeError(f"not an OpenLineage transport or its configuration: {type(spec).__name__}")
        return spec
    import copy

    from openlineage.client.transport import get_default_factory

    config = copy.deepcopy(dict(spec))
    if not config.get("type"):
        raise ValueError("a transport configuration needs a type (http, file, kafka, ...)")
    if config["type"] == "kafka" and os.getenv("OPENLINEAGE_DISABLED", "").strip().lower() != "true":
        from openlineage.client.transport.kafka import KafkaConfig

        name = config.pop("name", None)
        config.pop("priority", None)
        transport = _kafka_transport_class()(KafkaConfig.from_dict(config))
        transport.name = name
        return transport
    transport = get_default_factory().create(config)
    return None if transport.kind == "noop" else transport


def _target(transport: Any) -> str:
    """Where a transport sends events, for messages: without credentials."""
    kind = getattr(transport, "kind", None) or type(transport).__name__
    config = getattr(transport, "config", None)
    if kind == "http" and getattr(transport, "url", None):
        from urllib.parse import urljoin

        return _without_credentials(urljoin(transport.url, transport.endpoint))
    if kind == "file" and config is not None:
        return f"file:{_without_credentials(config.log_file_path)}"
    if kind == "kafka" and getattr(transport, "topic", None):
        return f"kafka:{transport.topic}"
    return f"{kind}:{transport.name}" if getattr(transport, "name", None) else str(kind)


def _spec_target(spec: TransportSpec) -> str:
    if isinstance(spec, Mapping):
        where = spec.get("url") or spec.get("log_file_path") or spec.get("topic") or ""
        return _without_credentials(f"{spec.get('type', '?')}:{where}" if where else str(spec.get("type", "?")))
    return type(spec).__name__


def _same_endpoint(config: Mapping[str, Any], url: str) -> bool:
    if config.get("type") != "http" or not config.get("url"):
        return False
    from urllib.parse import urljoin

    theirs = urljoin(str(config["url"]), str(config.get("endpoint", "api/v1/lineage")))
    return theirs.rstrip("/") == _endpoint(url)


def client_transport_config(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The transport the official client's own configuration names in the environment, or None.

    Read as the client reads it: the ``transport`` section of the YAML file ``OPENLINEAGE_CONFIG`` names, merged
    with ``OPENLINEAGE__TRANSPORT__...`` variables (``OPENLINEAGE__TRANSPORT__TYPE=kafka``,
    ``OPENLINEAGE__TRANSPORT__TOPIC=lineage``, ``OPENLINEAGE__TRANSPORT__CONFIG={"bootstrap.servers": "k:9092"}``;
    names lower-cased, values JSON when they parse as JSON; the file wins where both say something, as in the
    client); without either, ``OPENLINEAGE_URL`` (with ``OPENLINEAGE_ENDPOINT``, ``OPENLINEAGE_API_KEY``) as an HTTP
    transport. ``OPENLINEAGE_DISABLED=true`` turns it off. Unlike the client, no ``openlineage.yml`` is looked for in
    the working or home directory: what a pipeline sends where is said by its environment. A YAML file that cannot
    be read is logged as an error and ignored (as the client does).
    """
    env = os.environ if environ is None else environ
    if env.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return None
    from_env: dict[str, Any] = {}
    prefix = "OPENLINEAGE__TRANSPORT__"
    for key, raw in sorted(((k, v) for k, v in env.items() if k.startswith(prefix)), reverse=True):
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        node = from_env
        *parents, last = [part.lower() for part in key[len(prefix):].split("__")]
        for part in parents:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[last] = value
    from_file: dict[str, Any] = {}
    path = env.get("OPENLINEAGE_CONFIG")
    if path:
        try:
            import yaml

            content = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            from_file = dict(content.get("transport") or {}) if isinstance(content, dict) else {}
        except Exception as exc:  # noqa: BLE001 - unreadable, not YAML, not a mapping
            log.error("OpenLineage config %s not read: %s", path, _error_text(exc))
    config = _deep_merge(from_env, from_file)
    if config.get("type"):
        return config
    if env.get("OPENLINEAGE_URL"):
        config = {"type": "http", "url": env["OPENLINEAGE_URL"],
                  "endpoint": env.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage")}
        if env.get("OPENLINEAGE_API_KEY"):
            config["auth"] = {"type": "api_key", "apiKey": env["OPENLINEAGE_API_KEY"]}
        return config
    return None


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
