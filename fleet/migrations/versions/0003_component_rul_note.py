"""component.rul_note: why a component has no RUL estimate (too little history, no model, ...)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('component', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rul_note', sa.String(length=240), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('component', schema=None) as batch_op:
        batch_op.drop_column('rul_note')
