"""Responders and the invites that create them."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Invite, InviteUse, Member, Unit


async def invite_by_token(session: AsyncSession, token: str) -> Invite | None:
    return await session.scalar(select(Invite).where(Invite.token == token))


async def add_invite(session: AsyncSession, invite: Invite) -> Invite:
    session.add(invite)
    await session.flush()
    return invite


async def take_use(session: AsyncSession, invite_id: int) -> bool:
    """Atomically spend one use; False when another redeemer got the last one first."""
    result = await session.execute(
        update(Invite).where(Invite.id == invite_id, Invite.uses_left > 0).values(uses_left=Invite.uses_left - 1)
    )
    return (result.rowcount or 0) == 1


async def record_use(session: AsyncSession, invite_id: int, user_id: int) -> None:
    session.add(InviteUse(invite_id=invite_id, user_id=user_id))


async def find_member(session: AsyncSession, user_id: int, unit_id: int, role: str) -> Member | None:
    return await session.scalar(
        select(Member).where(Member.user_id == user_id, Member.unit_id == unit_id, Member.role == role)
    )


async def add_member(session: AsyncSession, member: Member) -> Member:
    session.add(member)
    await session.flush()
    return member


async def memberships(session: AsyncSession, user_id: int) -> list[tuple[Member, Unit]]:
    """Every active membership of a user with its unit, in one query."""
    rows = await session.execute(
        select(Member, Unit).join(Unit, Unit.id == Member.unit_id).where(Member.user_id == user_id, Member.active)
    )
    return [(member, unit) for member, unit in rows.all()]


async def responder_units(session: AsyncSession, user_id: int) -> list[int]:
    """Every unit whose cases `user_id` may see: their units and everything below them."""
    from storage.units import subtree_ids

    found: set[int] = set()
    for member, _ in await memberships(session, user_id):
        if member.unit_id not in found:
            found.update(await subtree_ids(session, member.unit_id))
    return sorted(found)
