"""Periodic chores: discard reports left unfinished for too long, telling the reporter.

Channel-agnostic: the caller passes `notify(chat_id, locale)`, which the Telegram app implements
with a message and a web form could implement with nothing at all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import delete

from storage import reporters
from storage.db import Database
from storage.fsm import stale_records
from storage.models import FsmRecord

log = logging.getLogger(__name__)
INTAKE_STATES = "Intake:"

Notify = Callable[[int, str | None], Awaitable[None]]


def chat_of(key: str) -> int | None:
    """The chat id in an FSM key `fsm:<chat>:<user>` (aiogram's default key layout)."""
    parts = key.split(":")
    try:
        return int(parts[1])
    except (IndexError, ValueError):
        return None


async def expire_drafts(db: Database, now: datetime, ttl: timedelta, notify: Notify) -> int:
    """Delete drafts untouched for `ttl` and notify their authors; returns how many were discarded."""
    stale = await stale_records(db, now - ttl, INTAKE_STATES)
    discarded = 0
    for record in stale:
        async with db.session() as session:
            result = await session.execute(
                delete(FsmRecord).where(FsmRecord.key == record.key, FsmRecord.updated_at == record.updated_at)
            )
            if not result.rowcount:
                continue  # touched meanwhile: the reporter is back
            discarded += 1
            chat_id = chat_of(record.key)
            profile = await reporters.get(session, chat_id) if chat_id is not None else None
        if chat_id is not None:
            try:
                await notify(chat_id, profile.locale if profile else None)
            except Exception as exc:  # a blocked bot or network error must not stop the sweep
                log.warning("could not tell chat about its expired draft: %r", exc)
    return discarded
