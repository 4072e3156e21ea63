"""burst_diagnosis.burst_id up to 200 characters

Burst ids are ``<machine>:<sensor>:<axis>:<start_ns>`` (telemetry.schema.burst_id_for): a 40-char
machine uid and a 60-char sensor name do not fit in 64 characters on PostgreSQL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('burst_diagnosis', schema=None) as batch_op:
        batch_op.alter_column('burst_id', existing_type=sa.String(length=64), type_=sa.String(length=200),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('burst_diagnosis', schema=None) as batch_op:
        batch_op.alter_column('burst_id', existing_type=sa.String(length=200), type_=sa.String(length=64),
                              existing_nullable=False)
