"""base tables, delivered versions and quarantine

Revision ID: 0001
Revises: 
Create Date: 2025-06-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assistance_application',
    sa.Column('application_id', sa.Text(), nullable=False),
    sa.Column('applicant_id_number', sa.Text(), nullable=True),
    sa.Column('applicant_name', sa.Text(), nullable=True),
    sa.Column('household_id_numbers', sa.Text(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('applied_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('warnings', sa.Text(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('application_id', '_valid_from', name=op.f('pk_assistance_application')),
    comment='社会救助申请 — assistance applications with household members (a JSON array of IDs)'
    )
    op.create_table('assistance_application_source_version',
    sa.Column('application_id', sa.Text(), nullable=False),
    sa.Column('applicant_id_number', sa.Text(), nullable=True),
    sa.Column('applicant_name', sa.Text(), nullable=True),
    sa.Column('household_id_numbers', sa.Text(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('applied_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('warnings', sa.Text(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('application_id', '_dataset', '_role', '_partition', name=op.f('pk_assistance_application_source_version')),
    comment='delivered versions of assistance_application'
    )
    with op.batch_alter_table('assistance_application_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assistance_application_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('benefit_payment',
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('insurance_type', sa.Text(), nullable=False),
    sa.Column('period', sa.Text(), nullable=False),
    sa.Column('amount_yuan', sa.Float(precision=53), nullable=True),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id_number', 'insurance_type', 'period', '_valid_from', name=op.f('pk_benefit_payment')),
    comment='待遇发放 — benefit payments per person, insurance type and month'
    )
    op.create_table('benefit_payment_source_version',
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('insurance_type', sa.Text(), nullable=False),
    sa.Column('period', sa.Text(), nullable=False),
    sa.Column('amount_yuan', sa.Float(precision=53), nullable=True),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id_number', 'insurance_type', 'period', '_dataset', '_role', '_partition', name=op.f('pk_benefit_payment_source_version')),
    comment='delivered versions of benefit_payment'
    )
    with op.batch_alter_table('benefit_payment_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefit_payment_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('certificate',
    sa.Column('cert_type', sa.Text(), nullable=False),
    sa.Column('cert_no', sa.Text(), nullable=False),
    sa.Column('holder_id', sa.Text(), nullable=True),
    sa.Column('holder_id_type', sa.Text(), nullable=True),
    sa.Column('holder_name', sa.Text(), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('source_status', sa.Text(), nullable=True),
    sa.Column('scope', sa.Text(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("cert_type IN ('driving_licence', 'road_transport_permit', 'practitioner_qualification', 'construction_permit')", name=op.f('ck_certificate_cert_type')),
    sa.CheckConstraint("holder_id_type IN ('A', 'B')", name=op.f('ck_certificate_holder_id_type')),
    sa.CheckConstraint("status IN ('valid', 'expired', 'suspended', 'revoked', 'deregistered', 'completed')", name=op.f('ck_certificate_status')),
    sa.PrimaryKeyConstraint('cert_type', 'cert_no', '_valid_from', name=op.f('pk_certificate')),
    comment='电子证照库 — e-certificates of every type'
    )
    op.create_table('certificate_source_version',
    sa.Column('cert_type', sa.Text(), nullable=False),
    sa.Column('cert_no', sa.Text(), nullable=False),
    sa.Column('holder_id', sa.Text(), nullable=True),
    sa.Column('holder_id_type', sa.Text(), nullable=True),
    sa.Column('holder_name', sa.Text(), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('source_status', sa.Text(), nullable=True),
    sa.Column('scope', sa.Text(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('cert_type', 'cert_no', '_dataset', '_role', '_partition', name=op.f('pk_certificate_source_version')),
    comment='delivered versions of certificate'
    )
    with op.batch_alter_table('certificate_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('employer',
    sa.Column('employer_no', sa.Text(), nullable=False),
    sa.Column('uscc', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('employer_type', sa.Text(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('employer_no', '_valid_from', name=op.f('pk_employer')),
    comment='参保单位 — social-security employers by employer number'
    )
    op.create_table('employer_source_version',
    sa.Column('employer_no', sa.Text(), nullable=False),
    sa.Column('uscc', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('employer_type', sa.Text(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('employer_no', '_dataset', '_role', '_partition', name=op.f('pk_employer_source_version')),
    comment='delivered versions of employer'
    )
    with op.batch_alter_table('employer_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employer_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('insured_person',
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('insurance_type', sa.Text(), nullable=False),
    sa.Column('employer_no', sa.Text(), nullable=False),
    sa.Column('person_no', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('sex', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('contribution_base', sa.Float(precision=53), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.Column('warnings', sa.Text(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id_number', 'insurance_type', 'employer_no', '_valid_from', name=op.f('pk_insured_person')),
    comment='参保人员 — insured rows (person, insurance type, employer)'
    )
    op.create_table('insured_person_source_version',
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('insurance_type', sa.Text(), nullable=False),
    sa.Column('employer_no', sa.Text(), nullable=False),
    sa.Column('person_no', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('sex', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('contribution_base', sa.Float(precision=53), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('handled_at', sa.DateTime(), nullable=True),
    sa.Column('warnings', sa.Text(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id_number', 'insurance_type', 'employer_no', '_dataset', '_role', '_partition', name=op.f('pk_insured_person_source_version')),
    comment='delivered versions of insured_person'
    )
    with op.batch_alter_table('insured_person_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insured_person_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('legal_entity',
    sa.Column('uscc', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('uscc', '_valid_from', name=op.f('pk_legal_entity')),
    comment='法人基础库 — legal entities by USCC (golden record)'
    )
    op.create_table('legal_entity_source_version',
    sa.Column('uscc', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('uscc', '_dataset', '_role', '_partition', name=op.f('pk_legal_entity_source_version')),
    comment='delivered versions of legal_entity'
    )
    with op.batch_alter_table('legal_entity_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_entity_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('person',
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('sex', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("sex IN ('1', '2')", name=op.f('ck_person_sex')),
    sa.PrimaryKeyConstraint('id_number', '_valid_from', name=op.f('pk_person')),
    comment='人口基础库 — natural persons (golden record)'
    )
    op.create_table('person_source_version',
    sa.Column('id_number', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('sex', sa.Text(), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id_number', '_dataset', '_role', '_partition', name=op.f('pk_person_source_version')),
    comment='delivered versions of person'
    )
    with op.batch_alter_table('person_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('practitioner_qualification',
    sa.Column('cert_no', sa.Text(), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('qualification_type', sa.Text(), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('cert_no', '_valid_from', name=op.f('pk_practitioner_qualification')),
    comment='从业资格证 — practitioner qualifications with type and validity'
    )
    op.create_table('practitioner_qualification_source_version',
    sa.Column('cert_no', sa.Text(), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('qualification_type', sa.Text(), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('cert_no', '_dataset', '_role', '_partition', name=op.f('pk_practitioner_qualification_source_version')),
    comment='delivered versions of practitioner_qualification'
    )
    with op.batch_alter_table('practitioner_qualification_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practitioner_qualification_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dataset', sa.Text(), nullable=False, comment='<department>.<dataset>'),
    sa.Column('partition', sa.Date(), nullable=False, comment='the delivery day'),
    sa.Column('source_row', sa.Text(), nullable=False, comment='row number, or key columns joined by |'),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('dimension', sa.Text(), nullable=True),
    sa.Column('severity', sa.Text(), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True, comment='JSON text of the raw record'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine')),
    comment='rows the quality layer rejected'
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_dataset_partition'), ['dataset', 'partition'], unique=False)

    op.create_table('road_transport_permit',
    sa.Column('permit_no', sa.Text(), nullable=False),
    sa.Column('plate_no', sa.Text(), nullable=True),
    sa.Column('plate_type', sa.Text(), nullable=True),
    sa.Column('operator_name', sa.Text(), nullable=True),
    sa.Column('operator_id', sa.Text(), nullable=True),
    sa.Column('operator_id_type', sa.Text(), nullable=True),
    sa.Column('scope', sa.Text(), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('permit_no', '_valid_from', name=op.f('pk_road_transport_permit')),
    comment='道路运输证 — road transport permits with scope and operator'
    )
    op.create_table('road_transport_permit_source_version',
    sa.Column('permit_no', sa.Text(), nullable=False),
    sa.Column('plate_no', sa.Text(), nullable=True),
    sa.Column('plate_type', sa.Text(), nullable=True),
    sa.Column('operator_name', sa.Text(), nullable=True),
    sa.Column('operator_id', sa.Text(), nullable=True),
    sa.Column('operator_id_type', sa.Text(), nullable=True),
    sa.Column('scope', sa.Text(), nullable=True),
    sa.Column('issue_date', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('permit_no', '_dataset', '_role', '_partition', name=op.f('pk_road_transport_permit_source_version')),
    comment='delivered versions of road_transport_permit'
    )
    with op.batch_alter_table('road_transport_permit_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_road_transport_permit_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('vehicle',
    sa.Column('plate_no', sa.Text(), nullable=False),
    sa.Column('plate_type', sa.Text(), nullable=False),
    sa.Column('vehicle_type', sa.Text(), nullable=True),
    sa.Column('use_code', sa.Text(), nullable=True),
    sa.Column('owner_id_type', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Text(), nullable=True),
    sa.Column('owner_name', sa.Text(), nullable=True),
    sa.Column('first_registration_date', sa.Date(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('status_code', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('plate_no', 'plate_type', '_valid_from', name=op.f('pk_vehicle')),
    comment='车辆基础库 — motor vehicles by plate and plate type'
    )
    op.create_table('vehicle_source_version',
    sa.Column('plate_no', sa.Text(), nullable=False),
    sa.Column('plate_type', sa.Text(), nullable=False),
    sa.Column('vehicle_type', sa.Text(), nullable=True),
    sa.Column('use_code', sa.Text(), nullable=True),
    sa.Column('owner_id_type', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Text(), nullable=True),
    sa.Column('owner_name', sa.Text(), nullable=True),
    sa.Column('first_registration_date', sa.Date(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('status_code', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('plate_no', 'plate_type', '_dataset', '_role', '_partition', name=op.f('pk_vehicle_source_version')),
    comment='delivered versions of vehicle'
    )
    with op.batch_alter_table('vehicle_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('verification_request',
    sa.Column('request_id', sa.Text(), nullable=False),
    sa.Column('cert_type', sa.Text(), nullable=True),
    sa.Column('cert_no', sa.Text(), nullable=True),
    sa.Column('holder_id', sa.Text(), nullable=True),
    sa.Column('holder_id_type', sa.Text(), nullable=True),
    sa.Column('holder_name', sa.Text(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=True),
    sa.Column('warnings', sa.Text(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('request_id', '_valid_from', name=op.f('pk_verification_request')),
    comment='电子证照核验请求 — JiShiBan verification requests'
    )
    op.create_table('verification_request_source_version',
    sa.Column('request_id', sa.Text(), nullable=False),
    sa.Column('cert_type', sa.Text(), nullable=True),
    sa.Column('cert_no', sa.Text(), nullable=True),
    sa.Column('holder_id', sa.Text(), nullable=True),
    sa.Column('holder_id_type', sa.Text(), nullable=True),
    sa.Column('holder_name', sa.Text(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=True),
    sa.Column('warnings', sa.Text(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('request_id', '_dataset', '_role', '_partition', name=op.f('pk_verification_request_source_version')),
    comment='delivered versions of verification_request'
    )
    with op.batch_alter_table('verification_request_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_request_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('video_point',
    sa.Column('device_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('longitude', sa.Float(precision=53), nullable=True),
    sa.Column('latitude', sa.Float(precision=53), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("status IN ('ON', 'OFF')", name=op.f('ck_video_point_status')),
    sa.PrimaryKeyConstraint('device_id', '_valid_from', name=op.f('pk_video_point')),
    comment='空间基础库 — public video surveillance points'
    )
    op.create_table('video_point_source_version',
    sa.Column('device_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('longitude', sa.Float(precision=53), nullable=True),
    sa.Column('latitude', sa.Float(precision=53), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('owner', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('device_id', '_dataset', '_role', '_partition', name=op.f('pk_video_point_source_version')),
    comment='delivered versions of video_point'
    )
    with op.batch_alter_table('video_point_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_point_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)

    op.create_table('violation',
    sa.Column('violation_no', sa.Text(), nullable=False),
    sa.Column('plate_no', sa.Text(), nullable=True),
    sa.Column('plate_type', sa.Text(), nullable=True),
    sa.Column('violation_time', sa.DateTime(), nullable=True),
    sa.Column('place', sa.Text(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('offence_code', sa.Text(), nullable=True),
    sa.Column('fine_yuan', sa.Float(precision=53), nullable=True),
    sa.Column('points', sa.BigInteger(), nullable=True),
    sa.Column('driver_id', sa.Text(), nullable=True),
    sa.Column('processed', sa.Text(), nullable=True),
    sa.Column('placeholder', sa.Boolean(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('_valid_from', sa.Date(), nullable=False),
    sa.Column('_valid_to', sa.Date(), nullable=True),
    sa.Column('_record_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('violation_no', '_valid_from', name=op.f('pk_violation')),
    comment='交通违法 — traffic violations with driver and points'
    )
    op.create_table('violation_source_version',
    sa.Column('violation_no', sa.Text(), nullable=False),
    sa.Column('plate_no', sa.Text(), nullable=True),
    sa.Column('plate_type', sa.Text(), nullable=True),
    sa.Column('violation_time', sa.DateTime(), nullable=True),
    sa.Column('place', sa.Text(), nullable=True),
    sa.Column('division_code', sa.Text(), nullable=True),
    sa.Column('offence_code', sa.Text(), nullable=True),
    sa.Column('fine_yuan', sa.Float(precision=53), nullable=True),
    sa.Column('points', sa.BigInteger(), nullable=True),
    sa.Column('driver_id', sa.Text(), nullable=True),
    sa.Column('processed', sa.Text(), nullable=True),
    sa.Column('_dataset', sa.Text(), nullable=False),
    sa.Column('_role', sa.Text(), nullable=False),
    sa.Column('_partition', sa.Date(), nullable=False),
    sa.Column('_source_row', sa.BigInteger(), nullable=False),
    sa.Column('_source_sha256', sa.Text(), nullable=True),
    sa.Column('_updated_at', sa.DateTime(), nullable=True),
    sa.Column('_reference', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('violation_no', '_dataset', '_role', '_partition', name=op.f('pk_violation_source_version')),
    comment='delivered versions of violation'
    )
    with op.batch_alter_table('violation_source_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_violation_source_version__dataset__partition'), ['_dataset', '_partition'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('violation_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_violation_source_version__dataset__partition'))

    op.drop_table('violation_source_version')
    op.drop_table('violation')
    with op.batch_alter_table('video_point_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_video_point_source_version__dataset__partition'))

    op.drop_table('video_point_source_version')
    op.drop_table('video_point')
    with op.batch_alter_table('verification_request_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_request_source_version__dataset__partition'))

    op.drop_table('verification_request_source_version')
    op.drop_table('verification_request')
    with op.batch_alter_table('vehicle_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicle_source_version__dataset__partition'))

    op.drop_table('vehicle_source_version')
    op.drop_table('vehicle')
    with op.batch_alter_table('road_transport_permit_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_road_transport_permit_source_version__dataset__partition'))

    op.drop_table('road_transport_permit_source_version')
    op.drop_table('road_transport_permit')
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_dataset_partition'))

    op.drop_table('quarantine')
    with op.batch_alter_table('practitioner_qualification_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practitioner_qualification_source_version__dataset__partition'))

    op.drop_table('practitioner_qualification_source_version')
    op.drop_table('practitioner_qualification')
    with op.batch_alter_table('person_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_source_version__dataset__partition'))

    op.drop_table('person_source_version')
    op.drop_table('person')
    with op.batch_alter_table('legal_entity_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_entity_source_version__dataset__partition'))

    op.drop_table('legal_entity_source_version')
    op.drop_table('legal_entity')
    with op.batch_alter_table('insured_person_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insured_person_source_version__dataset__partition'))

    op.drop_table('insured_person_source_version')
    op.drop_table('insured_person')
    with op.batch_alter_table('employer_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employer_source_version__dataset__partition'))

    op.drop_table('employer_source_version')
    op.drop_table('employer')
    with op.batch_alter_table('certificate_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_source_version__dataset__partition'))

    op.drop_table('certificate_source_version')
    op.drop_table('certificate')
    with op.batch_alter_table('benefit_payment_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benefit_payment_source_version__dataset__partition'))

    op.drop_table('benefit_payment_source_version')
    op.drop_table('benefit_payment')
    with op.batch_alter_table('assistance_application_source_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assistance_application_source_version__dataset__partition'))

    op.drop_table('assistance_application_source_version')
    op.drop_table('assistance_application')
