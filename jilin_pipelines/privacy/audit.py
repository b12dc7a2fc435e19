"""The exchange audit log: who read which dataset, for which purpose, when, how many records — append-only and
hash-chained, so that changing, inserting or deleting an entry is detected by :func:`verify`.

Table ``exchange_audit`` in the base database (created by migration 0003; ``base.schema`` holds its metadata):

``id``            1, 2, 3 ... with no gaps (given out under the append lock, not by a sequence)
``time``          when the exchange happened (naive Asia/Shanghai wall-clock time, like every base datetime)
``consumer``      who read (a department, a scenario asset, an export)
``purpose``       why (the scenario name for scenario reads)
``dataset``       ``<department>.<dataset>`` of the catalogue
``fields``        JSON array of the standard field names read, sorted
``record_count``  how many records were read / exported
``run_id``        the Dagster run (or null outside Dagster)
``prev_hash``     the previous entry's ``entry_hash`` (64 zeros for entry 1)
``entry_hash``    HMAC-SHA-256 (hex), keyed by ``JILIN_AUDIT_KEY``, of :func:`canonical` — the entry's own values
                  plus ``prev_hash``

**Keyed and anchored**, so that the log holds against whoever can write the base database: without the key nobody
can recompute a changed, inserted or appended entry's hash (the key is refused unset in production, like the
pseudonym key; the embedded default uses a public development key, with a warning); and every append writes the new
head (``id``, ``entry_hash``) outside the database — to the anchor file (``JILIN_AUDIT_ANCHOR``, default
``<data>/audit/anchors.jsonl``), and the scenario assets put it in their Dagster materialisation metadata
(``audit_head``) — so that deleting the newest entries, or all of them, is detected too.

Appends (:func:`record`) run in one transaction that first takes the append lock — on PostgreSQL
``LOCK TABLE ... IN SHARE ROW EXCLUSIVE MODE`` (appenders queue, readers go on), on SQLite the database's write
lock, taken by a first write statement — then reads the head, chains the new entries onto it and inserts them: two
concurrent appenders can never both chain onto the same head (and the primary key on ``id`` would refuse it anyway).

:func:`verify` recomputes the chain in id order: an UPDATE shows as an entry whose hash no longer matches its
values, a DELETE as a gap in the ids (and a ``prev_hash`` that no longer matches), an INSERT as a repeated or
mismatched link, a truncated or emptied log as an anchor (the file's last head, or ``anchor`` given) that is not in
the chain. ``VerifyResult.trusted`` says which anchors were checked.

Pure: no Dagster import. From an asset::

    record(engine, [AuditEntry(consumer="scenario/commercial_vehicle_safety", purpose="commercial_vehicle_safety",
                               dataset="traffic_police.violations", fields=["driver_id", "plate_no"],
                               record_count=n, run_id=context.run_id)])
    # or, from what check_reads returned (one entry per dataset):
    record(engine, entries_for_reads("scenario/commercial_vehicle_safety", "commercial_vehicle_safety", pairs,
                                     record_count=n, run_id=context.run_id))
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from jilin_pipelines.base.schema import EXCHANGE_AUDIT, exchange_audit_table
from jilin_pipelines.settings import Settings

TABLE = EXCHANGE_AUDIT
GENESIS = "0" * 64
SHANGHAI = ZoneInfo("Asia/Shanghai")
_COLUMNS = ("id", "time", "consumer", "purpose", "dataset", "fields", "record_count", "run_id", "prev_hash",
            "entry_hash")


log = logging.getLogger(__name__)
KEY_VAR = "JILIN_AUDIT_KEY"
MIN_KEY_BYTES = 32
DEVELOPMENT_KEY = b"jilin-pipelines DEVELOPMENT audit key -- public, not a secret, never for production"


class AuditError(ValueError):
    """An audit entry cannot be recorded (bad values), or the table is missing; the message says which."""


class AuditKeyError(AuditError):
    """The audit key is unset in production, or too short."""


class DevelopmentAuditKeyWarning(UserWarning):
    """The audit log is chained with the public development key."""


_warned = False


def audit_key(settings: Settings | None = None) -> bytes:
    """The HMAC key of the chain: ``JILIN_AUDIT_KEY`` (UTF-8, at least 32 bytes); refused unset in production;
    else the public development key (warned once per process)."""
    global _warned
    settings = settings or Settings.from_env()
    if settings.audit_key:
        key = settings.audit_key.encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise AuditKeyError(f"{KEY_VAR} is {len(key)} bytes long: at least {MIN_KEY_BYTES} are needed")
        return key
    if settings.production:
        raise AuditKeyError(f"{KEY_VAR} is not set: the exchange audit log is refused in production without its "
                            f"key (JILIN_ENV=production); set it to a secret of at least {MIN_KEY_BYTES} bytes")
    if not _warned:
        _warned = True
        message = (f"{KEY_VAR} is not set: the exchange audit log is chained with the public DEVELOPMENT key "
                   "(embedded default only); it does not hold against someone who can write the database")
        warnings.warn(message, DevelopmentAuditKeyWarning, stacklevel=2)
        log.warning(message)
    return DEVELOPMENT_KEY


_TABLE = exchange_audit_table(sa.MetaData())


@dataclass(frozen=True)
class AuditEntry:
    """One exchange to record. ``time`` defaults to now; ``fields`` are stored sorted and without repeats."""

    consumer: str
    purpose: str
    dataset: str
    fields: Sequence[str]
    record_count: int
    run_id: str | None = None
    time: datetime | None = None

    def validated(self, now: datetime) -> dict:
        for name in ("consumer", "purpose", "dataset"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise AuditError(f"audit entry {self!r}: {name} must be a non-empty string")
        if isinstance(self.fields, str) or not all(isinstance(f, str) and f for f in self.fields):
            raise AuditError(
                f"audit entry for {self.dataset}: fields must be a list of field names, not {self.fields!r}"
            )
        if isinstance(self.record_count, bool) or not isinstance(self.record_count, int) or self.record_count < 0:
            raise AuditError(f"audit entry for {self.dataset}: record_count must be a count, not {self.record_count!r}")
        if self.run_id is not None and not isinstance(self.run_id, str):
            raise AuditError(f"audit entry for {self.dataset}: run_id must be a string or None")
        return {
            "time": _wall_clock(self.time or now),
            "consumer": self.consumer,
            "purpose": self.purpose,
            "dataset": self.dataset,
            "fields": json.dumps(sorted(set(self.fields)), ensure_ascii=False),
            "record_count": int(self.record_count),
            "run_id": self.run_id,
        }


def entries_for_reads(
    consumer: str,
    purpose: str,
    pairs: Iterable[tuple[str, str]],
    record_count: int | Mapping[str, int],
    run_id: str | None = None,
    time: datetime | None = None,
) -> list[AuditEntry]:
    """One entry per dataset from ``check_reads``' (dataset, field) pairs: what a scenario asset records.

    ``record_count``: one count for every dataset, or a count per dataset (a dataset missing from it is an error).
    """
    by_dataset: dict[str, set[str]] = {}
    for dataset, field_name in pairs:
        by_dataset.setdefault(dataset, set()).add(field_name)
    out = []
    for dataset in sorted(by_dataset):
        if isinstance(record_count, Mapping):
            if dataset not in record_count:
                raise AuditError(f"no record count for {dataset} (counts given for {sorted(record_count)})")
            count = record_count[dataset]
        else:
            count = record_count
        out.append(AuditEntry(consumer, purpose, dataset, sorted(by_dataset[dataset]), count, run_id, time))
    return out


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    #: the id of the first entry that does not verify (for a deleted entry: the id that is missing; None when the
    #: problem is no entry but an anchor)
    broken_id: int | None = None
    reason: str | None = None
    head_hash: str | None = None
    problems: list[str] = field(default_factory=list)
    #: the anchors checked: where each head known from outside the database came from
    trusted: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        anchors = f"; anchors checked: {', '.join(self.trusted)}" if self.trusted else "; no anchor to check against"
        if self.ok:
            return f"exchange audit log verifies: {self.entries} entries, head {self.head_hash or GENESIS}{anchors}"
        where = f"at entry {self.broken_id}" if self.broken_id is not None else "against its anchor"
        return f"exchange audit log is BROKEN {where}: {self.reason} ({self.entries} entries checked){anchors}"


def _wall_clock(t: datetime) -> datetime:
    """Naive Asia/Shanghai wall-clock time at microsecond precision (what both backends store exactly)."""
    if t.tzinfo is not None:
        t = t.astimezone(SHANGHAI).replace(tzinfo=None)
    return t


def canonical(row: dict) -> bytes:
    """The bytes an entry's hash covers: its values (bar ``entry_hash``) as sorted-key compact JSON."""
    t = row["time"]
    if isinstance(t, str):  # SQLite returns DateTime as datetime already; be tolerant of text
        t = datetime.fromisoformat(t)
    fields = row["fields"]
    if isinstance(fields, str):
        fields = json.loads(fields)
    doc = {
        "id": int(row["id"]),
        "time": _wall_clock(t).isoformat(timespec="microseconds"),
        "consumer": row["consumer"],
        "purpose": row["purpose"],
        "dataset": row["dataset"],
        "fields": list(fields),
        "record_count": int(row["record_count"]),
        "run_id": row["run_id"],
        "prev_hash": row["prev_hash"],
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def entry_hash(row: dict, key: bytes) -> str:
    return hmac.new(key, canonical(row), hashlib.sha256).hexdigest()


def write_anchor(path, head_id: int, head_hash: str) -> None:
    """Append the log's head to the anchor file (one JSON line, one write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"id": head_id, "entry_hash": head_hash,
                       "time": datetime.now(SHANGHAI).isoformat(timespec="seconds")}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def read_anchor(path) -> tuple[int, str] | None:
    """The newest head the anchor file holds, or None (no file yet)."""
    if path is None or not path.exists():
        return None
    last = None
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                last = json.loads(line)
    return (int(last["id"]), last["entry_hash"]) if last else None


def _lock(conn: sa.Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE"))
    elif conn.dialect.name == "sqlite":
        # a write statement first: the driver opens the transaction and SQLite takes its one write lock now,
        # before the head is read (a second appender waits here, up to the connection's busy timeout)
        conn.execute(sa.text(f"UPDATE {TABLE} SET id = id WHERE 0 = 1"))
    else:  # pragma: no cover - only the two supported backends
        raise AuditError(f"no append lock for the {conn.dialect.name} dialect")


def _missing_table(engine: sa.Engine, exc: sa.exc.DBAPIError) -> AuditError:
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    return AuditError(
        f"{engine.url.render_as_string(hide_password=True)}: the base database has no {TABLE} table "
        f"(run the migrations: base.upgrade): {detail}"
    )


def record(engine: sa.Engine, entries: Sequence[AuditEntry], *, now: datetime | None = None,
           settings: Settings | None = None) -> tuple[int, str] | None:
    """Append ``entries`` (in order) to the chain, in one transaction under the append lock, then write the new
    head to the anchor file; returns the head (id, entry_hash). Nothing for no entries."""
    entries = list(entries)
    if not entries:
        return None
    settings = settings or Settings.from_env()
    key = audit_key(settings)
    now = now or datetime.now(SHANGHAI)
    rows = [e.validated(now) for e in entries]
    try:
        with engine.begin() as conn:
            _lock(conn)
            head = conn.execute(
                sa.select(_TABLE.c.id, _TABLE.c.entry_hash).order_by(_TABLE.c.id.desc()).limit(1)
            ).first()
            last_id, prev = (int(head.id), head.entry_hash) if head else (0, GENESIS)
            for row in rows:
                last_id += 1
                row["id"] = last_id
                row["prev_hash"] = prev
                row["entry_hash"] = prev = entry_hash(row, key)
            conn.execute(_TABLE.insert(), rows)
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        if TABLE in str(exc) and ("no such table" in str(exc) or "does not exist" in str(exc)):
            raise _missing_table(engine, exc) from None
        raise
    if settings.audit_anchor is not None:  # once committed: an anchor never names a head that is not there
        write_anchor(settings.audit_anchor, last_id, prev)
    return last_id, prev


def head(engine: sa.Engine) -> tuple[int, str]:
    """The newest entry's (id, entry_hash); (0, 64 zeros) for an empty log."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(_TABLE.c.id, _TABLE.c.entry_hash).order_by(_TABLE.c.id.desc()).limit(1)).first()
    return (int(row.id), row.entry_hash) if row else (0, GENESIS)


def verify(engine: sa.Engine, *, anchor: str | None = None, batch: int = 10_000,
           settings: Settings | None = None, heads: Sequence[tuple[str, int, str]] = ()) -> VerifyResult:
    """Recompute the keyed chain in id order; report the first broken entry and why.

    The anchors — heads known from outside the database — must each be in the chain at their id: the anchor file's
    newest head (``JILIN_AUDIT_ANCHOR``), ``heads`` given as (where from, id, entry_hash) (e.g. the Dagster event
    log's), and ``anchor``, an ``entry_hash`` given by hand. A log cut short, or emptied, fails against them.
    """
    settings = settings or Settings.from_env()
    key = audit_key(settings)
    anchors: list[tuple[str, int | None, str]] = list(heads)
    from_file = read_anchor(settings.audit_anchor)
    if from_file is not None:
        anchors.append((f"the anchor file {settings.audit_anchor}", *from_file))
    if anchor is not None:
        anchors.append(("the anchor given", None, anchor))
    found: dict[str, int] = {}  # entry_hash -> id, of the anchors' hashes met in the chain
    wanted = {h for _, _, h in anchors}
    expected_id = 1
    prev = GENESIS
    checked = 0
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(
                sa.select(*(_TABLE.c[c] for c in _COLUMNS)).order_by(_TABLE.c.id)
            )
            for r in result.mappings():
                row = dict(r)
                rid = int(row["id"])
                checked += 1
                if rid != expected_id:
                    why = (f"entry {expected_id} is missing (deleted): the next entry is {rid}" if rid > expected_id
                           else f"entry id {rid} is out of order (expected {expected_id})")
                    return VerifyResult(False, checked, expected_id if rid > expected_id else rid, why)
                if row["prev_hash"] != prev:
                    return VerifyResult(False, checked, rid,
                                        f"prev_hash {row['prev_hash']} does not match entry {rid - 1}'s hash {prev} "
                                        "(an entry before it was changed, removed or inserted)")
                recomputed = entry_hash(row, key)
                if recomputed != row["entry_hash"]:
                    return VerifyResult(False, checked, rid,
                                        f"entry_hash {row['entry_hash']} does not match its values under the audit "
                                        f"key (recomputed {recomputed}): the entry was changed or forged")
                if row["entry_hash"] in wanted:
                    found[row["entry_hash"]] = rid
                prev = row["entry_hash"]
                expected_id += 1
    except (sa.exc.OperationalError, sa.exc.ProgrammingError) as exc:
        if TABLE in str(exc):
            raise _missing_table(engine, exc) from None
        raise
    trusted = [f"{where} (entry {at if at is not None else '?'})" for where, at, _ in anchors]
    for where, at, h in anchors:
        if found.get(h) is not None and (at is None or found[h] == at):
            continue
        if at is not None and at > checked:
            why = (f"{where} names entry {at} ({h[:12]}…), but the chain ends at entry {checked}: entries were "
                   "removed from its end" + (" (the log is empty)" if not checked else ""))
        elif at is not None:
            why = f"{where} names entry {at} as {h[:12]}…, which the chain does not hold: the log was rewritten"
        else:
            why = (f"{where} ({h}) is not the hash of any of the {checked} entries: either entries after it were "
                   "removed, or it is no entry_hash of this log")
        return VerifyResult(False, checked, None, why, trusted=trusted)
    return VerifyResult(True, checked, head_hash=prev if checked else None, trusted=trusted)
