"""The SQL side of routing: the directory snapshot a case is routed with, the recorded recipients, and the
server-side authorisation of triage actions (who may act on a case of which unit).

The unit chain (a unit and its ancestors) comes from one recursive CTE that SQLite and PostgreSQL both run,
so loading a directory costs a constant number of queries however many members a unit has.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from sqlalchemy import CTE, Integer, bindparam, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.routing import ROLES, Directory, Recipient
from storage.direct import Direct
from storage.models import CaseRecipient, Member, ResponderGroup, Unit

MAX_DEPTH = 8
"""A guard against a cycle in the unit tree (province → district → school is 3 levels)."""


def unit_chain() -> CTE:
    """The unit `:unit_id` and its ancestors as rows (id, parent_id, kind, depth), depth 0 being the unit."""
    base = select(
        Unit.id.label("id"),
        Unit.parent_id.label("parent_id"),
        Unit.kind.label("kind"),
        literal_column("0", Integer).label("depth"),
    ).where(Unit.id == bindparam("unit_id"))
    chain = base.cte("unit_chain", recursive=True)
    parent = aliased(Unit, name="parent_unit")
    return chain.union_all(
        select(parent.id, parent.parent_id, parent.kind, chain.c.depth + 1).where(
            parent.id == chain.c.parent_id, chain.c.depth < MAX_DEPTH
        )
    )


_CHAINS: dict[str, tuple[str, list[str], dict[str, Any]]] = {}


def _chain_sql(direct: Direct) -> tuple[str, list[str], dict[str, Any]]:
    """`unit_chain()` as the driver's SQL for this dialect, compiled once: the text, its parameters' names in
    order, and the values of those fixed in it. `load_directory` sends it, and the statement path it skips
    cost ~0.4 ms of CPU per query on the slow VM (bench B1)."""
    found = _CHAINS.get(direct.dialect)
    if found is None:
        chain = unit_chain()
        query = select(chain.c.id, chain.c.parent_id, chain.c.kind).order_by(chain.c.depth)
        compiled = query.compile(dialect=direct.connection.dialect)
        found = _CHAINS[direct.dialect] = (str(compiled), list(compiled.positiontup or ()), dict(compiled.params))
    return found


def _of_units(direct: Direct, table: str, columns: str, count: int) -> str:
    """Active rows of `table` in `count` units, in the order they were added."""
    return (f"SELECT {columns} FROM {table} WHERE active = {direct.marks(1)} "
            f"AND unit_id IN ({direct.marks(count, start=2)}) ORDER BY id")


async def load_directory(session: AsyncSession, unit_id: int) -> Directory:
    """The routing snapshot of `unit_id`: the unit and its ancestors, their active members and active groups.

    Three queries whatever the number of members (chain, members, groups). An unknown unit gives an empty
    directory (routing then falls back to the admins).
    """
    direct = await Direct.of(session)
    chain, names, fixed = _chain_sql(direct)
    units = await direct.rows(chain, [unit_id if name == "unit_id" else fixed[name] for name in names])
    ids = [row[0] for row in units]
    if not ids:
        return Directory(units={})
    members = await direct.rows(_of_units(direct, Member.__tablename__, "unit_id, user_id, role", len(ids)),
                                (True, *ids))
    groups = await direct.rows(_of_units(direct, ResponderGroup.__tablename__, "unit_id, chat_id, is_forum",
                                         len(ids)), (True, *ids))
    return Directory.build(
        units=[(row[0], row[1], row[2]) for row in units],
        members=[(row[0], row[1], row[2]) for row in members],
        groups=[(row[0], row[1], bool(row[2])) for row in groups],
    )


# --- recorded recipients -----------------------------------------------------------------------------------


async def record(session: AsyncSession, case_id: int, recipients: Iterable[Recipient], *,
                 recorded: set[int] | None = None) -> list[CaseRecipient]:
    """Record the routing decision; returns the rows ADDED now, in order (chats already recorded for the case,
    reachable or not, are skipped, so routing the same case again only adds newcomers). `recorded`: those
    chats, when the caller knows them (none, for a case created in its transaction). The rows are added to
    the session, and written by the caller's next flush with the events that go with them."""
    seen = set(await session.scalars(_RECORDED, {"case_id": case_id})) if recorded is None else set(recorded)
    added: list[CaseRecipient] = []
    for recipient in recipients:
        if recipient.chat_id in seen:
            continue
        seen.add(recipient.chat_id)
        row = CaseRecipient(
            case_id=case_id,
            chat_id=recipient.chat_id,
            kind=recipient.kind,
            unit_id=recipient.unit_id,
            role=recipient.role,
            reason=recipient.reason,
            reachable=True,
        )
        session.add(row)
        added.append(row)
    return added


async def recipients_of(session: AsyncSession, case_id: int) -> list[CaseRecipient]:
    """Every recorded recipient of the case, in the order they were chosen."""
    rows = await session.scalars(
        select(CaseRecipient).where(CaseRecipient.case_id == case_id).order_by(CaseRecipient.id)
    )
    return list(rows)


async def recipient(session: AsyncSession, case_id: int, chat_id: int) -> CaseRecipient | None:
    return await session.scalar(
        select(CaseRecipient).where(CaseRecipient.case_id == case_id, CaseRecipient.chat_id == chat_id)
    )


async def unreachable_chats(session: AsyncSession, case_id: int) -> set[int]:
    """Chats of the case that refused delivery for good: the `exclude` of the next routing."""
    return set(await session.scalars(_UNREACHABLE, {"case_id": case_id}))


# Built once, like the directory's queries: every routed case runs them.
_RECORDED = select(CaseRecipient.chat_id).where(CaseRecipient.case_id == bindparam("case_id"))
_UNREACHABLE = _RECORDED.where(CaseRecipient.reachable.is_(False))


async def mark_unreachable(session: AsyncSession, case_id: int, chat_id: int) -> bool:
    """Mark a recipient as refused for good (Telegram 403); False when the chat was not a recipient."""
    result = await session.execute(
        update(CaseRecipient)
        .where(CaseRecipient.case_id == case_id, CaseRecipient.chat_id == chat_id)
        .values(reachable=False)
    )
    return (result.rowcount or 0) > 0


async def set_thread(session: AsyncSession, case_id: int, chat_id: int, thread_id: int | None) -> None:
    """Remember the case's forum topic in a group recipient (None: the topic is gone)."""
    await session.execute(
        update(CaseRecipient)
        .where(CaseRecipient.case_id == case_id, CaseRecipient.chat_id == chat_id)
        .values(thread_id=thread_id)
    )


# --- authorisation -----------------------------------------------------------------------------------------


async def member_roles(session: AsyncSession, user_id: int) -> list[tuple[int, str]]:
    """The user's active memberships as (unit_id, role), ordered by unit and role."""
    rows = await session.execute(
        select(Member.unit_id, Member.role)
        .where(Member.user_id == user_id, Member.active.is_(True))
        .order_by(Member.unit_id, Member.role)
    )
    return [(row.unit_id, row.role) for row in rows]


def _role_rank(role: str) -> int:
    return ROLES.index(role) if role in ROLES else len(ROLES)


async def can_act(session: AsyncSession, user_id: int, unit_id: int) -> str | None:
    """The role with which `user_id` may act on a case of `unit_id`, or None.

    Allowed: an ACTIVE member of that unit or of any ancestor (a district's members act on its schools' cases,
    a province's on everything below it). Never a member of a sibling or a unit below. With several
    memberships, the one at the nearest unit wins, then leader > police > officer > admin. One query.
    """
    rows = (await session.execute(_can_act_query(), {"unit_id": unit_id, "user_id": user_id})).all()
    if not rows:
        return None
    return min(rows, key=lambda row: (row.depth, _role_rank(row.role))).role


@functools.cache
def _can_act_query() -> Any:
    """Built once: every triage press runs it (building the recursive CTE anew cost more than running it)."""
    chain = unit_chain()
    return (select(Member.role, chain.c.depth)
            .join(chain, Member.unit_id == chain.c.id)
            .where(Member.user_id == bindparam("user_id"), Member.active.is_(True)))


async def group_unit(session: AsyncSession, chat_id: int) -> int | None:
    """The unit whose ACTIVE bound responder group this chat is (the first bound, if several), else None."""
    return await session.scalar(
        select(ResponderGroup.unit_id)
        .where(ResponderGroup.chat_id == chat_id, ResponderGroup.active.is_(True))
        .order_by(ResponderGroup.id)
        .limit(1)
    )
