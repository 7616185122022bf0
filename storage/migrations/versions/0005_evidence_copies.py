"""evidence copies: downloaded after the case is saved, not while the reporter's update holds the database

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 20:00:00.000000

With EVIDENCE_DIR set, the handler used to download each file (getFile and the file itself, up to 20 MB)
inside the update's transaction; on SQLite that held the only connection for the whole bot. Files are now
copied by a background job (`bot.evidence_copies`) once the case exists: `copy_due_at` is when the next
attempt may start (NULL once copied or given up), `copy_attempts` how many have begun. Files of cases saved
before this migration are not queued.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = "copy_due_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('evidence') as batch:
        batch.add_column(sa.Column('copy_due_at', storage.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('copy_attempts', sa.Integer(), server_default='0', nullable=False))
    op.create_index('ix_evidence_copy_due_at', 'evidence', ['copy_due_at'], unique=False,
                    sqlite_where=sa.text(DUE), postgresql_where=sa.text(DUE))


def downgrade() -> None:
    op.drop_index('ix_evidence_copy_due_at', table_name='evidence')
    with op.batch_alter_table('evidence') as batch:
        batch.drop_column('copy_attempts')
        batch.drop_column('copy_due_at')
