"""many providers per dataset (providers.py): the provider of a quarantined row, of a delivery, of a hold

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_PROVIDER = "the provider whose delivery it is, of a dataset delivered by many (providers.py)"


def _has(table: str, column: str) -> bool:
    return column in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    op.add_column('quarantine', sa.Column('provider', sa.Text(), nullable=True, comment=_PROVIDER))
    if not _has('delivery', 'provider'):  # 0010 creates the table as today's schema has it
        op.add_column('delivery', sa.Column('provider', sa.Text(), nullable=True, comment=_PROVIDER))
    # a dataset-day has a hold per provider held ('' for a dataset of one provider): the provider joins the key
    with op.batch_alter_table('partition_hold', recreate='auto') as batch:
        batch.add_column(sa.Column('provider', sa.Text(), nullable=False, server_default='',
                                   comment="the provider held, of a dataset delivered by many; '' for a dataset of "
                                           "one provider"))
        batch.drop_constraint('pk_partition_hold', type_='primary')
        batch.create_primary_key('pk_partition_hold', ['dataset', 'partition', 'provider'])
    with op.batch_alter_table('scenario_held_input', recreate='auto') as batch:
        batch.add_column(sa.Column('provider', sa.Text(), nullable=False, server_default='',
                                   comment="the provider held, or ''"))
        batch.drop_constraint('pk_scenario_held_input', type_='primary')
        batch.create_primary_key('pk_scenario_held_input',
                                 ['scenario', 'partition', 'dataset', 'delivery_partition', 'provider'])


def downgrade() -> None:
    # the holds of one provider of many cannot be told apart without it: they go (the next run judges afresh)
    op.execute("DELETE FROM scenario_held_input WHERE provider <> ''")
    op.execute("DELETE FROM partition_hold WHERE provider <> ''")
    with op.batch_alter_table('scenario_held_input', recreate='auto') as batch:
        batch.drop_constraint('pk_scenario_held_input', type_='primary')
        batch.create_primary_key('pk_scenario_held_input', ['scenario', 'partition', 'dataset', 'delivery_partition'])
        batch.drop_column('provider')
    with op.batch_alter_table('partition_hold', recreate='auto') as batch:
        batch.drop_constraint('pk_partition_hold', type_='primary')
        batch.create_primary_key('pk_partition_hold', ['dataset', 'partition'])
        batch.drop_column('provider')
    op.drop_column('delivery', 'provider')
    op.drop_column('quarantine', 'provider')
