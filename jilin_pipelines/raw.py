"""Raw landing: read one (dataset, day) delivery with the reader its catalogue format names, and keep it
as delivered, row for row, as Parquet with the source's SHA-256, size and row counts.

Pure: no Dagster import. The Dagster raw assets (``defs/``) are a thin layer over ``land_day``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from jilin_pipelines.catalogue import Entry
from jilin_pipelines.catalogue.models import FILE_EXTENSIONS
from jilin_pipelines.lake import PartitionWriter, json_metadata
from jilin_pipelines.settings import Settings
from jilin_pipelines.sources import (
    ApiClient,
    Delivery,
    DeliveryError,
    SourceUnavailable,
    delivery_path,
    read_csv,
    read_frontdb,
    read_jsonl,
    read_xlsx,
    read_xml,
)
from jilin_pipelines.sources._common import ensure_inside
from jilin_pipelines.sources.delivery import Sink, empty_table
from jilin_pipelines.standards.masking import mask_identifiers

LAYER = "raw"
META_KEY = b"jilin_delivery"


def source_file(entry: Entry, day: date, settings: Settings) -> Path | None:
    """Where the day's delivery file lies under the sources directory (None for front-end database datasets)."""
    ext = FILE_EXTENSIONS.get(entry.dataset.format.kind)
    if ext is None:
        return None
    return delivery_path(settings.sources_dir, entry.department.department, entry.dataset.name, day, ext)


def reads_over_http(entry: Entry, settings: Settings) -> bool:
    return entry.dataset.format.kind == "api" and settings.api_url is not None


def _frontdb_url(settings: Settings) -> str:
    """The front-end database's URL; an SQLite file named inside the sources directory must resolve inside it, as
    every delivery file must (a symlink out of it is refused, not read)."""
    url = sa.make_url(settings.social_security_db_url)
    if url.get_backend_name() == "sqlite" and url.database and not url.database.startswith(("file:", ":memory:")):
        path = Path(url.database).absolute()
        if path.is_relative_to(Path(settings.sources_dir).absolute()):
            ensure_inside(settings.sources_dir, path)
    return settings.social_security_db_url


def read_delivery(entry: Entry, day: date, settings: Settings, sink: Sink | None = None) -> Delivery:
    """Read the day's delivery of one catalogue dataset, whatever its format. With a ``sink``, the reader passes
    its rows to it a piece at a time as it reads them and leaves ``table`` empty (``streamed`` says what it read);
    without, ``table`` holds them all."""
    fmt = entry.dataset.format
    columns = entry.dataset.source_columns
    common = {"dataset": entry.id, "day": day, "columns": columns}
    if fmt.kind == "frontdb":
        keys = [entry.dataset.field(k).source for k in entry.dataset.key]
        return read_frontdb(_frontdb_url(settings), table=fmt.table, day_column=fmt.day_column,
                            key_columns=keys, sink=sink, **common)
    if reads_over_http(entry, settings):
        with ApiClient(settings.api_url, settings.api_token) as client:
            return client.fetch(entry.department.department, entry.dataset.name, day, columns, sink=sink)
    path = source_file(entry, day, settings)
    if fmt.kind == "csv":
        return read_csv(path, encoding=fmt.encoding, sink=sink, **common)
    if fmt.kind == "xlsx":
        return read_xlsx(path, sheet=fmt.sheet, sink=sink, **common)
    if fmt.kind == "xml":
        return read_xml(path, record_tag=fmt.record_tag, sink=sink, **common)
    return read_jsonl(path, sink=sink, **common)  # jsonl, and api datasets read from their files


def source_fingerprint(entry: Entry, day: date, settings: Settings) -> str | None:
    """The SHA-256 the day's landing would record, computed as cheaply as the format allows.

    Files are hashed without parsing; database and HTTP deliveries have to be read.
    """
    if entry.dataset.format.kind == "frontdb" or reads_over_http(entry, settings):
        return read_delivery(entry, day, settings).sha256
    path = source_file(entry, day, settings)
    if not path.exists():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def landing_path(entry: Entry, day: date, settings: Settings, layer: str = LAYER) -> Path:
    return settings.lake_dir / layer / entry.department.department / entry.dataset.name / f"{day.isoformat()}.parquet"


@dataclass(frozen=True)
class Landing:
    path: Path
    delivery: Delivery
    #: why the delivery could not be read at all (personal values masked), or None: an unreadable delivery lands
    #: empty and its partition is held (quality/holds.py) until the department re-delivers it
    unreadable: str | None = None

    def summary(self) -> dict:
        """JSON-safe facts about the landing (no delivered values: nothing personal)."""
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
    cannot be reached (``SourceUnavailable``) raises: no verdict on a delivery nobody could see."""
    path = landing_path(entry, day, settings)
    with PartitionWriter(path) as writer:
        try:
            delivery = read_delivery(entry, day, settings, sink=writer)
            unreadable = None
        except SourceUnavailable:
            raise
        except DeliveryError as exc:
            writer.discard()
            location = source_file(entry, day, settings)
            try:  # a file's bytes, so that its re-delivery is told apart; a database or API answer: none
                sha256 = source_fingerprint(entry, day, settings)
            except DeliveryError:
                sha256 = None
            delivery = Delivery(entry.id, day, empty_table(list(entry.dataset.source_columns)),
                                location=str(location or entry.id), sha256=sha256)
            unreadable = mask_identifiers(str(exc))
        if delivery.streamed is None or writer.rows == 0:
            writer.write(delivery.table)
        landing = Landing(path, delivery, unreadable)
        writer.commit({META_KEY: json.dumps(landing.summary(), ensure_ascii=False).encode()})
    return landing


def landed_summary(path: Path) -> dict | None:
    """The facts recorded with a landed partition, or None if it was never landed."""
    return json_metadata(path, META_KEY) if path.exists() else None


def newest_landed_day(entry: Entry, settings: Settings) -> date | None:
    """The newest day whose delivery is landed (a day landed with no delivery, or unreadable, does not count):
    the data's own freshness, whatever day a run landed it on. Reads the partitions' footers newest first."""
    folder = settings.lake_dir / LAYER / entry.department.department / entry.dataset.name
    for path in sorted(folder.glob("????-??-??.parquet"), reverse=True):
        facts = landed_summary(path) or {}
        if facts.get("delivered") and not facts.get("unreadable"):
            return date.fromisoformat(path.stem)
    return None


def _delivery_files(settings: Settings, entry: Entry):
    """Each file in the dataset's delivery folder named like a delivery: ``(path, day)``, day None when the name's
    date does not exist (``motor_vehicles_20250631.csv``)."""
    fmt = entry.dataset.format
    folder = settings.sources_dir / entry.department.department / entry.dataset.name
    pattern = re.compile(rf"^{re.escape(entry.dataset.name)}_(\d{{8}})\.{FILE_EXTENSIONS[fmt.kind]}$")
    for f in sorted(folder.glob("*")) if folder.is_dir() else ():
        m = pattern.match(f.name)
        if m:
            try:
                yield f, date(int(m[1][:4]), int(m[1][4:6]), int(m[1][6:]))
            except ValueError:
                yield f, None


def stray_files(settings: Settings, entries: list[Entry]) -> list[Path]:
    """Files named like a delivery whose date does not exist: reported and skipped, never a partition."""
    return [f for e in entries if e.dataset.format.kind != "frontdb" for f, day in _delivery_files(settings, e)
            if day is None]


def days_in_sources(settings: Settings, entries: list[Entry]) -> list[date]:
    """The partition days present in the sources: from the delivery file names (a name whose date does not exist
    is skipped: ``stray_files``), and from the range of the front-end database's handling times. Days in between
    without any delivery are included (they materialise as "no delivery")."""
    found: set[date] = set()
    for entry in entries:
        fmt = entry.dataset.format
        if fmt.kind == "frontdb":
            url = sa.make_url(settings.social_security_db_url)
            if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
                continue  # no database file (and none is created by looking)
            engine = sa.create_engine(url)
            try:
                with engine.connect() as conn:
                    col = sa.column(fmt.day_column)
                    lo, hi = conn.execute(sa.select(sa.func.min(col), sa.func.max(col)).select_from(sa.table(fmt.table))).one()
            except sa.exc.SQLAlchemyError:
                continue  # no database or no table: nothing delivered that way
            finally:
                engine.dispose()
            for v in (lo, hi):
                try:
                    found.add(date.fromisoformat(str(v)[:10]))
                except ValueError:
                    continue  # a handling time in another layout: not a day to run
            continue
        found |= {day for _, day in _delivery_files(settings, entry) if day is not None}
    if not found:
        return []
    first, last = min(found), max(found)
    return [date.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1)]
