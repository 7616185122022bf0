"""Typed callback data. It only says which button was pressed: every press is re-authorised on the
server, so copying or forging callback data grants nothing. Keep packed values under 64 bytes."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ConsentCb(CallbackData, prefix="cs"):
    action: str  # agree | decline | withdraw


class SchoolCb(CallbackData, prefix="sc"):
    unit_id: int


class LangCb(CallbackData, prefix="lg"):
    code: str


class RoleCb(CallbackData, prefix="ir"):
    role: str


class TypeCb(CallbackData, prefix="it"):
    type: str


class AnswerCb(CallbackData, prefix="ia"):
    """A choice pressed for question `q`; a press for another question than the current one is stale."""

    q: str
    v: str


class NavCb(CallbackData, prefix="in"):
    a: str  # back | skip | done | cancel
    q: str = ""


class EvidenceCb(CallbackData, prefix="ie"):
    a: str  # done | none


class AnonCb(CallbackData, prefix="iy"):
    a: str  # anon | share


class SummaryCb(CallbackData, prefix="is"):
    """Summary actions; `d` is the draft id, so a second "confirm" finds the case the first created."""

    a: str  # confirm | edit | evidence | identity | cancel | back
    d: str


class EditCb(CallbackData, prefix="ix"):
    q: str


class ResumeCb(CallbackData, prefix="iz"):
    a: str  # continue | restart


class MyCaseCb(CallbackData, prefix="mc"):
    id: int


class TriageCb(CallbackData, prefix="t"):
    """A card button; `bot.cards.action_data` writes the same format from domain code."""

    a: str  # ack | ask | police | district | close | reopen | more
    c: int


class CloseCb(CallbackData, prefix="tc"):
    c: int
    o: str  # an outcome of bot.lifecycle.OUTCOMES, or "skip" for "no note"


class ReplyCb(CallbackData, prefix="rp"):
    c: int


class CasesPageCb(CallbackData, prefix="cp"):
    p: int


class BindCb(CallbackData, prefix="bd"):
    u: int
