"""held partitions (quality/holds.py) and the held deliveries each scenario partition decided without

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('partition_hold',
    sa.Column('dataset', sa.Text(), nullable=False, comment='<department>.<dataset>'),
    sa.Column('partition', sa.Date(), nullable=False, comment='the delivery day'),
    sa.Column('kind', sa.Text(), nullable=False, comment='unreadable or blocked'),
    sa.Column('reason', sa.Text(), nullable=False, comment='why, personal values masked'),
    sa.Column('source_sha256', sa.Text(), nullable=True, comment='the delivery held'),
    sa.Column('held_rows', sa.BigInteger(), nullable=False, comment='rows kept out of the base'),
    sa.Column('held_at', sa.DateTime(), nullable=False, comment='naive Asia/Shanghai wall-clock time'),
    sa.Column('released_at', sa.DateTime(), nullable=True, comment='set when an engineer released it'),
    sa.Column('release_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("kind IN ('unreadable', 'blocked')", name=op.f('ck_partition_hold_kind')),
    sa.PrimaryKeyConstraint('dataset', 'partition', name=op.f('pk_partition_hold')),
    comment='partitions held out of the base: none of their rows reach it until re-delivered or released'
    )
    op.create_table('scenario_held_input',
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('partition', sa.Date(), nullable=False, comment='the scenario partition that decided'),
    sa.Column('dataset', sa.Text(), nullable=False, comment='a dataset the scenario reads, held'),
    sa.Column('delivery_partition', sa.Date(), nullable=False, comment='the held delivery day'),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('scenario', 'partition', 'dataset', 'delivery_partition', name=op.f('pk_scenario_held_input')),
    comment='per scenario partition, the held deliveries its decisions were made without'
    )


def downgrade() -> None:
    op.drop_table('scenario_held_input')
    op.drop_table('partition_hold')
