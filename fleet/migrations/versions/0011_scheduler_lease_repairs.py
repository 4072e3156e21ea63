"""The scheduler lease (one process runs the scheduled jobs), component repairs (the diagnostic
baseline restarts and old evidence is suppressed after a corrective order), stored dispatch proposals.

APScheduler's own job table (``apscheduler_jobs``) is created by its SQLAlchemyJobStore.

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dispatch_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('start_day', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(), nullable=True),
    sa.Column('accepted_by', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_proposal')),
    sa.UniqueConstraint('start_day', name=op.f('uq_dispatch_proposal_start_day'))
    )
    op.create_table('scheduler_lease',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('owner', sa.String(length=120), nullable=False),
    sa.Column('acquired_at', sa.DateTime(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_lease'))
    )
    op.create_table('component_repair',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('fault_mode', sa.String(length=40), nullable=False),
    sa.Column('repaired_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['component.id'], name=op.f('fk_component_repair_component_id_component'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_component_repair_work_order_id_work_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_component_repair')),
    sa.UniqueConstraint('work_order_id', name=op.f('uq_component_repair_work_order_id'))
    )
    with op.batch_alter_table('component_repair', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_component_repair_component_id'), ['component_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('component_repair', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_component_repair_component_id'))

    op.drop_table('component_repair')
    op.drop_table('scheduler_lease')
    op.drop_table('dispatch_proposal')
