"""Site-limited viewers (user_site, app_user.sites_limited) and API client scopes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

ALL_SCOPES = "fleet usage locations faults"


def upgrade() -> None:
    op.create_table('user_site',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_user_site_site_id_site'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_site_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'site_id', name=op.f('pk_user_site'))
    )
    with op.batch_alter_table('user_site', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_site_site_id'), ['site_id'], unique=False)
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sites_limited', sa.Boolean(), nullable=False, server_default=sa.false()))
    # Clients made before scopes existed keep reading everything they could.
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.String(length=200), nullable=False, server_default=ALL_SCOPES))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.String(length=200), nullable=False, server_default=ALL_SCOPES))


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('scopes')
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.drop_column('scopes')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('sites_limited')
    with op.batch_alter_table('user_site', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_site_site_id'))
    op.drop_table('user_site')
