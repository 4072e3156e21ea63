"""Admin pages: one-time account links, zone limits per machine group, customer user admins

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_link',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=8), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("purpose IN ('invite', 'reset')", name=op.f('ck_account_link_purpose')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_account_link_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_account_link'))
    )
    with op.batch_alter_table('account_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_link_user_id'), ['user_id'], unique=False)

    op.create_table('zone_limit_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('machine_model', sa.String(length=80), nullable=False),
    sa.Column('component_name', sa.String(length=80), nullable=False),
    sa.Column('a_b_mm_s', sa.Float(), nullable=False),
    sa.Column('b_c_mm_s', sa.Float(), nullable=False),
    sa.Column('c_d_mm_s', sa.Float(), nullable=False),
    sa.Column('updated_by', sa.String(length=254), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('a_b_mm_s > 0 AND a_b_mm_s < b_c_mm_s AND b_c_mm_s < c_d_mm_s', name=op.f('ck_zone_limit_set_increasing')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zone_limit_set')),
    sa.UniqueConstraint('machine_model', 'component_name', name=op.f('uq_zone_limit_set_machine_model_component_name'))
    )
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manages_users', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('manages_users')
    op.drop_table('zone_limit_set')
    with op.batch_alter_table('account_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_link_user_id'))
    op.drop_table('account_link')
