"""golden versions mean a change: a re-delivery of the same values by the same sources starts no new version

Before, a golden version started on every day the provenance changed, so a department that re-delivers an
unchanged record (every full snapshot does) started a new version of it each day. Now a version starts only when a
value, the placeholder flag or the source (dataset and role) a value wins from changes; the re-delivery stays among
the delivered versions (``<table>_source_version``), which the change does not touch. The golden histories are
recomputed from them (``merge.rebuild_golden``: only keys whose history changes are rewritten); the record hashes
follow the new form. A fresh database has nothing to recompute.

The downgrade is a no-op on the data: the code of 0006 recomputes (and splits again) a key's history the next time
it merges it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from jilin_pipelines.base.migrate import rebuild_golden_if_current

    rebuild_golden_if_current(op.get_bind())


def downgrade() -> None:
    pass
