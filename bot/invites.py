"""Responder invites: created by an administrator from the CLI, redeemed by opening a deep link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot import deeplinks
from storage import members, units
from storage.models import Invite, Member, Unit, utcnow

ROLES = ("leader", "police", "officer", "admin")


class Redeemed(StrEnum):
    JOINED = "joined"
    ALREADY = "already"
    EXPIRED = "expired"
    USED_UP = "used_up"
    INVALID = "invalid"


@dataclass(frozen=True)
class Redemption:
    outcome: Redeemed
    unit: Unit | None = None
    role: str | None = None


class InviteError(ValueError):
    """A CLI-facing problem creating an invite (unknown unit, bad role, bad counts)."""


async def create(
    session: AsyncSession, unit_code: str, role: str, *, uses: int = 1, expires_days: float | None = 7
) -> tuple[Invite, Unit]:
    """A new invite for `role` at the unit with `unit_code`."""
    if role not in ROLES:
        raise InviteError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    if uses < 1:
        raise InviteError("--uses must be at least 1")
    if expires_days is not None and expires_days <= 0:
        raise InviteError("--expires-days must be positive")
    unit = await units.by_code(session, unit_code)
    if unit is None:
        raise InviteError(f"no unit with code {unit_code!r}; see `python -m bot directory list`")
    expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
    invite = Invite(token=deeplinks.new_invite_token(), unit_id=unit.id, role=role, uses_left=uses,
                    expires_at=expires_at)
    return await members.add_invite(session, invite), unit


async def redeem(
    session: AsyncSession, token: str, user_id: int, display_name: str, *, now: datetime | None = None
) -> Redemption:
    """Make `user_id` a member through the invite `token`, spending one use; changes nothing on failure."""
    now = now or utcnow()
    invite = await members.invite_by_token(session, token)
    if invite is None or invite.revoked:
        return Redemption(Redeemed.INVALID)
    unit = await units.by_id(session, invite.unit_id)
    if unit is None:
        return Redemption(Redeemed.INVALID)
    if await members.find_member(session, user_id, unit.id, invite.role):
        return Redemption(Redeemed.ALREADY, unit, invite.role)
    if invite.expires_at is not None and invite.expires_at <= now:
        return Redemption(Redeemed.EXPIRED, unit, invite.role)
    if not await members.take_use(session, invite.id):
        return Redemption(Redeemed.USED_UP, unit, invite.role)
    await members.record_use(session, invite.id, user_id)
    await members.add_member(
        session,
        Member(user_id=user_id, unit_id=unit.id, role=invite.role, display_name=display_name[:128],
               invite_id=invite.id),
    )
    return Redemption(Redeemed.JOINED, unit, invite.role)
