"""Invite lifecycle: uses, expiry, forged tokens, membership."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import deeplinks, invites
from storage.models import utcnow
from tests.factories import make_tree


async def test_uses_are_counted_and_each_user_joins_once(db):
    await make_tree(db)
    async with db.session() as session:
        invite, unit = await invites.create(session, "KA", "officer", uses=2)
    async with db.session() as session:
        first = await invites.redeem(session, invite.token, 1, "A")
        again = await invites.redeem(session, invite.token, 1, "A")
        second = await invites.redeem(session, invite.token, 2, "B")
        third = await invites.redeem(session, invite.token, 3, "C")
    assert [first.outcome, again.outcome, second.outcome, third.outcome] == [
        invites.Redeemed.JOINED, invites.Redeemed.ALREADY, invites.Redeemed.JOINED, invites.Redeemed.USED_UP]
    assert first.unit is not None and first.unit.code == "KA" and first.role == "officer"


async def test_expired_and_unknown(db):
    await make_tree(db)
    async with db.session() as session:
        invite, _ = await invites.create(session, "KA-NS", "leader", expires_days=1)
    async with db.session() as session:
        late = await invites.redeem(session, invite.token, 5, "E", now=utcnow() + timedelta(days=2))
        forged = await invites.redeem(session, "x" * 32, 5, "E")
    assert late.outcome == invites.Redeemed.EXPIRED
    assert forged.outcome == invites.Redeemed.INVALID


@pytest.mark.parametrize(("code", "role", "uses"), [("NOPE", "leader", 1), ("KA", "king", 1), ("KA", "leader", 0)])
async def test_bad_requests_are_refused(db, code, role, uses):
    await make_tree(db)
    async with db.session() as session:
        with pytest.raises(invites.InviteError):
            await invites.create(session, code, role, uses=uses)


def test_payloads_fit_telegram_and_are_unguessable():
    tokens = {deeplinks.new_invite_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in list(tokens)[:50]:
        payload = deeplinks.INVITE_PREFIX + token
        assert deeplinks.PAYLOAD_RE.match(payload) and len(payload) <= 64
        assert deeplinks.parse(payload) == deeplinks.Payload("invite", token)
    assert deeplinks.parse("s_abc") == deeplinks.Payload("school", "abc")
    assert deeplinks.parse("hello world<script>").kind == "unknown"
    assert deeplinks.parse(None) is None
