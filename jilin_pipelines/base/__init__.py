"""The shared base databases (共享基础库): golden records with history (SCD type 2) and attribute-level
provenance, merged from the standardised layer, on SQLite (embedded default) and PostgreSQL.

Pure core, no Dagster: the Dagster assets ``base/<table>`` are thin wrappers over this API.

* ``upgrade(engine_or_url)`` — create / migrate the schema (Alembic, scripts in ``base/migrations``).
* ``merge_partition(engine, dataset_id, partition, frame) -> MergeStats`` — one standardised partition
  (``quality/layout.py`` contract) into every base table it feeds, in one transaction; idempotent and
  order-independent. ``MergeStats.as_dict()`` is JSON-safe. ``merge_partitions(engine, partition, {dataset_id:
  frame or file})`` — one day's partitions of several datasets at once (each touched key recomputed once), the same
  database as merging them one by one.
* ``as_of(engine, table, day)`` — the golden records as of a day (with ``placeholder`` and ``provenance``);
  ``provenance_as_of(engine, table, day)`` — the same provenance, one row per attribute; ``provenance_of(engine,
  table, versions)`` — the provenance of named golden versions (key and ``_valid_from``);
  ``record_versions(engine, table, key)`` — a key's golden versions; ``source_versions(...)`` — its delivered ones.
  Provenance names deliveries by id (the ``delivery`` table): ``query.deliveries(engine, ids)`` and
  ``query.provenance_deliveries_of(engine, texts)`` resolve them, ``golden.provenance_sources(text, deliveries)``
  reads one version's per attribute.
* ``tables()``, ``tables_fed_by(dataset_id)``, ``lineage()`` — per base table its source datasets and column
  lineage base column -> [(dataset_id, standard field)], for generating the assets, their deps and metadata.

What feeds what, the column mapping and the survivorship priorities live in ``catalogue/base/tables.yaml``.
"""

from jilin_pipelines.base.config import BaseConfig, TableLineage, TableSpec, base_config, lineage, load_base_config
from jilin_pipelines.base.merge import MergeStats, StepHook, TableStats, merge_partition, merge_partitions
from jilin_pipelines.base.day import merge_day
from jilin_pipelines.base.migrate import current_revision, head_revision, upgrade
from jilin_pipelines.base.query import (
    as_of,
    newest_delivered,
    provenance_as_of,
    provenance_of,
    record_versions,
    source_versions,
)
from jilin_pipelines.base.schema import golden_table, metadata, version_table


def tables() -> tuple[str, ...]:
    """The base tables (besides ``quarantine``)."""
    return tuple(base_config().tables)


def tables_fed_by(dataset_id: str) -> tuple[str, ...]:
    """The base tables a standardised dataset feeds."""
    return base_config().tables_fed_by(dataset_id)


__all__ = [
    "BaseConfig",
    "MergeStats",
    "merge_day",
    "StepHook",
    "TableLineage",
    "TableSpec",
    "TableStats",
    "as_of",
    "base_config",
    "current_revision",
    "golden_table",
    "head_revision",
    "lineage",
    "load_base_config",
    "merge_partition",
    "merge_partitions",
    "metadata",
    "newest_delivered",
    "provenance_as_of",
    "provenance_of",
    "record_versions",
    "source_versions",
    "tables",
    "tables_fed_by",
    "upgrade",
    "version_table",
]
