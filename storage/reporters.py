"""Reporters' profiles: language, remembered role and school, consent."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.direct import Direct, Sql
from storage.models import Reporter

_LOCALE = Sql.numbered(f"SELECT locale FROM {Reporter.__tablename__} WHERE user_id = ?")


async def get(session: AsyncSession, user_id: int) -> Reporter | None:
    return await session.get(Reporter, user_id)


async def locale_of(session: AsyncSession, user_id: int) -> str | None:
    """The language the person chose, if any: read for every update, so straight from the driver."""
    found = await (await Direct.of(session)).row(_LOCALE, (user_id,))
    return found[0] if found else None


async def upsert(session: AsyncSession, user_id: int) -> Reporter:
    reporter = await session.get(Reporter, user_id)
    if reporter is None:
        reporter = Reporter(user_id=user_id)
        session.add(reporter)
    return reporter


async def delete_profile(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(Reporter).where(Reporter.user_id == user_id))
