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
