"""The standardised layer of one (dataset, day) in one call: the raw landing in; the standardised partition, its
quarantine, its quality results and its verdict (flows, or held: ``holds.py``) out. Then, once a day, the scorecard
over every dataset and its report (:func:`score_day`).

Pure: no Dagster import. The Dagster standardised assets translate the result into metadata and check results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from jilin_pipelines.alerts import append_alert, now_utc
from jilin_pipelines.catalogue import Entry
from jilin_pipelines.lake import PartitionWriter, write_parquet_atomically
from jilin_pipelines.quality import holds
from jilin_pipelines.quality.layout import DELIVERY_META, PROVIDER, standard_schema
from jilin_pipelines.base.quarantine import replace_partition
from jilin_pipelines.quality.report import scorecard_dir, write_quality_report
from jilin_pipelines.quality.scorecard import provider_rollup, scorecard, write_results
from jilin_pipelines.quality.standardise import Outcome, standardise
from jilin_pipelines.raw import landed_summary
from jilin_pipelines.lake import RAW, STANDARDISED, MissingPartition, existing_partition, partition_path
from jilin_pipelines.settings import Settings

LAYER = STANDARDISED


@dataclass
class StandardisedDay:
    outcome: Outcome
    facts: dict  # the raw landing's facts (raw.Landing.summary)
    path: Path  # the standardised partition
    hold: holds.Hold | None  # the hold that keeps the partition out of the base, or None: it flows
    released: bool = False  # an engineer's release let this delivery through
    #: a dataset of many providers: the providers held alone (their rows left out; the others' flow)
    provider_holds: list[holds.Hold] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return bool(self.facts["delivered"])


def _verdict(entry: Entry, unreadable: str | None, blocked: int, checked: int) -> tuple[str | None, str]:
    """Whether a delivery is held, and why: unreadable, or over its blocking limit (``holds.blocks``)."""
    if unreadable:
        return holds.UNREADABLE, unreadable
    if holds.blocks(entry.dataset, blocked, checked):
        return holds.BLOCKED, holds.blocked_reason(entry.dataset, blocked, checked)
    return None, ""


def _held_alert(settings: Settings, hold: holds.Hold) -> None:
    append_alert(settings.data_dir, {
        "time": now_utc(), "kind": "held", "datasets": [hold.dataset], "partition": hold.partition.isoformat(),
        **({"provider": hold.provider} if hold.provider else {}),
        "reason": f"{hold.kind}: {hold.reason}", "held_rows": hold.held_rows,
    })


def standardise_day(entry: Entry, day: date, settings: Settings, engine: sa.Engine,
                    release_reason: str | None = None, release_provider: str | None = None) -> StandardisedDay:
    """Standardise the landed delivery of ``entry`` for ``day``, replace its quarantine rows, keep its quality
    results for the scorecard, and judge it: an unreadable delivery, or one whose blocked rows are over the
    catalogue's limit (``holds.blocks``), is held — its standardised partition written empty, so none of its rows
    reach the base, and an alert written. ``release_reason`` releases a held blocked partition after review
    (``holds.release``): its unblocked rows then flow.

    A dataset of many providers is judged provider by provider: a held provider's rows are left out of the
    partition, the others' flow; ``release_reason`` releases the held blocked providers (only
    ``release_provider`` when given)."""
    raw_path = existing_partition(entry, day, settings, RAW, needed_by=f"{entry.id} standardised")
    facts = landed_summary(raw_path)
    if facts is None:  # a file in the raw partition's place that no landing wrote
        raise MissingPartition(f"{entry.id} {day}: {raw_path} is not a raw landing (no landing facts); land the day again")
    out = partition_path(entry, day, settings, layer=LAYER)
    providers = facts.get("providers")
    shas = facts["source_sha256"] if providers is None else {c: f["source_sha256"] for c, f in providers.items()}
    outcome = standardise(entry, raw_path, day, shas, out=out, facts=facts)
    stats = outcome.stats
    replace_partition(engine, entry.id, day, outcome.quarantine)
    stats["held_rows"] = 0
    if providers is not None:
        held = _judge_providers(entry, day, settings, engine, out, outcome, providers, release_reason, release_provider)
        write_results(settings.lake_dir, entry.id, day, stats, bool(facts["delivered"]))
        return StandardisedDay(outcome, facts, out, None, False, held)

    checked = stats["delivered_rows"] - stats["exact_duplicates"]
    kind, reason = _verdict(entry, facts.get("unreadable"), stats["quarantined_rows"], checked)
    hold = holds.judge(engine, entry.id, day, facts["source_sha256"], kind, reason, stats["standardised_rows"])
    if hold is not None and release_reason:
        holds.release(engine, entry.id, day, release_reason)  # refuses an unreadable delivery
        hold = None
    released = kind is not None and hold is None
    if hold is not None:
        stats["held_rows"], stats["standardised_rows"] = stats["standardised_rows"], 0
        write_parquet_atomically(standard_schema(entry.dataset).empty_table(), out)
        _held_alert(settings, hold)
    write_results(settings.lake_dir, entry.id, day, stats, bool(facts["delivered"]))
    return StandardisedDay(outcome, facts, out, hold, released)


def _judge_providers(entry: Entry, day: date, settings: Settings, engine: sa.Engine, out: Path, outcome: Outcome,
                     providers: dict, release_reason: str | None, release_provider: str | None) -> list[holds.Hold]:
    """Judge each provider's delivery on its own; the held ones' rows leave the standardised partition (and their
    counts move to ``held_rows``), each held provider gets its alert. Returns the holds."""
    stats = outcome.stats
    held: list[holds.Hold] = []
    judged = {h.provider for h in holds.holds(engine, day, day, datasets=[entry.id], active_only=False)}
    for code, landed in providers.items():
        mine = stats["providers"][code]
        kind, reason = _verdict(entry, landed.get("unreadable"), mine["quarantined_rows"],
                                mine["delivered_rows"] - mine["exact_duplicates"])
        if kind is None and code not in judged:  # nothing wrong, nothing to lift: no transaction
            mine["held"] = False
            continue
        hold = holds.judge(engine, entry.id, day, landed["source_sha256"], kind, reason, mine["standardised_rows"],
                           provider=code)
        if hold is not None and release_reason and release_provider in (None, "", code) and hold.kind == holds.BLOCKED:
            holds.release(engine, entry.id, day, release_reason, provider=code)
            hold = None
        mine["held"] = hold is not None
        if hold is not None:
            held.append(hold)
            _held_alert(settings, hold)
    if release_provider and release_reason and release_provider not in providers:
        raise holds.ReleaseError(f"{entry.id} {day.isoformat()}: no provider {release_provider} delivers it")
    codes = [h.provider for h in held]
    if codes:  # their rows leave the partition; the file keeps its metadata
        table, meta = pq.read_table(out), pq.ParquetFile(out).metadata.metadata or {}
        keep = pc.invert(pc.is_in(table[PROVIDER], value_set=pa.array(codes, pa.string())))
        with PartitionWriter(out) as writer:
            writer.write(table.filter(pc.fill_null(keep, True)))
            writer.commit({DELIVERY_META: meta[DELIVERY_META]} if DELIVERY_META in meta else None)
        stats["held_rows"] = sum(stats["providers"][c]["standardised_rows"] for c in codes)
        stats["standardised_rows"] -= stats["held_rows"]
    return held


@dataclass
class ScoredDay:
    """The day's quality scorecard over every standardised dataset: ``card`` per department and dimension,
    ``by_provider`` per provider level (empty: no dataset of many providers delivered), ``report`` the HTML page."""

    card: pd.DataFrame
    by_provider: pd.DataFrame
    report: Path


def score_day(dataset_ids: list[str], day: date, settings: Settings) -> ScoredDay:
    """The quality layer's second call of a day, once every dataset's results are in: the scorecard and the
    providers' roll-up written to the lake (``quality/scorecard/<day>.parquet``, ``…/providers/<day>.parquet``)
    and the day's quality report."""
    lake_dir = settings.lake_dir
    card = scorecard(lake_dir, dataset_ids, day)
    write_parquet_atomically(pa.Table.from_pandas(card, preserve_index=False),
                             scorecard_dir(lake_dir) / f"{day.isoformat()}.parquet")
    by_provider = provider_rollup(lake_dir, dataset_ids, day, settings.registry())
    if len(by_provider):
        write_parquet_atomically(pa.Table.from_pandas(by_provider, preserve_index=False),
                                 scorecard_dir(lake_dir) / "providers" / f"{day.isoformat()}.parquet")
    report = write_quality_report(card, lake_dir, settings.reports_dir, day, by_provider)
    return ScoredDay(card, by_provider, report)
