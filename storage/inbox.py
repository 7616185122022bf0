"""The durable inbox: updates are written here before Telegram is told they were received.

Polling confirms an update by asking for the next offset; a webhook by answering 200. Doing either
only after the update is stored means a crash can delay an update but never lose it, and the primary
key on `update_id` turns Telegram's redeliveries into no-ops (`done` rows are kept for a TTL, longer
than Telegram's 24 h of redelivery, then pruned).

Several instances: the instance that stores a row claims it for a lease and renews the lease while it
works; a pending row whose lease ran out (its instance died) is claimed by whoever looks next
(`claim_expired`, `FOR UPDATE SKIP LOCKED` on PostgreSQL so two instances never take the same row).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.direct import Direct, Sql
from storage.models import InboxUpdate, utcnow

PENDING, DONE, FAILED = "pending", "done", "failed"
STATUSES = (PENDING, DONE, FAILED)


async def store(
    session: AsyncSession,
    payloads: Iterable[dict[str, Any]],
    *,
    claimed_by: str | None = None,
    lease: timedelta | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Record updates not seen before; returns the ids that are new (duplicates are skipped).

    With `claimed_by` and `lease` the new rows belong to that instance until now + lease. Safe against a
    concurrent store of the same update by another instance (`INSERT … ON CONFLICT DO NOTHING`). One
    statement for the whole batch, sent to the driver (`storage.direct`): every getUpdates batch runs it.
    """
    payloads = list({p["update_id"]: p for p in payloads}.values())
    if not payloads:
        return []
    now = now or utcnow()
    until = now + lease if claimed_by is not None and lease is not None else None
    direct = await Direct.of(session)
    received, claimed_until = direct.time_in(now), direct.time_in(until) if until else None
    owner = claimed_by if until else None
    inserted: set[int] = set()
    for start in range(0, len(payloads), _STORE_CHUNK):
        chunk = payloads[start:start + _STORE_CHUNK]
        params: list[Any] = []
        for p in chunk:
            params += (p["update_id"], direct.json_in(p), PENDING, received, owner, claimed_until)
        rows = await direct.rows(_store_sql(len(chunk)), params)
        inserted.update(row[0] for row in rows)
    return [p["update_id"] for p in payloads if p["update_id"] in inserted]


_STORE_CHUNK = 100  # rows per INSERT: 600 parameters, within every SQLite build's limit
_TABLE = InboxUpdate.__tablename__


@functools.cache
def _store_sql(rows: int) -> Sql:
    values = ", ".join("(?, ?, ?, 0, ?, ?, ?)" for _ in range(rows))
    return Sql.numbered(f"INSERT INTO {_TABLE} (update_id, payload, status, attempts, received_at, claimed_by, "
                        f"claimed_until) VALUES {values} ON CONFLICT (update_id) DO NOTHING RETURNING update_id")


ALREADY_HANDLED = object()  # what handling an update returns when `mark_done` found it done


async def mark_done(session: AsyncSession, update_id: int) -> bool:
    """Mark handled in the caller's transaction, before its work. False when the update was already handled
    (by another instance, or a redelivery that raced this one): the caller must not handle it again.
    An update that never went through the inbox (no row) counts as not handled."""
    direct = await Direct.of(session)
    if await direct.execute(_MARK_DONE, (direct.time_in(utcnow()), update_id)):
        return True
    found = await direct.row(_STATUS, (update_id,))
    return found is None or found[0] != DONE


_MARK_DONE = Sql.numbered(f"UPDATE {_TABLE} SET status = '{DONE}', handled_at = ?, claimed_until = NULL "
                          f"WHERE update_id = ? AND status != '{DONE}'")
_STATUS = Sql.numbered(f"SELECT status FROM {_TABLE} WHERE update_id = ?")


async def claim_expired(
    session: AsyncSession, *, instance: str, now: datetime, lease: timedelta, limit: int = 100,
    take_own: bool = False, after: int | None = None,
) -> list[InboxUpdate]:
    """Claim pending rows nobody holds (no claim, or a lease that ran out), lowest update id first.

    `take_own`: also rows still leased to `instance` itself - at start-up they belong to this instance's
    previous process, which is gone. `after`: only update ids above it (to page through many rows)."""
    free = or_(InboxUpdate.claimed_until.is_(None), InboxUpdate.claimed_until <= now)
    if take_own:
        free = or_(free, InboxUpdate.claimed_by == instance)
    if after is not None:
        free = and_(free, InboxUpdate.update_id > after)
    query = (
        select(InboxUpdate)
        .where(InboxUpdate.status == PENDING, free)
        .order_by(InboxUpdate.update_id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.scalars(query)).all())
    for row in rows:
        row.claimed_by, row.claimed_until = instance, now + lease
    await session.flush()
    return rows


async def renew(session: AsyncSession, update_ids: Iterable[int], *, instance: str, until: datetime) -> int:
    """Extend this instance's lease on rows it is still working on."""
    return await _set_lease(session, update_ids, instance, until)


async def release(session: AsyncSession, update_ids: Iterable[int], *, instance: str) -> int:
    """Give up this instance's claim on rows it could not finish (stopping), so another takes them at once."""
    return await _set_lease(session, update_ids, instance, None)


async def _set_lease(session: AsyncSession, update_ids: Iterable[int], instance: str, until: datetime | None) -> int:
    """Move the lease end of this instance's still-pending rows (None: free them)."""
    ids = list(update_ids)
    if not ids:
        return 0
    result = await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id.in_(ids), InboxUpdate.status == PENDING, InboxUpdate.claimed_by == instance)
        .values(claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def prune(session: AsyncSession, *, handled_before: datetime) -> int:
    """Forget handled updates older than the TTL (Telegram no longer redelivers them)."""
    result = await session.execute(
        delete(InboxUpdate)
        .where(InboxUpdate.status == DONE, InboxUpdate.handled_at < handled_before)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows per status (every status present, zero when none)."""
    result = {status: 0 for status in STATUSES}
    rows = await session.execute(select(InboxUpdate.status, func.count()).group_by(InboxUpdate.status))
    for status, count in rows:
        result[status] = int(count)
    return result


async def oldest_pending(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(func.min(InboxUpdate.received_at)).where(InboxUpdate.status == PENDING))


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
        .values(status=PENDING, attempts=0, claimed_by=None, claimed_until=None)
    )
    return result.rowcount or 0
