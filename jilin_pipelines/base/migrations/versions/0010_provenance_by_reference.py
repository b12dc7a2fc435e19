"""provenance by reference: a ``delivery`` table, and versions and provenance that name a delivery by its id

Before, every delivered version carried its delivery's SHA-256 (``_source_sha256``, 64 characters) and every
golden version's provenance repeated dataset, partition and SHA-256 per source (about 250 bytes a row). Now the
``delivery`` table holds each delivery once (id: a 63-bit fingerprint of dataset, partition and SHA-256,
``golden.delivery_id``), the versions carry ``_delivery`` (its id) instead of the SHA-256, and a provenance source
is ``{"delivery", "role", "source_row"}``.

Upgrade: the deliveries are read off the delivered versions (size and delivered rows unknown: null; standardised
rows: the most distinct source rows one table's versions name); each version table gets ``_delivery`` and loses
``_source_sha256``; ``<table>_newest`` is created again in the new form; every golden history is recomputed from
the versions (``merge.rebuild_golden``: provenance and record hashes in the new form; it fills ``<table>_newest``).

Downgrade: the SHA-256 goes back into the versions and ``<table>_newest``, each golden version's provenance back
to the inline form (its record hash stays: the code of 0009 rewrites a key's history, with the same content, the
first time it merges it), and the ``delivery`` table goes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

SHA, DELIVERY = "_source_sha256", "_delivery"


def _tables() -> list[tuple[str, str, str]]:
    """(golden, versions, newest) table names per base table."""
    from jilin_pipelines.base.config import base_config
    from jilin_pipelines.base.schema import newest_table_name, version_table_name

    return [(t, version_table_name(t), newest_table_name(t)) for t in sorted(base_config().tables)]


def upgrade() -> None:
    from jilin_pipelines.base.golden import delivery_id
    from jilin_pipelines.base.merge import rebuild_golden
    from jilin_pipelines.base.schema import NAMING, delivery_table, metadata

    conn = op.get_bind()
    delivery = delivery_table(sa.MetaData(naming_convention=NAMING))
    delivery.create(conn)
    found: dict[tuple, int] = {}
    for _, versions, _ in _tables():
        for ds, day, sha, n in conn.execute(sa.text(
                f'SELECT _dataset, _partition, {SHA}, COUNT(DISTINCT _source_row) FROM "{versions}" '
                f"GROUP BY _dataset, _partition, {SHA}")):
            at = (ds, str(day)[:10], sha)
            found[at] = max(found.get(at, 0), int(n))
    rows = [{"id": delivery_id(ds, day, sha), "dataset": ds, "partition": date.fromisoformat(day), "sha256": sha,
             "size_bytes": None, "delivered_rows": None, "standardised_rows": n}
            for (ds, day, sha), n in sorted(found.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or ""))]
    if rows:
        conn.execute(delivery.insert(), rows)
    day_param = "CAST(:p AS DATE)" if conn.dialect.name == "postgresql" else ":p"
    for _, versions, newest in _tables():
        op.add_column(versions, sa.Column(DELIVERY, sa.BigInteger(), nullable=True))
        if rows:
            conn.execute(sa.text(f'UPDATE "{versions}" SET {DELIVERY} = :id WHERE _dataset = :ds AND '
                                 f"_partition = {day_param} AND COALESCE({SHA}, '') = :sha"),
                         [{"id": r["id"], "ds": r["dataset"], "p": r["partition"].isoformat(), "sha": r["sha256"] or ""}
                          for r in rows])
        with op.batch_alter_table(versions) as batch:
            batch.drop_column(SHA)
            batch.alter_column(DELIVERY, existing_type=sa.BigInteger(), nullable=False)
        op.drop_table(newest)
        metadata().tables[newest].create(conn)
    for golden, _, _ in _tables():  # a row in the inline form is stale, whatever its record hash says
        conn.execute(sa.text(f"""UPDATE "{golden}" SET _record_hash = 0 WHERE provenance LIKE '%"sha256"%'"""))
    rebuild_golden(conn)


def downgrade() -> None:
    conn = op.get_bind()
    for golden, versions, newest in _tables():
        for table in (versions, newest):
            op.add_column(table, sa.Column(SHA, sa.Text(), nullable=True))
            conn.execute(sa.text(f'UPDATE "{table}" SET {SHA} = (SELECT d.sha256 FROM delivery d '
                                 f'WHERE d.id = "{table}".{DELIVERY})'))
            with op.batch_alter_table(table) as batch:
                batch.drop_column(DELIVERY)
        _inline_provenance(conn, golden)
    op.drop_table("delivery")


def _inline_provenance(conn: sa.Connection, golden: str) -> None:
    """Each golden version's provenance in the form before 0010: sources with dataset, role, partition, source row
    and SHA-256 inline."""
    deliveries = {int(r.id): r for r in conn.execute(sa.text("SELECT id, dataset, partition, sha256 FROM delivery"))}
    key = sa.inspect(conn).get_pk_constraint(golden)["constrained_columns"]
    t = sa.table(golden, *[sa.column(c) for c in [*key, "provenance"]])
    updates = []
    for r in conn.execute(sa.select(t)).mappings():
        p = json.loads(r["provenance"])
        sources = []
        for src in p["sources"]:
            d = deliveries[int(src["delivery"])]
            sources.append({"dataset": d.dataset, "role": src["role"], "partition": str(d.partition)[:10],
                            "source_row": src["source_row"], "sha256": d.sha256})
        text = json.dumps({"sources": sources, "attributes": p["attributes"]}, separators=(",", ":"))
        updates.append({**{f"k_{c}": r[c] for c in key}, "new": text})
    if updates:
        conn.execute(t.update().where(*[t.c[c] == sa.bindparam(f"k_{c}") for c in key])
                     .values(provenance=sa.bindparam("new")), updates)
