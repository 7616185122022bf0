"""inbox claims: several instances share the inbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00.000000

A pending inbox row is claimed by the instance that stored it (`claimed_by`) until `claimed_until`; an
instance that finds a pending row whose lease ran out (its owner died) claims and handles it. Rows stored
before this migration have no claim, so the first instance to look takes them over.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inbox_updates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', storage.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_inbox_updates_status_claimed_until', ['status', 'claimed_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inbox_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_updates_status_claimed_until')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('claimed_by')
