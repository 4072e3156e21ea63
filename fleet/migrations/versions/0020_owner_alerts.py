"""Owner alert subscriptions: ``user_preference.owner_alerts`` (JSON, NULL = the defaults)

Which alarms on their own machines a customer's user is sent by push or e-mail
(``fleet.owner_alerts``), beside the OEM's escalation chains. NULL means "never chosen": the
defaults apply (security alarms on, faults off), so no row needs writing here.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_preference") as batch:
        batch.add_column(sa.Column("owner_alerts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_preference") as batch:
        batch.drop_column("owner_alerts")
