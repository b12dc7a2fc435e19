"""The base layer's one call: :func:`merge_day` merges a day's standardised partitions of every dataset that feeds
the chosen base tables, in one pass and one transaction (``merge.merge_partitions``). No Dagster here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa

from jilin_pipelines.base.config import base_config, lineage
from jilin_pipelines.base.merge import MergeStats, merge_partitions
from jilin_pipelines.catalogue import catalogue
from jilin_pipelines.engines import Engine
from jilin_pipelines.lake import STANDARDISED, existing_partition
from jilin_pipelines.settings import Settings


def merge_day(settings: Settings, engine: sa.Engine, day: date, tables: Iterable[str] | None = None,
              compute: Engine | None = None) -> MergeStats:
    """Merge ``day`` into ``tables`` (default every base table) from the lake's standardised partitions of the
    datasets that feed them; a missing partition is ``lake.MissingPartition``. ``compute``: where the
    survivorship query runs (default the embedded engine)."""
    tables = list(base_config().tables if tables is None else tables)
    entries = {e.id: e for e in catalogue().entries}
    feeding = sorted({ds for t in tables for ds in lineage()[t].datasets})
    paths = {ds: existing_partition(entries[ds], day, settings, STANDARDISED, needed_by="base_merge") for ds in feeding}
    return merge_partitions(engine, day, paths, tables=tables, compute=compute)
