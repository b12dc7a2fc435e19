"""compact provenance: each golden version lists its distinct sources once and maps attributes to them

``{"sources": [{dataset, role, partition, source_row, sha256}, ...], "attributes": {attribute: index | null}}``
instead of the whole source object repeated per attribute (golden tables were about 3 times their size). The
golden histories of tables still holding the old form are recomputed from their delivered versions, which the
change does not touch (``merge.rebuild_golden``); a fresh database has nothing to recompute.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

NEW_FORM = "provenance LIKE '{\"sources\":%'"


def upgrade() -> None:
    from jilin_pipelines.base.merge import rebuild_golden

    rebuild_golden(op.get_bind(), only_if=f"NOT ({NEW_FORM})")


def downgrade() -> None:
    raise NotImplementedError("the old provenance form is not written any more: restore a backup taken before 0004")
