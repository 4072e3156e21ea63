"""The live-event outbox: events raised in the scheduler process, for the web processes to send to
their Socket.IO rooms (``fleet.live_outbox``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('live_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('tenant_ids', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_event')),
    sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_live_event_created_at'), 'live_event', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_live_event_created_at'), table_name='live_event')
    op.drop_table('live_event')
