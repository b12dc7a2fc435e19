"""the fairness audit of the scenarios' decisions (jilin_pipelines/fairness): scenario_fairness

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jilin_pipelines.base.schema import NAMING, fairness_table

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    fairness_table(sa.MetaData(naming_convention=NAMING)).create(op.get_bind())


def downgrade() -> None:
    op.drop_table('scenario_fairness')
