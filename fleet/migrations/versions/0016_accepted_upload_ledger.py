"""accepted_upload: the shared ledger of accepted uploads, so every web process answers a repeat
of ``<machine, upload_id>`` as a duplicate (the primary key is the duplicate key)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'accepted_upload',
        sa.Column('machine', sa.String(length=40), nullable=False),
        sa.Column('upload_id', sa.String(length=64), nullable=False),
        sa.Column('accepted_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('machine', 'upload_id', name=op.f('pk_accepted_upload')),
    )
    op.create_index(op.f('ix_accepted_upload_accepted_at'), 'accepted_upload', ['accepted_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_accepted_upload_accepted_at'), table_name='accepted_upload')
    op.drop_table('accepted_upload')
