"""Dealers between the OEM and its customers; API clients, access tokens and rate-limit windows
of the fleet owners' standard API (ISO 15143-3); the monthly-report subscription of a user and
the log of those e-mails.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-04
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tenant_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tenant_kind'), "kind IN ('oem', 'dealer', 'customer')")
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('monthly_report', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('api_client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('secret_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_api_client_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_client')),
    sa.UniqueConstraint('client_id', name=op.f('uq_api_client_client_id'))
    )
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_client_tenant_id'), ['tenant_id'], unique=False)
    op.create_table('api_token',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('api_client_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['api_client_id'], ['api_client.id'], name=op.f('fk_api_token_api_client_id_api_client'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_api_token'))
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_api_client_id'), ['api_client_id'], unique=False)
    op.create_table('api_rate_window',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('api_client_id', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.Integer(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['api_client_id'], ['api_client.id'], name=op.f('fk_api_rate_window_api_client_id_api_client'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_rate_window')),
    sa.UniqueConstraint('api_client_id', 'window_start', name=op.f('uq_api_rate_window_api_client_id_window_start'))
    )
    with op.batch_alter_table('api_rate_window', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_rate_window_api_client_id'), ['api_client_id'], unique=False)
    op.create_table('report_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_report_delivery_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_delivery')),
    sa.UniqueConstraint('user_id', 'month', name=op.f('uq_report_delivery_user_id_month'))
    )
    with op.batch_alter_table('report_delivery', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_delivery_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('report_delivery')
    op.drop_table('api_rate_window')
    op.drop_table('api_token')
    op.drop_table('api_client')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('monthly_report')
    # Without dealers their customers belong to the OEM again; the dealers and their people go.
    op.execute("UPDATE tenant SET parent_id = (SELECT d.parent_id FROM tenant d WHERE d.id = tenant.parent_id) "
               "WHERE parent_id IN (SELECT id FROM tenant WHERE kind = 'dealer')")
    op.execute("DELETE FROM app_user WHERE tenant_id IN (SELECT id FROM tenant WHERE kind = 'dealer')")
    op.execute("DELETE FROM tenant WHERE kind = 'dealer'")
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tenant_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tenant_kind'), "kind IN ('oem', 'customer')")
