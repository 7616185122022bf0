"""The durable inbox: updates are written here before Telegram is told they were received.

Polling confirms an update by asking for the next offset; a webhook by answering 200. Doing either
only after the update is stored means a crash can delay an update but never lose it, and the primary
key on `update_id` turns Telegram's redeliveries into no-ops.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxUpdate, utcnow

PENDING, DONE, FAILED = "pending", "done", "failed"


async def store(session: AsyncSession, payloads: Iterable[dict[str, Any]]) -> list[int]:
    """Record updates not seen before; returns the ids that are new (duplicates are skipped)."""
    payloads = list(payloads)
    if not payloads:
        return []
    ids = [p["update_id"] for p in payloads]
    known = set(await session.scalars(select(InboxUpdate.update_id).where(InboxUpdate.update_id.in_(ids))))
    fresh = [p for p in payloads if p["update_id"] not in known]
    session.add_all(InboxUpdate(update_id=p["update_id"], payload=p) for p in fresh)
    await session.flush()
    return [p["update_id"] for p in fresh]


async def mark_done(session: AsyncSession, update_id: int) -> None:
    await session.execute(
        update(InboxUpdate).where(InboxUpdate.update_id == update_id).values(status=DONE, handled_at=utcnow())
    )


async def record_failure(session: AsyncSession, update_id: int, error: str, *, give_up: bool) -> None:
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.status != DONE)
        .values(attempts=InboxUpdate.attempts + 1, last_error=error[:2000], status=FAILED if give_up else PENDING)
    )


async def status_of(session: AsyncSession, update_id: int) -> str | None:
    return await session.scalar(select(InboxUpdate.status).where(InboxUpdate.update_id == update_id))


async def pending(session: AsyncSession, limit: int = 1000) -> list[InboxUpdate]:
    rows = await session.scalars(
        select(InboxUpdate).where(InboxUpdate.status == PENDING).order_by(InboxUpdate.update_id).limit(limit)
    )
    return list(rows)


async def failed(session: AsyncSession, limit: int = 100) -> list[InboxUpdate]:
    rows = await session.scalars(
        select(InboxUpdate).where(InboxUpdate.status == FAILED).order_by(InboxUpdate.update_id).limit(limit)
    )
    return list(rows)


async def requeue(session: AsyncSession, update_ids: Iterable[int]) -> int:
    """Put dead-lettered updates back in line (operator replay)."""
    result = await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id.in_(list(update_ids)), InboxUpdate.status == FAILED)
        .values(status=PENDING, attempts=0)
    )
    return result.rowcount or 0
