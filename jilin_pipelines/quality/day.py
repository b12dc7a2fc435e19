"""The standardised layer of one (dataset, day) in one call: the raw landing in; the standardised partition, its
quarantine, its quality results and its verdict (flows, or held: ``holds.py``) out.

Pure: no Dagster import. The Dagster standardised assets translate the result into metadata and check results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from jilin_pipelines.alerts import append_alert, now_utc
from jilin_pipelines.catalogue import Entry
from jilin_pipelines.lake import write_parquet_atomically
from jilin_pipelines.quality import holds
from jilin_pipelines.quality.layout import standard_schema
from jilin_pipelines.quality.quarantine import replace_partition
from jilin_pipelines.quality.scorecard import write_results
from jilin_pipelines.quality.standardise import Outcome, standardise
from jilin_pipelines.raw import landed_summary, landing_path
from jilin_pipelines.settings import Settings

LAYER = "standardised"


class MissingLanding(LookupError):
    """The raw partition the standardised one is made from was never landed."""


@dataclass
class StandardisedDay:
    outcome: Outcome
    facts: dict  # the raw landing's facts (raw.Landing.summary)
    path: Path  # the standardised partition
    hold: holds.Hold | None  # the hold that keeps the partition out of the base, or None: it flows
    released: bool = False  # an engineer's release let this delivery through

    @property
    def delivered(self) -> bool:
        return bool(self.facts["delivered"])


def standardise_day(entry: Entry, day: date, settings: Settings, engine: sa.Engine,
                    release_reason: str | None = None) -> StandardisedDay:
    """Standardise the landed delivery of ``entry`` for ``day``, replace its quarantine rows, keep its quality
    results for the scorecard, and judge it: an unreadable delivery, or one whose blocked rows are over the
    catalogue's limit (``holds.blocks``), is held — its standardised partition written empty, so none of its rows
    reach the base, and an alert written. ``release_reason`` releases a held blocked partition after review
    (``holds.release``): its unblocked rows then flow."""
    raw_path = landing_path(entry, day, settings)
    facts = landed_summary(raw_path)
    if facts is None:
        raise MissingLanding(f"{entry.id} {day}: no raw landing at {raw_path}; land the day's delivery first")
    out = landing_path(entry, day, settings, layer=LAYER)
    outcome = standardise(entry, raw_path, day, facts["source_sha256"], out=out, facts=facts)
    stats = outcome.stats
    replace_partition(engine, entry.id, day, outcome.quarantine)

    checked = stats["delivered_rows"] - stats["exact_duplicates"]
    kind, reason = None, ""
    if facts.get("unreadable"):
        kind, reason = holds.UNREADABLE, facts["unreadable"]
    elif holds.blocks(entry.dataset, stats["quarantined_rows"], checked):
        kind, reason = holds.BLOCKED, holds.blocked_reason(entry.dataset, stats["quarantined_rows"], checked)
    hold = holds.judge(engine, entry.id, day, facts["source_sha256"], kind, reason, stats["standardised_rows"])
    if hold is not None and release_reason:
        holds.release(engine, entry.id, day, release_reason)  # refuses an unreadable delivery
        hold = None
    released = kind is not None and hold is None
    stats["held_rows"] = 0
    if hold is not None:
        stats["held_rows"], stats["standardised_rows"] = stats["standardised_rows"], 0
        write_parquet_atomically(standard_schema(entry.dataset).empty_table(), out)
        append_alert(settings.data_dir, {
            "time": now_utc(), "kind": "held", "datasets": [entry.id], "partition": day.isoformat(),
            "reason": f"{hold.kind}: {hold.reason}", "held_rows": hold.held_rows,
        })
    write_results(settings.lake_dir, entry.id, day, stats, bool(facts["delivered"]))
    return StandardisedDay(outcome, facts, out, hold, released)
