"""Alarms and the people they reach: alarm (one open per machine + component + cause through the
unique, NULL-when-cleared open_key), escalation chains, on-call shifts, DM1 rules, push
subscriptions, user preferences, the delivery and audit logs; machine.reporting (stale-data window).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_audit_entry_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_subject', ['subject_type', 'subject_id'], unique=False)

    op.create_table('escalation_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('min_severity', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_escalation_policy_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_policy')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_escalation_policy_tenant_id'))
    )
    op.create_table('fault_code_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('spn', sa.Integer(), nullable=False),
    sa.Column('fmi', sa.Integer(), nullable=True),
    sa.Column('severity', sa.String(length=8), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_fault_code_rule_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fault_code_rule')),
    sa.UniqueConstraint('tenant_id', 'spn', 'fmi', name=op.f('uq_fault_code_rule_tenant_id_spn_fmi'))
    )
    op.create_table('escalation_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('after_minutes', sa.Integer(), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target_role', sa.String(length=16), nullable=True),
    sa.Column('target_user_id', sa.Integer(), nullable=True),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.CheckConstraint("target_kind IN ('role', 'user', 'on_call')", name=op.f('ck_escalation_step_target_kind')),
    sa.ForeignKeyConstraint(['policy_id'], ['escalation_policy.id'], name=op.f('fk_escalation_step_policy_id_escalation_policy'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_user_id'], ['app_user.id'], name=op.f('fk_escalation_step_target_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_step')),
    sa.UniqueConstraint('policy_id', 'position', name=op.f('uq_escalation_step_policy_id_position'))
    )
    op.create_table('push_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.String(length=1000), nullable=False),
    sa.Column('p256dh', sa.String(length=200), nullable=False),
    sa.Column('auth', sa.String(length=100), nullable=False),
    sa.Column('device', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_push_subscription_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscription')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscription_endpoint'))
    )
    with op.batch_alter_table('push_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_subscription_user_id'), ['user_id'], unique=False)

    op.create_table('user_preference',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('quiet_start', sa.String(length=5), nullable=True),
    sa.Column('quiet_end', sa.String(length=5), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_preference_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_preference'))
    )
    op.create_table('on_call_shift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_on_call_shift_site_id_site'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['technician_id'], ['technician.id'], name=op.f('fk_on_call_shift_technician_id_technician'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_on_call_shift'))
    )
    with op.batch_alter_table('on_call_shift', schema=None) as batch_op:
        batch_op.create_index('ix_on_call_site_time', ['site_id', 'starts_at'], unique=False)

    op.create_table('alarm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('machine_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=True),
    sa.Column('component', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('cause', sa.String(length=120), nullable=False),
    sa.Column('open_key', sa.String(length=220), nullable=True),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('title', sa.String(length=240), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=254), nullable=True),
    sa.Column('ack_comment', sa.String(length=500), nullable=False),
    sa.Column('cleared_at', sa.DateTime(), nullable=True),
    sa.Column('cleared_by_id', sa.Integer(), nullable=True),
    sa.Column('cleared_by', sa.String(length=254), nullable=True),
    sa.Column('clear_comment', sa.String(length=500), nullable=False),
    sa.Column('clear_reason', sa.String(length=32), nullable=False),
    sa.Column('escalation_step', sa.Integer(), nullable=False),
    sa.Column('next_escalation_at', sa.DateTime(), nullable=True),
    sa.Column('work_order_id', sa.Integer(), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.CheckConstraint("severity IN ('watch', 'warning', 'alarm')", name=op.f('ck_alarm_severity')),
    sa.CheckConstraint("source IN ('diagnosis', 'trend', 'rul', 'dm1', 'stale')", name=op.f('ck_alarm_source')),
    sa.CheckConstraint("state IN ('active', 'acknowledged', 'cleared')", name=op.f('ck_alarm_state')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['app_user.id'], name=op.f('fk_alarm_acknowledged_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cleared_by_id'], ['app_user.id'], name=op.f('fk_alarm_cleared_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['component_id'], ['component.id'], name=op.f('fk_alarm_component_id_component'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['machine_id'], ['machine.id'], name=op.f('fk_alarm_machine_id_machine'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_alarm_tenant_id_tenant'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_alarm_work_order_id_work_order'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm')),
    sa.UniqueConstraint('open_key', name=op.f('uq_alarm_open_key'))
    )
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_escalation', ['next_escalation_at'], unique=False)
        batch_op.create_index('ix_alarm_machine_state', ['machine_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alarm_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=400), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('digest_id', sa.String(length=40), nullable=True),
    sa.CheckConstraint("channel IN ('push', 'email')", name=op.f('ck_delivery_channel')),
    sa.CheckConstraint("status IN ('queued', 'sent', 'retrying', 'failed', 'dropped', 'suppressed', 'held', 'digested')", name=op.f('ck_delivery_status')),
    sa.ForeignKeyConstraint(['alarm_id'], ['alarm.id'], name=op.f('fk_delivery_alarm_id_alarm'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_delivery_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    sa.UniqueConstraint('alarm_id', 'step', 'user_id', 'channel', 'kind', name=op.f('uq_delivery_alarm_id_step_user_id_channel_kind'))
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_alarm_id'), ['alarm_id'], unique=False)
        batch_op.create_index('ix_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_delivery_recipient_time', ['user_id', 'channel', 'created_at'], unique=False)

    with op.batch_alter_table('machine', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reporting', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('machine', schema=None) as batch_op:
        batch_op.drop_column('reporting')

    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_recipient_time')
        batch_op.drop_index('ix_delivery_due')
        batch_op.drop_index(batch_op.f('ix_delivery_alarm_id'))

    op.drop_table('delivery')
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_alarm_state'))
        batch_op.drop_index('ix_alarm_machine_state')
        batch_op.drop_index('ix_alarm_escalation')

    op.drop_table('alarm')
    with op.batch_alter_table('on_call_shift', schema=None) as batch_op:
        batch_op.drop_index('ix_on_call_site_time')

    op.drop_table('on_call_shift')
    op.drop_table('user_preference')
    with op.batch_alter_table('push_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_subscription_user_id'))

    op.drop_table('push_subscription')
    op.drop_table('escalation_step')
    op.drop_table('fault_code_rule')
    op.drop_table('escalation_policy')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_subject')

    op.drop_table('audit_entry')
