"""exchange audit log (privacy/audit.py): append-only, hash-chained

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('exchange_audit',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False, comment='1, 2, 3 ... no gaps'),
    sa.Column('time', sa.DateTime(), nullable=False, comment='naive Asia/Shanghai wall-clock time'),
    sa.Column('consumer', sa.Text(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('dataset', sa.Text(), nullable=False, comment='<department>.<dataset>'),
    sa.Column('fields', sa.Text(), nullable=False, comment='JSON array of standard field names'),
    sa.Column('record_count', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.Text(), nullable=False, comment="the previous entry's entry_hash (64 zeros first)"),
    sa.Column('entry_hash', sa.Text(), nullable=False, comment='SHA-256 of the canonical entry and prev_hash'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_audit')),
    sa.UniqueConstraint('entry_hash', name=op.f('uq_exchange_audit_entry_hash')),
    comment='the exchange audit log: append-only, hash-chained (privacy/audit.py)'
    )
    op.create_index(op.f('ix_exchange_audit_dataset_time'), 'exchange_audit', ['dataset', 'time'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_exchange_audit_dataset_time'), table_name='exchange_audit')
    op.drop_table('exchange_audit')
