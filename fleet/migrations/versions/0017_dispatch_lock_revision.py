"""dispatch_lock.revision and dispatch_proposal.lock_revisions: a stored proposal lists the lock
versions it was planned with, so a lock committed while a re-plan ran is pending whatever its time
stamp says (``fleet.dispatch_service.pending_locks``)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dispatch_lock', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.String(length=32), nullable=True))
    # existing locks: one distinct revision each (no proposal lists them, so they count by time stamp
    # until the next plan, as before)
    op.execute("UPDATE dispatch_lock SET revision = 'm' || CAST(work_order_id AS VARCHAR(20))")
    with op.batch_alter_table('dispatch_lock', schema=None) as batch_op:
        batch_op.alter_column('revision', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_dispatch_lock_revision'), ['revision'])
    with op.batch_alter_table('dispatch_proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lock_revisions', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dispatch_proposal', schema=None) as batch_op:
        batch_op.drop_column('lock_revisions')
    with op.batch_alter_table('dispatch_lock', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_dispatch_lock_revision'), type_='unique')
        batch_op.drop_column('revision')
