"""reported_fault_code: the SPNs each machine has reported, to bound its InfluxDB series (issue 20)

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reported_fault_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('machine', sa.String(length=40), nullable=False),
        sa.Column('spn', sa.Integer(), nullable=False),
        sa.Column('first_seen_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reported_fault_code')),
        sa.UniqueConstraint('machine', 'spn', name=op.f('uq_reported_fault_code_machine_spn')),
    )


def downgrade() -> None:
    op.drop_table('reported_fault_code')
