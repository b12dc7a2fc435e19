"""the exchange audit log chained with HMAC-SHA-256 (JILIN_AUDIT_KEY) instead of plain SHA-256

An existing log is first verified under the plain chain it was written with, then every entry's prev_hash and
entry_hash are rewritten under the key; a log that does not verify is not re-keyed (the upgrade stops and says
which entry is broken). The downgrade writes the plain chain back.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import hashlib
import hmac

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _rechain(old_hash, new_hash) -> None:
    from jilin_pipelines.privacy.audit import _COLUMNS, canonical

    conn = op.get_bind()
    table = sa.table("exchange_audit", *[sa.column(c) for c in _COLUMNS])
    rows = [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]
    prev_old = prev_new = GENESIS
    for expected, row in enumerate(rows, 1):
        if int(row["id"]) != expected or row["prev_hash"] != prev_old or old_hash(canonical(row)) != row["entry_hash"]:
            raise RuntimeError(f"exchange_audit does not verify at entry {expected}: not re-chained "
                               "(`jilin-pipelines audit verify` at the previous revision says why)")
        prev_old = row["entry_hash"]
        row["prev_hash"] = prev_new
        prev_new = new_hash(canonical(row))
        conn.execute(sa.update(table).where(table.c.id == row["id"]).values(prev_hash=row["prev_hash"],
                                                                               entry_hash=prev_new))


def _plain(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _keyed(data: bytes) -> str:
    from jilin_pipelines.privacy.audit import audit_key

    return hmac.new(audit_key(), data, hashlib.sha256).hexdigest()


def upgrade() -> None:
    _rechain(_plain, _keyed)


def downgrade() -> None:
    _rechain(_keyed, _plain)
