"""Reporters' profiles: language, remembered role and school, consent."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.direct import Direct, Sql
from storage.models import Reporter, Unit

_LOCALE_TEXT = f"SELECT locale FROM {Reporter.__tablename__} WHERE user_id = ?"
_LOCALE = Sql.numbered(_LOCALE_TEXT)
LOCALE_SUBQUERY = f"({_LOCALE_TEXT})"
"""The chosen language as a column of another statement (the conversation's read, `storage.fsm`)."""
_READ_ALONG = "tx.reporters.locale"  # session.info: (user id, locale) read by another statement


async def get(session: AsyncSession, user_id: int) -> Reporter | None:
    return await session.get(Reporter, user_id)


@dataclass(frozen=True)
class Standing:
    """What starting a report needs to know of the person."""

    consented: bool
    role: str | None  # remembered from the last report
    unit_id: int | None
    school_name: str | None  # None also when the school was removed since


_STANDING = Sql.numbered(
    f"SELECT r.consent_version IS NOT NULL, r.role, r.unit_id, u.name FROM {Reporter.__tablename__} AS r "
    f"LEFT JOIN {Unit.__tablename__} AS u ON u.id = r.unit_id WHERE r.user_id = ?")
_REMEMBER_ROLE = Sql.numbered(f"UPDATE {Reporter.__tablename__} SET role = ? WHERE user_id = ?")


async def standing(session: AsyncSession, user_id: int) -> Standing | None:
    """The person's consent, role and school in one statement; None before they agreed to the notice.
    Loading the profile and then the school through the ORM cost ~0.3 ms of CPU each (bench B1), for
    four values."""
    found = await (await Direct.of(session)).row(_STANDING, (user_id,))
    if found is None:
        return None
    consented, role, unit_id, school_name = found
    return Standing(bool(consented), role, unit_id, school_name)


async def remember_role(session: AsyncSession, user_id: int, role: str) -> None:
    """Asked once, offered again with the next report. A statement of its own rather than a loaded profile
    changed and flushed (bench B1, as `standing`); a profile this session loaded before does not see it."""
    await (await Direct.of(session)).execute(_REMEMBER_ROLE, (role, user_id))


def read_along(session: AsyncSession, user_id: int, locale: str | None) -> None:
    """`user_id`'s language as another statement of this transaction just read it (`LOCALE_SUBQUERY`).
    Every update reads its sender's conversation and then their language (the I18n middleware): carried by
    the first, the second costs no statement (bench B1: one of five per update; on PostgreSQL a round trip)."""
    session.info[_READ_ALONG] = (user_id, locale)


async def locale_of(session: AsyncSession, user_id: int) -> str | None:
    """The language the person chose, if any: read for every update, so straight from the driver.
    A value read along with the conversation is taken once, and only while the ORM holds no change
    (a change to the profile is flushed and read back instead)."""
    along = session.info.pop(_READ_ALONG, None)
    if along is not None and along[0] == user_id and not (session.new or session.dirty or session.deleted):
        return along[1]  # type: ignore[no-any-return]
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
