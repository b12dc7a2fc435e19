"""``<table>_newest``: each key's newest delivered version per source, what the daily merge derives a key's next
state from without reading its history back; and a partial index on each golden table's open versions

One table per base table (the version columns, primary key: key, dataset, role), created from the catalogue's
``tables.yaml`` as it stands, and filled from the delivered versions by recomputing every golden history
(``merge.rebuild_golden``, which replaces the newest rows of every key it visits; the golden rows it finds
unchanged stay). Each golden table gets the index of its open versions (``schema.open_version_index``). The
downgrade drops both.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _objects():
    """Per base table: its ``<table>_newest`` table and the index of its open golden versions."""
    from jilin_pipelines.base.config import base_config
    from jilin_pipelines.base.schema import build_metadata, newest_table_name

    md = build_metadata(base_config())
    out = []
    for name in sorted(base_config().tables):
        index = next(ix for ix in md.tables[name].indexes if ix.dialect_options["sqlite"]["where"] is not None)
        out.append((md.tables[newest_table_name(name)], index))
    return out


def upgrade() -> None:
    from jilin_pipelines.base.migrate import rebuild_golden_if_current

    conn = op.get_bind()
    for table, index in _objects():
        table.create(conn)
        index.create(conn)
    rebuild_golden_if_current(conn)


def downgrade() -> None:
    conn = op.get_bind()
    for table, index in _objects():
        index.drop(conn)
        table.drop(conn)
