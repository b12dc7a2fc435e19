"""Held partitions: one department's bad day stays that department's problem.

A (dataset, day) partition is **held** when its delivery is systematically broken — unreadable (a missing column,
a refused file) or over its blocking limit (``blocks``) — and none of its rows then reach the base: its
standardised partition is written empty, so the day's merge replaces whatever it merged before with nothing, and
the base merge and the scenarios of the day run on everything else. The hold is recorded in ``partition_hold``
(the one home of the fact: the run summary, the alerts, the scenarios' caveats and the release command read it).

A hold ends when the department re-delivers (the new delivery is judged afresh) or when an engineer, after review,
**releases** it (``release``): a released blocked partition lets its unblocked rows through for exactly the
delivery reviewed (its SHA-256); a re-delivery is judged afresh. An unreadable delivery cannot be released: there
is nothing to let through.

A dataset delivered by many providers (``providers.py``) is judged provider by provider: a provider's unreadable
or over-the-limit delivery is held alone (``provider``: its code; ``""`` for a dataset of one provider) and its
rows are left out of the day's standardised partition, while the other providers' rows flow.

Pure: no Dagster import.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from jilin_pipelines.base.schema import PARTITION_HOLD, SCENARIO_HELD_INPUT, metadata
from jilin_pipelines.catalogue.models import Dataset

UNREADABLE = "unreadable"
BLOCKED = "blocked"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def blocks(dataset: Dataset, blocked_rows: int, checked_rows: int) -> bool:
    """Whether a partition's blocked rows are evidence of a broken export: over the catalogue's share *and* at
    least its ``min_blocked_rows`` (2 bad rows of 2 is a small increment's everyday defect, not a broken export)."""
    if not checked_rows or blocked_rows < dataset.min_blocked_rows:
        return False
    return blocked_rows / checked_rows > dataset.max_blocked_share


def blocked_reason(dataset: Dataset, blocked_rows: int, checked_rows: int) -> str:
    return (f"{blocked_rows} of {checked_rows} rows blocked ({blocked_rows / checked_rows:.0%}): over the limit of "
            f"{dataset.max_blocked_share:.0%} and at least {dataset.min_blocked_rows} rows")


@dataclass(frozen=True)
class Hold:
    dataset: str
    partition: date
    kind: str
    reason: str
    source_sha256: str | None
    held_rows: int
    held_at: datetime
    released_at: datetime | None = None
    release_reason: str | None = None
    provider: str = ""  # one provider of many; "" for a dataset of one provider

    @property
    def label(self) -> str:
        """The dataset, and the provider held when it is one of many."""
        return f"{self.dataset} (provider {self.provider})" if self.provider else self.dataset

    @property
    def active(self) -> bool:
        return self.released_at is None

    def describe(self) -> str:
        state = f"released ({self.release_reason})" if not self.active else "held"
        return f"{self.label} {self.partition.isoformat()}: {state} — {self.kind}: {self.reason}"


def _table() -> sa.Table:
    return metadata().tables[PARTITION_HOLD]


def _now() -> datetime:
    return datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


def _this(t: sa.Table, dataset: str, day: date, provider: str):
    return sa.and_(t.c.dataset == dataset, t.c.partition == day, t.c.provider == provider)


def get(engine: sa.Engine, dataset: str, day: date, provider: str = "") -> Hold | None:
    t = _table()
    with engine.connect() as conn:
        row = conn.execute(sa.select(t).where(_this(t, dataset, day, provider))).mappings().first()
    return Hold(**row) if row else None


def judge(engine: sa.Engine, dataset: str, day: date, sha256: str | None, kind: str | None, reason: str = "",
          held_rows: int = 0, provider: str = "") -> Hold | None:
    """Record the verdict on one partition's delivery and return the hold that applies (None: it flows).

    ``kind`` None: nothing wrong, any earlier hold is lifted. Otherwise the partition is held — unless the very
    same delivery (``sha256``) was released by an engineer, which then stays released."""
    t = _table()
    previous = get(engine, dataset, day, provider)
    with engine.begin() as conn:
        if kind is None:
            conn.execute(sa.delete(t).where(_this(t, dataset, day, provider)))
            return None
        if previous and not previous.active and previous.kind == kind == BLOCKED and previous.source_sha256 == sha256:
            return None  # released after review: the same delivery flows
        conn.execute(sa.delete(t).where(_this(t, dataset, day, provider)))
        hold = Hold(dataset, day, kind, reason, sha256, held_rows, _now(), provider=provider)
        conn.execute(sa.insert(t).values(**hold.__dict__))
    return hold


class ReleaseError(ValueError):
    """A release that cannot be done: nothing held, or a delivery that cannot be read."""


def release(engine: sa.Engine, dataset: str, day: date, reason: str, provider: str = "") -> Hold:
    """Release a held blocked partition after review: its delivery's unblocked rows flow once it is standardised
    again. Refused (``ReleaseError``) when nothing is held or the delivery is unreadable."""
    if not reason.strip():
        raise ReleaseError("a release needs a reason (what the review found)")
    hold = get(engine, dataset, day, provider)
    if hold is None:
        what = f"{dataset} (provider {provider})" if provider else dataset
        raise ReleaseError(f"{what} {day.isoformat()}: nothing is held")
    if hold.kind == UNREADABLE:
        raise ReleaseError(f"{hold.label} {day.isoformat()}: the delivery is unreadable ({hold.reason}); "
                           f"nothing can flow until the department re-delivers it")
    if not hold.active:
        return hold
    t = _table()
    with engine.begin() as conn:
        conn.execute(sa.update(t).where(_this(t, dataset, day, provider))
                     .values(released_at=_now(), release_reason=reason.strip()))
    return get(engine, dataset, day, provider)


def holds(engine: sa.Engine, start: date | None = None, end: date | None = None,
          datasets: Iterable[str] | None = None, active_only: bool = True) -> list[Hold]:
    """The holds of the days from ``start`` to ``end`` (inclusive; open when None), by day then dataset."""
    t = _table()
    query = sa.select(t).order_by(t.c.partition, t.c.dataset, t.c.provider)
    if start is not None:
        query = query.where(t.c.partition >= start)
    if end is not None:
        query = query.where(t.c.partition <= end)
    if datasets is not None:
        query = query.where(t.c.dataset.in_(sorted(set(datasets))))
    if active_only:
        query = query.where(t.c.released_at.is_(None))
    with engine.connect() as conn:
        return [Hold(**row) for row in conn.execute(query).mappings()]


def record_decided_without(engine: sa.Engine, scenario: str, day: date, held: list[Hold]) -> None:
    """Replace what the scenario's partition ``day`` records as the held deliveries it decided without."""
    t = metadata().tables[SCENARIO_HELD_INPUT]
    with engine.begin() as conn:
        conn.execute(sa.delete(t).where(t.c.scenario == scenario, t.c.partition == day))
        if held:
            conn.execute(sa.insert(t), [{"scenario": scenario, "partition": day, "dataset": h.dataset,
                                         "delivery_partition": h.partition, "provider": h.provider,
                                         "reason": h.reason} for h in held])


def decided_without(engine: sa.Engine, scenario: str, day: date) -> list[tuple[str, date, str]]:
    """The held deliveries (dataset — with the provider when one of many —, day, reason) the scenario's partition
    ``day`` decided without."""
    t = metadata().tables[SCENARIO_HELD_INPUT]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.dataset, t.c.provider, t.c.delivery_partition, t.c.reason)
                            .where(t.c.scenario == scenario, t.c.partition == day)
                            .order_by(t.c.delivery_partition, t.c.dataset, t.c.provider))
        return [(f"{r.dataset} (provider {r.provider})" if r.provider else r.dataset, r.delivery_partition, r.reason)
                for r in rows]
