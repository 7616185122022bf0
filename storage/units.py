"""Unit lookups used while talking to reporters: deep-link tokens and accent-insensitive school search."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.text import fold
from storage.direct import Direct, Sql
from storage.models import Unit

SCHOOL = "school"


async def by_id(session: AsyncSession, unit_id: int) -> Unit | None:
    return await session.get(Unit, unit_id)


@dataclass(frozen=True)
class School:
    """A unit as its cases name it: in their code and on their cards."""

    id: int
    code: str
    name: str


_SCHOOL = Sql.numbered(f"SELECT id, code, name FROM {Unit.__tablename__} WHERE id = ?")


async def school(session: AsyncSession, unit_id: int) -> School | None:
    """Read for every report confirmed and every card drawn. Through the ORM (`by_id`) it was the
    transaction's first ORM statement, ~3% of bench B1's event loop for one call per report."""
    found = await (await Direct.of(session)).row(_SCHOOL, (unit_id,))
    return School(*found) if found else None


async def by_code(session: AsyncSession, code: str) -> Unit | None:
    """Exact match first (indexed); else case-insensitive, which the importer keeps unambiguous."""
    unit = await session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        unit = await session.scalar(select(Unit).where(func.upper(Unit.code) == code.strip().upper()).limit(1))
    return unit


async def school_by_token(session: AsyncSession, token: str) -> Unit | None:
    return await session.scalar(select(Unit).where(Unit.public_token == token, Unit.kind == SCHOOL))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_schools(session: AsyncSession, query: str, limit: int = 8) -> list[Unit]:
    """Schools whose folded name contains every word of the folded query; typo-tolerant fallback.

    "thcs ngoc son" finds "THCS Ngọc Sơn"; "ngoc son" alone finds it too. When no name contains all
    the words, the closest names by similarity are offered instead of a dead end.
    """
    words = fold(query).split()
    if not words:
        return []
    conditions = [Unit.name_folded.like(f"%{_escape_like(word)}%", escape="\\") for word in words]
    rows = list(
        await session.scalars(
            select(Unit).where(Unit.kind == SCHOOL, and_(*conditions)).order_by(Unit.name).limit(limit)
        )
    )
    if rows:
        return rows
    return await _closest_schools(session, " ".join(words), limit)


async def _closest_schools(session: AsyncSession, folded: str, limit: int) -> list[Unit]:
    names = dict((await session.execute(select(Unit.name_folded, Unit.id).where(Unit.kind == SCHOOL))).all())
    close = difflib.get_close_matches(folded, list(names), n=limit, cutoff=0.75)
    if not close:
        return []
    by_id_map = {u.id: u for u in await session.scalars(select(Unit).where(Unit.id.in_([names[n] for n in close])))}
    return [by_id_map[names[n]] for n in close]


async def ancestors(session: AsyncSession, unit: Unit) -> list[Unit]:
    """The unit's chain upwards (school → district → province), nearest first, without the unit itself."""
    chain: list[Unit] = []
    parent_id = unit.parent_id
    while parent_id is not None and len(chain) < 10:
        parent = await session.get(Unit, parent_id)
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.parent_id
    return chain


async def subtree_ids(session: AsyncSession, unit_id: int) -> list[int]:
    """The unit and everything below it (a district's export includes its schools), from one query."""
    children: dict[int | None, list[int]] = {}
    for child_id, parent_id in (await session.execute(select(Unit.id, Unit.parent_id))).all():
        children.setdefault(parent_id, []).append(child_id)
    found, stack = [], [unit_id]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found
