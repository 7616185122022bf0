"""Responder groups: a Telegram group bound as a unit's case desk."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ResponderGroup


async def bind(session: AsyncSession, *, unit_id: int, chat_id: int, title: str, is_forum: bool,
               bound_by: int) -> ResponderGroup:
    """Make `chat_id` the unit's desk (replacing any earlier group of that unit)."""
    group = await session.scalar(select(ResponderGroup).where(ResponderGroup.unit_id == unit_id))
    if group is None:
        group = ResponderGroup(unit_id=unit_id, chat_id=chat_id)
        session.add(group)
    group.chat_id, group.title, group.is_forum, group.bound_by, group.active = (
        chat_id, title[:255], is_forum, bound_by, True)
    await session.flush()
    return group


async def deactivate_chat(session: AsyncSession, chat_id: int) -> int:
    """The bot left or was removed from a group: it can no longer be a desk."""
    result = await session.execute(
        update(ResponderGroup).where(ResponderGroup.chat_id == chat_id).values(active=False))
    return result.rowcount or 0


async def set_forum(session: AsyncSession, chat_id: int, is_forum: bool) -> None:
    await session.execute(update(ResponderGroup).where(ResponderGroup.chat_id == chat_id).values(is_forum=is_forum))
