"""site_security: each site's geofence and curfew; alarm.source may be 'security' (geofence exit,
running outside the allowed hours)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa



revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

OLD = "source IN ('diagnosis', 'trend', 'rul', 'dm1', 'stale', 'onset')"
NEW = "source IN ('diagnosis', 'trend', 'rul', 'dm1', 'stale', 'onset', 'security')"


def upgrade() -> None:
    op.create_table(
        'site_security',
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('fence_enabled', sa.Boolean(), nullable=False),
        sa.Column('fence_lat', sa.Float(), nullable=False),
        sa.Column('fence_lon', sa.Float(), nullable=False),
        sa.Column('fence_radius_m', sa.Float(), nullable=False),
        sa.Column('curfew', sa.JSON(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_site_security_site_id_site'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('site_id', name=op.f('pk_site_security')))
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alarm_source'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alarm_source'), NEW)


def downgrade() -> None:
    op.execute("DELETE FROM alarm WHERE source = 'security'")
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alarm_source'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alarm_source'), OLD)
    op.drop_table('site_security')
