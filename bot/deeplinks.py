"""Deep-link payloads: `/start i_<token>` (a responder invite) and `/start s_<token>` (a school).

Payloads carry no meaning by themselves: both are random tokens looked up on the server, so nobody
can forge an invite or point a poster at another school by editing a link. Telegram allows at most
64 characters of [A-Za-z0-9_-].
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Literal

PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
INVITE_PREFIX, SCHOOL_PREFIX = "i_", "s_"


@dataclass(frozen=True)
class Payload:
    kind: Literal["invite", "school", "unknown"]
    token: str


def parse(payload: str | None) -> Payload | None:
    """Classify a /start argument; None when there is none, `unknown` when it is not ours."""
    if not payload:
        return None
    payload = payload.strip()
    if not PAYLOAD_RE.match(payload):
        return Payload("unknown", "")
    if payload.startswith(INVITE_PREFIX):
        return Payload("invite", payload.removeprefix(INVITE_PREFIX))
    if payload.startswith(SCHOOL_PREFIX):
        return Payload("school", payload.removeprefix(SCHOOL_PREFIX))
    return Payload("unknown", "")


def new_invite_token() -> str:
    return secrets.token_urlsafe(24)


def new_school_token() -> str:
    return secrets.token_urlsafe(12)


def link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


def invite_link(bot_username: str, token: str) -> str:
    return link(bot_username, INVITE_PREFIX + token)


def school_link(bot_username: str, token: str) -> str:
    return link(bot_username, SCHOOL_PREFIX + token)
