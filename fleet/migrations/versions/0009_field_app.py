"""Technicians' app: the full work-order life cycle's statuses on the row, each phone action once
(field_action), job photos on disk referenced by rows (work_order_photo), the site's contact

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('open', 'assigned', 'in_progress', 'done', 'cancelled')"
NEW_STATUSES = ("status IN ('open', 'assigned', 'accepted', 'in_progress', 'on_hold', 'done', 'closed', "
                "'cancelled')")


def upgrade() -> None:
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_work_order_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_work_order_status'), NEW_STATUSES)
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_name', sa.String(length=120), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=40), nullable=False, server_default=''))
    op.create_table('field_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_action_id', sa.String(length=64), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('status_after', sa.String(length=16), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.CheckConstraint("outcome IN ('applied', 'conflict')", name=op.f('ck_field_action_outcome')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_field_action_user_id_app_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_field_action_work_order_id_work_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_field_action')),
    sa.UniqueConstraint('client_action_id', name=op.f('uq_field_action_client_action_id'))
    )
    with op.batch_alter_table('field_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_field_action_work_order_id'), ['work_order_id'], unique=False)
    op.create_table('work_order_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('client_action_id', sa.String(length=64), nullable=False),
    sa.Column('relative_path', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('width_px', sa.Integer(), nullable=False),
    sa.Column('height_px', sa.Integer(), nullable=False),
    sa.Column('caption', sa.String(length=200), nullable=False),
    sa.Column('taken_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_work_order_photo_work_order_id_work_order'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_photo')),
    sa.UniqueConstraint('client_action_id', name=op.f('uq_work_order_photo_client_action_id'))
    )
    with op.batch_alter_table('work_order_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_order_photo_work_order_id'), ['work_order_id'], unique=False)


def downgrade() -> None:
    op.drop_table('work_order_photo')
    op.drop_table('field_action')
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_work_order_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_work_order_status'), OLD_STATUSES)
