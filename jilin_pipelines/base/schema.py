"""The base databases' schema as SQLAlchemy Core metadata, built from ``catalogue/base/tables.yaml``.

The database itself is created and changed only by the Alembic migrations in ``base/migrations`` (see
``base.migrate.upgrade``); this metadata is what the merge and the queries use, and a test checks that the
migrated database and this metadata agree (so a YAML change without a migration fails).

Per base table ``<t>`` (key ``K``, attributes ``A``):

``<t>`` — the golden records, SCD type 2: one row per key and version.
    ``K``, ``A``; ``placeholder`` (true when no source delivering the entity itself, only references to it, has
    been seen); ``provenance`` (JSON text: the distinct delivered rows the values came from, each
    ``{"delivery": <id in delivery>, "role", "source_row"}``, and per attribute the index of its row or null:
    ``golden.provenance_json``); ``_valid_from`` (the partition day the
    version starts, inclusive), ``_valid_to`` (the day the next version starts, exclusive; null for the current
    version); ``_record_hash`` (a fingerprint of the version, used to tell what a merge changed).
    Primary key (``K``, ``_valid_from``).
``<t>_source_version`` — every delivered version, keyed by (``K``, ``_dataset``, ``_role``, ``_partition``):
    ``_source_row``, ``_delivery`` (its row in ``delivery``), ``_updated_at`` (the dataset's update-time field), ``_reference``
    (the row only mentions the entity) and the mapped attributes. Re-merging a partition replaces exactly that
    partition's rows; the golden versions are derived from these.

Datetimes are stored as naive Asia/Shanghai wall-clock time on both backends; ``as_of`` returns them tz-aware.
``delivery`` — every delivery the base holds versions of: ``id`` (a 63-bit fingerprint of dataset, partition and
    SHA-256, so that the same delivery has the same id whatever order partitions are merged in), ``dataset``,
    ``partition``, ``sha256``, ``size_bytes`` and ``delivered_rows`` (as landed; null where the merge was given a
    frame) and ``standardised_rows``. A re-delivered partition's earlier delivery goes once no version names it.

Plus ``quarantine`` for the quality layer.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa

from jilin_pipelines.base.config import BaseConfig, TableSpec, base_config
from jilin_pipelines.catalogue.outputs import Output, outputs

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}

SQL_TYPES = {
    "string": sa.Text,
    "date": sa.Date,
    "datetime": sa.DateTime,
    "integer": sa.BigInteger,
    "decimal": lambda: sa.Float(precision=53),
}

VERSION_SUFFIX = "_source_version"
# bookkeeping columns of the golden table and of the delivered versions
PLACEHOLDER = "placeholder"
PROVENANCE = "provenance"
VALID_FROM = "_valid_from"
VALID_TO = "_valid_to"
RECORD_HASH = "_record_hash"
DATASET = "_dataset"
ROLE = "_role"
PARTITION = "_partition"
SOURCE_ROW = "_source_row"
SOURCE_SHA256 = "_source_sha256"  # not stored in the versions: their delivery's, read through ``delivery``
DELIVERY = "_delivery"
UPDATED_AT = "_updated_at"
REFERENCE = "_reference"
VERSION_META = (DATASET, ROLE, PARTITION, SOURCE_ROW, SOURCE_SHA256, UPDATED_AT, REFERENCE, DELIVERY)
DELIVERY_TABLE = "delivery"
QUARANTINE = "quarantine"


def version_table_name(table: str) -> str:
    return table + VERSION_SUFFIX


NEWEST_SUFFIX = "_newest"


def newest_table_name(table: str) -> str:
    """Each key's newest delivered version per source (dataset and role), over every partition merged: what the
    daily merge derives a key's next state from without reading its history back."""
    return table + NEWEST_SUFFIX


def _columns(spec: TableSpec) -> list[sa.Column]:
    return [
        sa.Column(c, SQL_TYPES[t](), nullable=c not in spec.key)
        for c, t in spec.columns.items()
    ]


def _version_columns(spec: TableSpec) -> list[sa.Column]:
    """The columns of a delivered version: the table's, then where it came from."""
    return [
        *_columns(spec),
        sa.Column(DATASET, sa.Text(), nullable=False),
        sa.Column(ROLE, sa.Text(), nullable=False),
        sa.Column(PARTITION, sa.Date(), nullable=False),
        sa.Column(SOURCE_ROW, sa.BigInteger(), nullable=False),
        sa.Column(UPDATED_AT, sa.DateTime(), nullable=True),
        sa.Column(REFERENCE, sa.Boolean(), nullable=False),
        sa.Column(DELIVERY, sa.BigInteger(), nullable=False),  # last: where migration 0010 added it
    ]


def _checks(spec: TableSpec) -> list[sa.CheckConstraint]:
    out = []
    for column, codes in sorted(spec.checks.items()):
        listed = ", ".join("'" + c.replace("'", "''") + "'" for c in codes)
        out.append(sa.CheckConstraint(f"{column} IN ({listed})", name=column))
    return out


def open_version_index(spec: TableSpec) -> sa.Index:
    """Each key's open golden version (``_valid_to`` null), found in one probe however long its history: what the
    daily merge closes and replaces (a partial index, SQLite and PostgreSQL)."""
    where = sa.text(f'"{VALID_TO}" IS NULL')
    return sa.Index(None, *spec.key, sqlite_where=where, postgresql_where=where)


def newest_table(md: sa.MetaData, name: str, spec: TableSpec) -> sa.Table:
    """``<table>_newest``: the version columns, one row per key and source (see :func:`newest_table_name`)."""
    return sa.Table(
        newest_table_name(name),
        md,
        *_version_columns(spec),
        sa.PrimaryKeyConstraint(*spec.key, DATASET, ROLE),
        comment=f"the newest delivered version of {name} per key and source",
    )


def build_metadata(config: BaseConfig) -> sa.MetaData:
    md = sa.MetaData(naming_convention=NAMING)
    for name, spec in config.tables.items():
        sa.Table(
            name,
            md,
            *_columns(spec),
            sa.Column(PLACEHOLDER, sa.Boolean(), nullable=False),
            sa.Column(PROVENANCE, sa.Text(), nullable=False),
            sa.Column(VALID_FROM, sa.Date(), nullable=False),
            sa.Column(VALID_TO, sa.Date(), nullable=True),
            sa.Column(RECORD_HASH, sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint(*spec.key, VALID_FROM),
            *_checks(spec),
            open_version_index(spec),
            comment=spec.title,
        )
        sa.Table(
            version_table_name(name),
            md,
            *_version_columns(spec),
            sa.PrimaryKeyConstraint(*spec.key, DATASET, ROLE, PARTITION),
            sa.Index(None, DATASET, PARTITION),
            comment=f"delivered versions of {name}",
        )
        newest_table(md, name, spec)
    sa.Table(
        QUARANTINE,
        md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("dataset", sa.Text(), nullable=False, comment="<department>.<dataset>"),
        sa.Column("partition", sa.Date(), nullable=False, comment="the delivery day"),
        sa.Column("provider", sa.Text(), nullable=True,
                  comment="the provider whose delivery it is, of a dataset delivered by many (providers.py)"),
        sa.Column("source_row", sa.Text(), nullable=False, comment="row number, or key columns joined by |"),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("dimension", sa.Text(), nullable=True),
        sa.Column("severity", sa.Text(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=True, comment="JSON text of the raw record"),
        sa.Index(None, "dataset", "partition"),
        comment="rows the quality layer rejected",
    )
    delivery_table(md)
    _scenario_tables(md)
    exchange_audit_table(md)
    _hold_tables(md)
    fairness_table(md)
    return md


def delivery_table(md: sa.MetaData) -> sa.Table:
    """The deliveries the delivered versions and the golden provenance name by id (see the module's docstring)."""
    return sa.Table(
        DELIVERY_TABLE,
        md,
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False,
                  comment="a 63-bit fingerprint of dataset, partition and sha256 (golden.delivery_id)"),
        sa.Column("dataset", sa.Text(), nullable=False, comment="<department>.<dataset>"),
        sa.Column("partition", sa.Date(), nullable=False, comment="the delivery day"),
        sa.Column("sha256", sa.Text(), nullable=True, comment="the delivered file's SHA-256"),
        sa.Column("provider", sa.Text(), nullable=True,
                  comment="the provider that delivered it, of a dataset delivered by many (providers.py)"),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True, comment="the delivered file's size, as landed"),
        sa.Column("delivered_rows", sa.BigInteger(), nullable=True, comment="rows delivered, as landed"),
        sa.Column("standardised_rows", sa.BigInteger(), nullable=False, comment="rows of the standardised partition"),
        sa.Index(None, "dataset", "partition"),
        comment="the deliveries the base holds versions of, named by id in versions and provenance",
    )


# --- the fairness audit (jilin_pipelines/fairness): per scenario partition and window, the figures per group --------
SCENARIO_FAIRNESS = "scenario_fairness"


def fairness_table(md: sa.MetaData) -> sa.Table:
    text, real = sa.Text, sa.Float(precision=53)
    return sa.Table(
        SCENARIO_FAIRNESS,
        md,
        sa.Column("scenario", text(), nullable=False),
        sa.Column("partition", sa.Date(), nullable=False, comment="the scenario partition audited"),
        sa.Column("window", text(), nullable=False, comment="day, or the rolling window (30d: D-29 ... D)"),
        sa.Column("dimension", text(), nullable=False, comment="county, sex, age_band, employer_type, use; province"),
        sa.Column("group", text(), nullable=False, comment="the group; never one of fewer than k decisions"),
        sa.Column("n", sa.BigInteger(), nullable=False, comment="decisions in the group (a decision once per window)"),
        sa.Column("adverse", sa.BigInteger(), nullable=False, comment="of them adverse (as the scenario declares)"),
        sa.Column("adverse_rate", real, nullable=False),
        sa.Column("ratio", real, nullable=True,
                  comment="favourable rate of the group over the rest of the province's (four-fifths rule)"),
        sa.Column("p_value", real, nullable=True,
                  comment="Fisher's exact test against the rest, Benjamini-Hochberg adjusted over the day's groups"),
        sa.Column("flagged", sa.Boolean(), nullable=False,
                  comment="ratio under the threshold, p under the level, n at least the support"),
        sa.Column("missing_data_rate", real, nullable=True,
                  comment="share of the group's decisions adverse only for data missing about the subject"),
        sa.Column("coverage_explains", sa.Boolean(), nullable=True,
                  comment="for a group under the threshold: is the ratio on evidence alone back above it"),
        sa.Column("coverage", text(), nullable=False,
                  comment="JSON: per source, the share of the group's and of the rest's subjects it holds"),
        sa.Column("drivers", text(), nullable=False,
                  comment="JSON: the reasons more frequent in the group than in the rest, largest gap first"),
        sa.PrimaryKeyConstraint("scenario", "partition", "window", "dimension", "group"),
        comment="the fairness audit of the scenarios' decisions: per group, rates, ratio, test and coverage",
    )


# --- held partitions (quality/holds.py): a delivery that is unreadable or over its blocking limit ------------
PARTITION_HOLD = "partition_hold"
SCENARIO_HELD_INPUT = "scenario_held_input"


def _hold_tables(md: sa.MetaData) -> None:
    sa.Table(
        PARTITION_HOLD,
        md,
        sa.Column("dataset", sa.Text(), nullable=False, comment="<department>.<dataset>"),
        sa.Column("partition", sa.Date(), nullable=False, comment="the delivery day"),
        sa.Column("provider", sa.Text(), nullable=False, server_default="",
                  comment="the provider held, of a dataset delivered by many; '' for a dataset of one provider"),
        sa.Column("kind", sa.Text(), nullable=False, comment="unreadable or blocked"),
        sa.Column("reason", sa.Text(), nullable=False, comment="why, personal values masked"),
        sa.Column("source_sha256", sa.Text(), nullable=True, comment="the delivery held"),
        sa.Column("held_rows", sa.BigInteger(), nullable=False, comment="rows kept out of the base"),
        sa.Column("held_at", sa.DateTime(), nullable=False, comment="naive Asia/Shanghai wall-clock time"),
        sa.Column("released_at", sa.DateTime(), nullable=True, comment="set when an engineer released it"),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("dataset", "partition", "provider"),
        sa.CheckConstraint("kind IN ('unreadable', 'blocked')", name="kind"),
        comment="partitions held out of the base: none of their rows reach it until re-delivered or released",
    )
    sa.Table(
        SCENARIO_HELD_INPUT,
        md,
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("partition", sa.Date(), nullable=False, comment="the scenario partition that decided"),
        sa.Column("dataset", sa.Text(), nullable=False, comment="a dataset the scenario reads, held"),
        sa.Column("delivery_partition", sa.Date(), nullable=False, comment="the held delivery day"),
        sa.Column("provider", sa.Text(), nullable=False, server_default="", comment="the provider held, or ''"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("scenario", "partition", "dataset", "delivery_partition", "provider"),
        comment="per scenario partition, the held deliveries its decisions were made without",
    )


EXCHANGE_AUDIT = "exchange_audit"


def exchange_audit_table(md: sa.MetaData) -> sa.Table:
    """The exchange audit log, append-only and hash-chained: written and verified by ``privacy/audit.py``."""
    return sa.Table(
        EXCHANGE_AUDIT,
        md,
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=False, comment="1, 2, 3 ... no gaps"),
        sa.Column("time", sa.DateTime(), nullable=False, comment="naive Asia/Shanghai wall-clock time"),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("dataset", sa.Text(), nullable=False, comment="<department>.<dataset>"),
        sa.Column("fields", sa.Text(), nullable=False, comment="JSON array of standard field names"),
        sa.Column("record_count", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.Text(), nullable=False, comment="the previous entry's entry_hash (64 zeros first)"),
        sa.Column("entry_hash", sa.Text(), nullable=False, comment="SHA-256 of the canonical entry and prev_hash"),
        sa.UniqueConstraint("entry_hash"),
        sa.Index(None, "dataset", "time"),
        comment="the exchange audit log: append-only, hash-chained (privacy/audit.py)",
    )


# --- scenario outputs (DESIGN "Scenario rules"): one table per scenario, replaced per partition, declared in the
# catalogue (catalogue/scenarios/outputs.yaml); the evidence of every decision ---------------------------------
SCENARIO_EVIDENCE = "scenario_evidence"


#: the column types of ``catalogue/scenarios/outputs.yaml``
OUTPUT_TYPES = {"text": sa.Text, "day": sa.Date, "count": sa.BigInteger, "number": lambda: sa.Float(precision=53),
                "flag": sa.Boolean}


def output_table(md: sa.MetaData, output: Output) -> sa.Table:
    """A scenario's output table, as the catalogue declares it: its columns in order, the key, and a check of the
    values each column may take (named after the column)."""
    columns = [sa.Column(name, OUTPUT_TYPES[c.type](), nullable=c.nullable, comment=c.comment)
               for name, c in output.columns.items()]
    checks = [sa.CheckConstraint(f"{name} IN ({', '.join(_sql_text(v) for v in c.values)})", name=name)
              for name, c in output.columns.items() if c.values]
    return sa.Table(output.table, md, *columns, sa.PrimaryKeyConstraint(*output.key), *checks, comment=output.comment)


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _scenario_tables(md: sa.MetaData) -> None:
    text, day, count = sa.Text, sa.Date, sa.BigInteger
    for output in outputs().outputs.values():
        output_table(md, output)
    sa.Table(
        SCENARIO_EVIDENCE,
        md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("scenario", text(), nullable=False),
        sa.Column("partition", day(), nullable=False, comment="the scenario partition that decided"),
        sa.Column("decision_id", text(), nullable=False, comment="the decision's key, joined by /"),
        sa.Column("purpose", text(), nullable=False),
        sa.Column("used_for", text(), nullable=False, comment="input, or the flag / check the record served"),
        sa.Column("base_table", text(), nullable=False),
        sa.Column("base_key", text(), nullable=False, comment="JSON array of the base record's key values"),
        sa.Column("base_valid_from", day(), nullable=True, comment="the golden version used (null: a delivered row)"),
        sa.Column("person_id", text(), nullable=True, comment="the resident ID the record is about, if any"),
        sa.Column("dataset", text(), nullable=False, comment="the delivery: <department>.<dataset>"),
        sa.Column("delivery_partition", day(), nullable=False),
        sa.Column("source_row", count(), nullable=False),
        sa.Column("sha256", text(), nullable=True),
        sa.Column("run_id", text(), nullable=True, comment="the Dagster run that decided"),
        sa.Index(None, "scenario", "decision_id"),
        sa.Index(None, "scenario", "partition"),
        sa.Index(None, "person_id"),
        comment="record-level provenance: per decision, the base records and versions used and their deliveries",
    )


@cache
def metadata() -> sa.MetaData:
    """The project's base-database metadata (from ``base_config()``)."""
    return build_metadata(base_config())


def golden_table(name: str) -> sa.Table:
    base_config().table(name)
    return metadata().tables[name]


def version_table(name: str) -> sa.Table:
    base_config().table(name)
    return metadata().tables[version_table_name(name)]
