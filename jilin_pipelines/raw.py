"""Raw landing: read one (dataset, day) delivery with the reader its catalogue format names, and keep it
as delivered, row for row, as Parquet with the source's SHA-256, size and row counts.

Pure: no Dagster import. The Dagster raw assets (``defs/``) are a thin layer over ``land_day``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from jilin_pipelines.catalogue import Entry
from jilin_pipelines.catalogue.models import FILE_EXTENSIONS
from jilin_pipelines.lake import RAW, PartitionWriter, json_metadata, partition_path
from jilin_pipelines.settings import Settings
from jilin_pipelines.sources import (
    ApiClient,
    Delivery,
    DeliveryError,
    SourceUnavailable,
    read_csv,
    read_frontdb,
    read_jsonl,
    read_xlsx,
    read_xml,
)
from jilin_pipelines.sources.paths import check_name, ensure_inside
from jilin_pipelines.sources.layout import delivery_day, delivery_path, file_sha256
from jilin_pipelines.sources.delivery import BOOKKEEPING_COLUMNS, PROVIDER, Sink, empty_table
from jilin_pipelines.privacy.redaction import mask_free_text

LAYER = RAW
META_KEY = b"jilin_delivery"


def source_file(entry: Entry, day: date, settings: Settings, provider: str | None = None) -> Path | None:
    """Where the day's delivery file lies under the sources directory — one ``provider``'s of many in its own
    folder (``providers.py``) — (None for front-end database datasets)."""
    ext = FILE_EXTENSIONS.get(entry.dataset.format.kind)
    if ext is None:
        return None
    return delivery_path(settings.sources_dir, entry.department.department, entry.dataset.name, day, ext, provider)


def reads_over_http(entry: Entry, settings: Settings) -> bool:
    return entry.dataset.format.kind == "api" and settings.api_url is not None


def frontdb_url(settings: Settings, provider: str | None = None) -> str:
    """The front-end database's URL — one ``provider``'s of many: ``{provider}`` in ``JILIN_SOCIAL_SECURITY_DB_URL``
    replaced by its code, or, for an SQLite file without it, the provider's own file in a folder named by its code
    beside it (``<sources>/social_security/<code>/exchange.sqlite``). An SQLite file named inside the sources
    directory must resolve inside it, as every delivery file must (a symlink out of it is refused, not read)."""
    text = settings.social_security_db_url
    if provider is not None:
        check_name(provider, "provider")
        if "{provider}" in text:
            text = text.replace("{provider}", provider)
        else:
            url = sa.make_url(text)
            if url.get_backend_name() != "sqlite" or not url.database or url.database.startswith(("file:", ":memory:")):
                raise DeliveryError(f"provider {provider}: JILIN_SOCIAL_SECURITY_DB_URL names one database; a "
                                    "dataset of many providers needs {provider} in it")
            path = Path(url.database)
            text = url.set(database=str(path.parent / provider / path.name)).render_as_string(hide_password=False)
    url = sa.make_url(text)
    if url.get_backend_name() == "sqlite" and url.database and not url.database.startswith(("file:", ":memory:")):
        path = Path(url.database).absolute()
        if path.is_relative_to(Path(settings.sources_dir).absolute()):
            ensure_inside(settings.sources_dir, path)
    return text


def read_delivery(entry: Entry, day: date, settings: Settings, sink: Sink | None = None,
                  provider: str | None = None) -> Delivery:
    """Read the day's delivery of one catalogue dataset (of one ``provider`` of many), whatever its format. With a
    ``sink``, the reader passes its rows to it a piece at a time as it reads them and leaves ``table`` empty
    (``streamed`` says what it read); without, ``table`` holds them all."""
    fmt = entry.dataset.format
    columns = entry.dataset.source_columns
    common = {"dataset": entry.id, "day": day, "columns": columns}
    if fmt.kind == "frontdb":
        keys = [entry.dataset.field(k).source for k in entry.dataset.key]
        return read_frontdb(frontdb_url(settings, provider), table=fmt.table, day_column=fmt.day_column,
                            key_columns=keys, sink=sink, **common)
    if reads_over_http(entry, settings):
        with ApiClient(settings.api_url, settings.api_token) as client:
            return client.fetch(entry.department.department, entry.dataset.name, day, columns, sink=sink,
                                provider=provider)
    path = source_file(entry, day, settings, provider)
    if fmt.kind == "csv":
        return read_csv(path, encoding=fmt.encoding, sink=sink, **common)
    if fmt.kind == "xlsx":
        return read_xlsx(path, sheet=fmt.sheet, sink=sink, **common)
    if fmt.kind == "xml":
        return read_xml(path, record_tag=fmt.record_tag, sink=sink, **common)
    return read_jsonl(path, sink=sink, **common)  # jsonl, and api datasets read from their files


def source_fingerprint(entry: Entry, day: date, settings: Settings, provider: str | None = None) -> str | None:
    """The SHA-256 the day's landing would record, computed as cheaply as the format allows.

    Files are hashed without parsing; database and HTTP deliveries have to be read. A dataset of many providers:
    one fingerprint over theirs (:func:`combined_fingerprint`), unless ``provider`` names one of them.
    """
    codes = settings.registry().codes(entry.id)
    if codes and provider is None:
        return combined_fingerprint({c: source_fingerprint(entry, day, settings, c) for c in codes})
    if entry.dataset.format.kind == "frontdb" or reads_over_http(entry, settings):
        return read_delivery(entry, day, settings, provider=provider).sha256
    path = source_file(entry, day, settings, provider)
    return file_sha256(path) if path.exists() else None


def combined_fingerprint(shas: dict[str, str | None]) -> str | None:
    """A day's fingerprint over its providers' (code -> SHA-256, None: no delivery): None when none delivered."""
    if all(v is None for v in shas.values()):
        return None
    text = "".join(f"{code}:{sha or '-'}\n" for code, sha in sorted(shas.items()))
    return hashlib.sha256(text.encode()).hexdigest()




@dataclass(frozen=True)
class Landing:
    path: Path
    delivery: Delivery | None
    #: why the delivery could not be read at all (personal values masked), or None: an unreadable delivery lands
    #: empty and its partition is held (quality/holds.py) until the department re-delivers it
    unreadable: str | None = None
    #: a day of many providers: the combined facts (``summary()``), each provider's own under ``providers``
    facts: dict | None = None

    @property
    def delivered(self) -> bool:
        return bool(self.summary()["delivered"])

    def summary(self) -> dict:
        """JSON-safe facts about the landing (no delivered values: nothing personal). A day of many providers adds
        ``providers``: code -> that provider's own landing's facts, and whether this landing re-read it
        (``relanded``; an unchanged file is not read again)."""
        if self.facts is not None:
            return dict(self.facts)
        d = self.delivery
        return {
            "dataset": d.dataset,
            "partition": d.day.isoformat(),
            "delivered": d.delivered,
            "location": d.location,
            "source_sha256": d.sha256,
            "source_size_bytes": d.size_bytes,
            "delivered_rows": d.delivered_rows,
            "landed_rows": d.landed_rows,
            "unparseable_rows": d.unparseable_rows,
            "warnings": [str(w) for w in d.warnings],
            "landing_path": str(self.path),
            "unreadable": self.unreadable,
        }


def land_day(entry: Entry, day: date, settings: Settings) -> Landing:
    """Read and land one (dataset, day), the rows of a reader that reads a piece at a time written as they come.
    A day with no delivery lands an empty table that says so; so does a delivery that cannot be read at all
    (``Landing.unreadable`` says why: the partition is then held, the other datasets flow on). A source that
    cannot be reached (``SourceUnavailable``) raises: no verdict on a delivery nobody could see.

    A dataset of many providers (``settings.registry()``): each provider's delivery is landed on its own
    (``partition_path(..., provider=code)``; a file unchanged since its last landing is not read again), and the
    day's partition is their rows together, each with its provider's code (:data:`PROVIDER`)."""
    codes = settings.registry().codes(entry.id)
    if codes:
        return _land_providers(entry, day, settings, codes)
    return _land(entry, day, settings, partition_path(entry, day, settings))


def _land(entry: Entry, day: date, settings: Settings, path: Path, provider: str | None = None) -> Landing:
    with PartitionWriter(path) as writer:
        try:
            delivery = read_delivery(entry, day, settings, sink=writer, provider=provider)
            unreadable = None
        except SourceUnavailable:
            raise
        except DeliveryError as exc:
            writer.discard()
            location = source_file(entry, day, settings, provider)
            try:  # a file's bytes, so that its re-delivery is told apart; a database or API answer: none
                sha256 = source_fingerprint(entry, day, settings, provider)
            except DeliveryError:
                sha256 = None
            delivery = Delivery(entry.id, day, empty_table(list(entry.dataset.source_columns)),
                                location=str(location or entry.id), sha256=sha256)
            unreadable = mask_free_text(str(exc))
        if delivery.streamed is None or writer.rows == 0:
            writer.write(delivery.table)
        landing = Landing(path, delivery, unreadable)
        writer.commit({META_KEY: json.dumps(landing.summary(), ensure_ascii=False).encode()})
    return landing


def _unchanged(entry: Entry, day: date, settings: Settings, provider: str, facts: dict) -> bool:
    """Whether a provider's landed delivery is still what its source holds: a file with the SHA-256 landed (or
    still none); an HTTP delivery is always read again (its fingerprint is its content)."""
    if reads_over_http(entry, settings):
        return False
    return source_fingerprint(entry, day, settings, provider) == facts.get("source_sha256")


COMBINE_ROWS = 100_000
"""The day's partition of many providers is written this many rows at a time (not a row group per provider)."""
_SUMMED = ("source_size_bytes", "delivered_rows", "landed_rows", "unparseable_rows")


def _land_providers(entry: Entry, day: date, settings: Settings, codes: tuple[str, ...]) -> Landing:
    """Land each provider's delivery of the day on its own, then the day's partition: their rows, provider by
    provider, with :data:`PROVIDER`; the facts summed, each provider's under ``providers``."""
    providers: dict[str, dict] = {}
    for code in codes:
        path = partition_path(entry, day, settings, provider=code)
        before = landed_summary(path)
        if before is not None and _unchanged(entry, day, settings, code, before):
            providers[code] = before | {"relanded": False}
        else:
            providers[code] = _land(entry, day, settings, path, code).summary() | {"relanded": True}
    path = partition_path(entry, day, settings)
    before = landed_summary(path)
    if before is not None and list((before.get("providers") or {})) == list(codes) and \
            not any(f["relanded"] for f in providers.values()):
        return Landing(path, None, None, before | {"providers": providers})  # every provider as landed: as it was
    paths = [partition_path(entry, day, settings, provider=code) for code in codes]
    names: list[str] = []
    for p in paths:  # every column any provider's delivery has, the bookkeeping ones last
        names += [n for n in pq.read_schema(p).names if n not in names]
    names = [n for n in names if n not in BOOKKEEPING_COLUMNS] + list(BOOKKEEPING_COLUMNS)
    with PartitionWriter(path) as writer:
        held, rows = [], 0
        for code, p in zip(codes, paths, strict=True):
            table = pq.read_table(p)
            for n in names:
                if n not in table.column_names:
                    table = table.append_column(pa.field(n, pa.string()), pa.nulls(table.num_rows, pa.string()))
            held.append(table.select(names).append_column(pa.field(PROVIDER, pa.string()),
                                                          pa.array([code] * table.num_rows, pa.string())))
            rows += table.num_rows
            if rows >= COMBINE_ROWS:  # row groups of a useful size, however many providers
                writer.write(pa.concat_tables(held))
                held, rows = [], 0
        if held:
            writer.write(pa.concat_tables(held))
        delivered = [c for c in codes if providers[c]["delivered"]]
        facts = {
            "dataset": entry.id,
            "partition": day.isoformat(),
            "delivered": bool(delivered),
            "location": str(settings.sources_dir / entry.department.department / entry.dataset.name) if delivered
            else None,
            "source_sha256": combined_fingerprint({c: providers[c]["source_sha256"] for c in codes}),
            **{k: sum(int(providers[c][k] or 0) for c in codes) for k in _SUMMED},
            "warnings": [w for c in codes for w in providers[c]["warnings"]],  # each names its provider's file
            "landing_path": str(path),
            "unreadable": None,  # an unreadable provider is held alone (quality/day.py): the others flow
            "providers": providers,
        }
        writer.commit({META_KEY: json.dumps(facts, ensure_ascii=False).encode()})
    return Landing(path, None, None, facts)


def provider_counts(facts: dict) -> dict:
    """A day of many providers in a few JSON-safe figures (none for a dataset of one provider): how many providers,
    how many delivered, how many this landing re-read, and the codes of those whose delivery is unreadable."""
    providers = facts.get("providers")
    if providers is None:
        return {}
    unreadable = sorted(c for c, f in providers.items() if f.get("unreadable"))
    return {
        "providers": len(providers),
        "providers_delivered": sum(bool(f["delivered"]) for f in providers.values()),
        "providers_relanded": sum(bool(f.get("relanded")) for f in providers.values()),
        "providers_unreadable": (", ".join(unreadable[:50]) or "none")
        + (f" and {len(unreadable) - 50} more" if len(unreadable) > 50 else ""),
    }


def landed_summary(path: Path) -> dict | None:
    """The facts recorded with a landed partition, or None if it was never landed."""
    return json_metadata(path, META_KEY) if path.exists() else None


def newest_landed_day(entry: Entry, settings: Settings, provider: str | None = None) -> date | None:
    """The newest day whose delivery is landed (a day landed with no delivery, or unreadable, does not count) — of
    one ``provider`` of many: its own landings —: the data's own freshness, whatever day a run landed it on. Reads
    the partitions' footers newest first."""
    folder = settings.lake_dir / LAYER / entry.department.department / entry.dataset.name
    paths = folder.glob("????-??-??.parquet") if provider is None else folder.glob(f"????-??-??/{provider}.parquet")
    for path in sorted(paths, reverse=True):
        facts = landed_summary(path) or {}
        if facts.get("delivered") and not facts.get("unreadable"):
            return date.fromisoformat(path.stem if provider is None else path.parent.name)
    return None


def provider_newest_days(entry: Entry, settings: Settings, look_back: int = 62) -> dict[str, date | None]:
    """Each provider's (of a dataset of many) newest day whose delivery is landed and readable, as the day partitions'
    facts record it: the partitions are read newest first until every provider is found or ``look_back`` days are
    read (None: not within them)."""
    codes = settings.registry().codes(entry.id)
    folder = settings.lake_dir / LAYER / entry.department.department / entry.dataset.name
    found: dict[str, date] = {}
    for path in sorted(folder.glob("????-??-??.parquet"), reverse=True)[:look_back]:
        for code, facts in ((landed_summary(path) or {}).get("providers") or {}).items():
            if code not in found and facts.get("delivered") and not facts.get("unreadable"):
                found[code] = date.fromisoformat(path.stem)
        if len(found) >= len(codes):
            break
    return {code: found.get(code) for code in codes}


def late_providers(entry: Entry, settings: Settings, now: datetime, grace: timedelta,
                   allowed_days: int = 0) -> list[tuple[str, date | None, date]]:
    """The providers (of a dataset of many) behind their own update time: a day's delivery is due the next day at
    the provider's ``update_time`` (Asia/Shanghai, plus ``grace``); a provider whose newest landed day is more than
    ``allowed_days`` before the newest day due by ``now`` is late. Returns (code, newest day, day due), by code."""
    newest = provider_newest_days(entry, settings)
    today = now.date()
    late = []
    for provider in settings.registry().of(entry.id):
        hour, minute = (int(x) for x in provider.update_time_of(entry.id).split(":"))
        due_at = datetime.combine(today, datetime.min.time(), now.tzinfo).replace(hour=hour, minute=minute) + grace
        due = today - timedelta(days=1 if now >= due_at else 2)
        have = newest[provider.code]
        if have is None or (due - have).days > allowed_days:
            late.append((provider.code, have, due))
    return late


def delivery_files(settings: Settings, entry: Entry) -> Iterator[tuple[Path, date | None]]:
    """Each file in the dataset's delivery folder — or its providers' folders — named like a delivery, by name:
    ``(path, day)``, day None when the name's date does not exist (``motor_vehicles_20250631.csv``). The runner's
    days, the stray files and the file-arrival sensor all look through here."""
    ext = FILE_EXTENSIONS[entry.dataset.format.kind]
    folder = settings.sources_dir / entry.department.department / entry.dataset.name
    folders = [folder / code for code in settings.registry().codes(entry.id)] or [folder]
    for f in (f for d in folders if d.is_dir() for f in sorted(d.glob("*"))):
        try:
            day = delivery_day(f.name, entry.dataset.name, ext)
        except ValueError:
            yield f, None
            continue
        if day is not None:
            yield f, day


def stray_files(settings: Settings, entries: list[Entry]) -> list[Path]:
    """Files named like a delivery whose date does not exist: reported and skipped, never a partition."""
    return [f for e in entries if e.dataset.format.kind != "frontdb" for f, day in delivery_files(settings, e)
            if day is None]


def _frontdb_days(entry: Entry, text: str) -> set[date]:
    """The first and last day of the front-end database's handling times (none: no database, table or day)."""
    fmt = entry.dataset.format
    url = sa.make_url(text)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        return set()  # no database file (and none is created by looking)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            col = sa.column(fmt.day_column)
            lo, hi = conn.execute(sa.select(sa.func.min(col), sa.func.max(col)).select_from(sa.table(fmt.table))).one()
    except sa.exc.SQLAlchemyError:
        return set()  # no database or no table: nothing delivered that way
    finally:
        engine.dispose()
    found = set()
    for v in (lo, hi):
        try:
            found.add(date.fromisoformat(str(v)[:10]))
        except ValueError:
            continue  # a handling time in another layout: not a day to run
    return found


def days_in_sources(settings: Settings, entries: list[Entry]) -> list[date]:
    """The partition days present in the sources: from the delivery file names (a name whose date does not exist
    is skipped: ``stray_files``), and from the range of the front-end database's handling times. Days in between
    without any delivery are included (they materialise as "no delivery")."""
    found: set[date] = set()
    for entry in entries:
        if entry.dataset.format.kind == "frontdb":
            for provider in settings.registry().codes(entry.id) or (None,):
                found |= _frontdb_days(entry, frontdb_url(settings, provider))
            continue
        found |= {day for _, day in delivery_files(settings, entry) if day is not None}
    if not found:
        return []
    first, last = min(found), max(found)
    return [date.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1)]
