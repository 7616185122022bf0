"""Reporters' profiles: language, remembered role and school, consent."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Reporter


async def get(session: AsyncSession, user_id: int) -> Reporter | None:
    return await session.get(Reporter, user_id)


async def upsert(session: AsyncSession, user_id: int) -> Reporter:
    reporter = await session.get(Reporter, user_id)
    if reporter is None:
        reporter = Reporter(user_id=user_id)
        session.add(reporter)
    return reporter


async def delete_profile(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(Reporter).where(Reporter.user_id == user_id))
