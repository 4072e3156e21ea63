"""alarm.source may be 'onset': the bearing onset detector is an alarm source

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""
from __future__ import annotations

from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

OLD = "source IN ('diagnosis', 'trend', 'rul', 'dm1', 'stale')"
NEW = "source IN ('diagnosis', 'trend', 'rul', 'dm1', 'stale', 'onset')"


def upgrade() -> None:
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alarm_source'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alarm_source'), NEW)


def downgrade() -> None:
    op.execute("DELETE FROM alarm WHERE source = 'onset'")
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alarm_source'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alarm_source'), OLD)
