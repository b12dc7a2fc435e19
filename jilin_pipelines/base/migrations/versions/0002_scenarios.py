"""scenario outputs and record-level provenance (scenario_evidence)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('budget_staff_basic_info',
    sa.Column('employer_uscc', sa.Text(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('pension_headcount', sa.BigInteger(), nullable=False),
    sa.Column('headcount_by_insurance', sa.Text(), nullable=False, comment='JSON object insurance type -> persons'),
    sa.Column('contribution_base_total', sa.Float(precision=53), nullable=False),
    sa.PrimaryKeyConstraint('employer_uscc', 'as_of', name=op.f('pk_budget_staff_basic_info')),
    comment='budget preparation basic information (预算编制基础信息), per organ or institution employer'
    )
    op.create_table('certificate_verification',
    sa.Column('request_id', sa.Text(), nullable=False),
    sa.Column('partition', sa.Date(), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.CheckConstraint("result IN ('valid', 'expired', 'suspended', 'revoked', 'holder_mismatch', 'not_found')", name=op.f('ck_certificate_verification_result')),
    sa.PrimaryKeyConstraint('request_id', 'partition', name=op.f('pk_certificate_verification')),
    comment='e-certificate verification (JiShiBan), per request'
    )
    op.create_table('commercial_vehicle_risk',
    sa.Column('plate_no', sa.Text(), nullable=False),
    sa.Column('plate_type', sa.Text(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('violations_30d', sa.BigInteger(), nullable=False),
    sa.Column('points_30d', sa.BigInteger(), nullable=False),
    sa.Column('unqualified_driver', sa.Boolean(), nullable=False),
    sa.Column('risk', sa.Text(), nullable=False),
    sa.CheckConstraint("risk IN ('low', 'medium', 'high')", name=op.f('ck_commercial_vehicle_risk_risk')),
    sa.PrimaryKeyConstraint('plate_no', 'plate_type', 'as_of', name=op.f('pk_commercial_vehicle_risk')),
    comment='commercial-vehicle safety risk, per vehicle in service'
    )
    op.create_table('scenario_evidence',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('partition', sa.Date(), nullable=False, comment='the scenario partition that decided'),
    sa.Column('decision_id', sa.Text(), nullable=False, comment="the decision's key, joined by /"),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('used_for', sa.Text(), nullable=False, comment='input, or the flag / check the record served'),
    sa.Column('base_table', sa.Text(), nullable=False),
    sa.Column('base_key', sa.Text(), nullable=False, comment="JSON array of the base record's key values"),
    sa.Column('base_valid_from', sa.Date(), nullable=True, comment='the golden version used (null: a delivered row)'),
    sa.Column('person_id', sa.Text(), nullable=True, comment='the resident ID the record is about, if any'),
    sa.Column('dataset', sa.Text(), nullable=False, comment='the delivery: <department>.<dataset>'),
    sa.Column('delivery_partition', sa.Date(), nullable=False),
    sa.Column('source_row', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.Text(), nullable=True),
    sa.Column('run_id', sa.Text(), nullable=True, comment='the Dagster run that decided'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scenario_evidence')),
    comment='record-level provenance: per decision, the base records and versions used and their deliveries'
    )
    op.create_index(op.f('ix_scenario_evidence_person_id'), 'scenario_evidence', ['person_id'], unique=False)
    op.create_index(op.f('ix_scenario_evidence_scenario_decision_id'), 'scenario_evidence', ['scenario', 'decision_id'], unique=False)
    op.create_index(op.f('ix_scenario_evidence_scenario_partition'), 'scenario_evidence', ['scenario', 'partition'], unique=False)
    op.create_table('social_assistance_decision',
    sa.Column('application_id', sa.Text(), nullable=False),
    sa.Column('partition', sa.Date(), nullable=False),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False, comment='JSON array of flag names, sorted'),
    sa.CheckConstraint("decision IN ('eligible', 'ineligible', 'manual_review')", name=op.f('ck_social_assistance_decision_decision')),
    sa.PrimaryKeyConstraint('application_id', 'partition', name=op.f('pk_social_assistance_decision')),
    comment='social assistance household economic check (社会救助家庭经济状况核对), per application'
    )
    op.create_table('social_security_approval',
    sa.Column('partition', sa.Date(), nullable=False),
    sa.Column('source_row', sa.BigInteger(), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=True),
    sa.Column('insurance_type', sa.Text(), nullable=True),
    sa.Column('employer_no', sa.Text(), nullable=True),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False, comment='JSON array of flag names, sorted'),
    sa.CheckConstraint("decision IN ('approved', 'rejected')", name=op.f('ck_social_security_approval_decision')),
    sa.PrimaryKeyConstraint('partition', 'source_row', name=op.f('pk_social_security_approval')),
    comment='social-security enrolment approval, per insured row delivered that day'
    )


def downgrade() -> None:
    op.drop_table('social_security_approval')
    op.drop_table('social_assistance_decision')
    op.drop_index(op.f('ix_scenario_evidence_scenario_partition'), table_name='scenario_evidence')
    op.drop_index(op.f('ix_scenario_evidence_scenario_decision_id'), table_name='scenario_evidence')
    op.drop_index(op.f('ix_scenario_evidence_person_id'), table_name='scenario_evidence')
    op.drop_table('scenario_evidence')
    op.drop_table('commercial_vehicle_risk')
    op.drop_table('certificate_verification')
    op.drop_table('budget_staff_basic_info')
