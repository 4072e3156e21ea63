"""Planning tables: parts catalogue, PM plans and per-machine counters, PM order dedup, technicians'
working weeks and days off, dispatch locks, structured repair findings.

Revision ID: 0008
Revises: 0003
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('part',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('machine_model', sa.String(length=80), nullable=False),
    sa.Column('part_number', sa.String(length=60), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_part')),
    sa.UniqueConstraint('machine_model', 'part_number', name=op.f('uq_part_machine_model_part_number'))
    )
    with op.batch_alter_table('part', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_part_machine_model'), ['machine_model'], unique=False)

    op.create_table('pm_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('machine_model', sa.String(length=80), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('interval_h', sa.Float(), nullable=True),
    sa.Column('interval_days', sa.Integer(), nullable=True),
    sa.Column('lead_days', sa.Integer(), nullable=False),
    sa.Column('duration_h', sa.Float(), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('tasks', sa.JSON(), nullable=False),
    sa.Column('kit', sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('hours', 'calendar')", name=op.f('ck_pm_plan_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pm_plan')),
    sa.UniqueConstraint('machine_model', 'code', name=op.f('uq_pm_plan_machine_model_code'))
    )
    with op.batch_alter_table('pm_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pm_plan_machine_model'), ['machine_model'], unique=False)

    op.create_table('machine_pm_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('machine_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('last_done_hours', sa.Float(), nullable=False),
    sa.Column('last_done_at', sa.DateTime(), nullable=True),
    sa.Column('projected_due_at', sa.DateTime(), nullable=True),
    sa.Column('utilization_h_per_day', sa.Float(), nullable=True),
    sa.Column('projection_note', sa.String(length=240), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_machine_pm_state_machine_id_machine'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['pm_plan.id'], name=op.f('fk_machine_pm_state_plan_id_pm_plan'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_machine_pm_state')),
    sa.UniqueConstraint('machine_id', 'plan_id', name=op.f('uq_machine_pm_state_machine_id_plan_id'))
    )
    with op.batch_alter_table('machine_pm_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_machine_pm_state_machine_id'), ['machine_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_machine_pm_state_plan_id'), ['plan_id'], unique=False)

    op.create_table('technician_day_off',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['technician_id'], ['technician.id'], name=op.f('fk_technician_day_off_technician_id_technician'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_technician_day_off')),
    sa.UniqueConstraint('technician_id', 'day', name=op.f('uq_technician_day_off_technician_id_day'))
    )
    with op.batch_alter_table('technician_day_off', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_technician_day_off_technician_id'), ['technician_id'], unique=False)

    op.create_table('technician_workweek',
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=False),
    sa.Column('end_minute', sa.Integer(), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['technician_id'], ['technician.id'], name=op.f('fk_technician_workweek_technician_id_technician'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('technician_id', name=op.f('pk_technician_workweek'))
    )
    op.create_table('dispatch_lock',
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('locked_by', sa.String(length=120), nullable=False),
    sa.Column('locked_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['technician_id'], ['technician.id'], name=op.f('fk_dispatch_lock_technician_id_technician'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_dispatch_lock_work_order_id_work_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('work_order_id', name=op.f('pk_dispatch_lock'))
    )
    op.create_table('pm_work_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('machine_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('due_point', sa.String(length=40), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_pm_work_order_machine_id_machine'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['pm_plan.id'], name=op.f('fk_pm_work_order_plan_id_pm_plan'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_pm_work_order_work_order_id_work_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pm_work_order')),
    sa.UniqueConstraint('machine_id', 'plan_id', 'due_point', name=op.f('uq_pm_work_order_machine_id_plan_id_due_point')),
    sa.UniqueConstraint('work_order_id', name=op.f('uq_pm_work_order_work_order_id'))
    )
    with op.batch_alter_table('pm_work_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pm_work_order_machine_id'), ['machine_id'], unique=False)

    op.create_table('work_order_finding',
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('problem_code', sa.String(length=60), nullable=False),
    sa.Column('cause_code', sa.String(length=60), nullable=False),
    sa.Column('remedy_code', sa.String(length=60), nullable=False),
    sa.Column('fault_confirmed', sa.String(length=8), nullable=False),
    sa.Column('found_fault_mode', sa.String(length=40), nullable=False),
    sa.Column('component_replaced', sa.Boolean(), nullable=False),
    sa.Column('labour_h', sa.Float(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("fault_confirmed IN ('yes', 'no', 'other')", name=op.f('ck_work_order_finding_fault_confirmed')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_work_order_finding_work_order_id_work_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('work_order_id', name=op.f('pk_work_order_finding'))
    )


def downgrade() -> None:
    op.drop_table('work_order_finding')
    with op.batch_alter_table('pm_work_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pm_work_order_machine_id'))

    op.drop_table('pm_work_order')
    op.drop_table('dispatch_lock')
    op.drop_table('technician_workweek')
    with op.batch_alter_table('technician_day_off', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_technician_day_off_technician_id'))

    op.drop_table('technician_day_off')
    with op.batch_alter_table('machine_pm_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_machine_pm_state_plan_id'))
        batch_op.drop_index(batch_op.f('ix_machine_pm_state_machine_id'))

    op.drop_table('machine_pm_state')
    with op.batch_alter_table('pm_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pm_plan_machine_model'))

    op.drop_table('pm_plan')
    with op.batch_alter_table('part', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_part_machine_model'))

    op.drop_table('part')
