"""Copies of evidence files: which are due, who is copying them, and how each attempt ended.

A file is due once its case is saved (`copy_due_at` set by `bot.reports`). Claiming moves `copy_due_at` a
lease ahead and counts the attempt in a short transaction of its own, committed before the download starts:
the download never runs inside a transaction, and a copier that dies mid-download leaves a row that comes
due again when the lease ends. On PostgreSQL `FOR UPDATE SKIP LOCKED` keeps two instances off one file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import EVIDENCE_COPY_DUE_SQL, Case, Evidence


@dataclass(frozen=True)
class CopyJob:
    """What a copier needs to fetch one file and name its copy, detached from the session."""

    id: int
    case_id: int
    case_code: str
    position: int
    file_id: str
    file_unique_id: str | None
    file_name: str | None
    mime_type: str | None
    attempt: int  # 1 for the first attempt


async def claim(session: AsyncSession, *, now: datetime, limit: int, lease: timedelta) -> list[CopyJob]:
    """Up to `limit` due files, oldest due first; each is leased until now + lease and its attempt counted."""
    query = (select(Evidence, Case.code).join(Case, Case.id == Evidence.case_id)
             .where(text(EVIDENCE_COPY_DUE_SQL), Evidence.copy_due_at <= now)
             .order_by(Evidence.copy_due_at, Evidence.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Evidence)
    jobs = []
    for row, code in (await session.execute(query)).all():
        row.copy_attempts += 1
        row.copy_due_at = now + lease
        if row.file_id is None:  # nothing to download: never due again
            row.copy_due_at = None
            continue
        jobs.append(CopyJob(row.id, row.case_id, code, row.position, row.file_id, row.file_unique_id, row.file_name,
                            row.mime_type, row.copy_attempts))
    await session.flush()
    return jobs


async def copied(session: AsyncSession, evidence_id: int, *, sha256: str, local_path: str) -> None:
    await session.execute(update(Evidence).where(Evidence.id == evidence_id)
                          .values(sha256=sha256, local_path=local_path, copy_due_at=None))


async def retry_at(session: AsyncSession, evidence_id: int, due: datetime | None) -> None:
    """The next attempt's time after a failed one; None gives the file up (the Telegram file id stays)."""
    await session.execute(update(Evidence).where(Evidence.id == evidence_id).values(copy_due_at=due))

