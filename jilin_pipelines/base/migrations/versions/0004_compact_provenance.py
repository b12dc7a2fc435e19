"""compact provenance: each golden version lists its distinct sources once and maps attributes to them

``{"sources": [{dataset, role, partition, source_row, sha256}, ...], "attributes": {attribute: index | null}}``
instead of the whole source object repeated per attribute (golden tables were about 3 times their size). The
golden histories of tables still holding the old form are recomputed from their delivered versions, which the
change does not touch (``merge.rebuild_golden``; where the delivered versions are not yet in the form today's code
reads, 0010 does it); a fresh database has nothing to recompute.

Downgrading writes every golden row's provenance back in the per-attribute form. Record hashes stay those of the
compact form, so the code of 0003 rewrites a key's history (with the same content) the first time it merges it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

NEW_FORM = "provenance LIKE '{\"sources\":%'"


def upgrade() -> None:
    from jilin_pipelines.base.migrate import rebuild_golden_if_current

    rebuild_golden_if_current(op.get_bind(), only_if=f"NOT ({NEW_FORM})")


def downgrade() -> None:
    def per_attribute(text: str) -> str:
        compact = json.loads(text)
        return json.dumps({a: None if k is None else compact["sources"][k] for a, k in compact["attributes"].items()})

    conn = op.get_bind()
    inspector = sa.inspect(conn)
    for table in inspector.get_table_names():
        if "provenance" not in {c["name"] for c in inspector.get_columns(table)}:
            continue
        key = inspector.get_pk_constraint(table)["constrained_columns"]
        t = sa.table(table, *[sa.column(c) for c in [*key, "provenance"]])
        rows = conn.execute(sa.select(t).where(sa.text(NEW_FORM))).mappings().all()
        if rows:
            conn.execute(
                t.update().where(*[t.c[c] == sa.bindparam(f"k_{c}") for c in key])
                .values(provenance=sa.bindparam("old")),
                [{**{f"k_{c}": r[c] for c in key}, "old": per_attribute(r["provenance"])}
                 for r in rows],
            )
