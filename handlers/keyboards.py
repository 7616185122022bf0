"""Keyboards built from locale labels, so every button speaks the user's language."""

from __future__ import annotations

from collections.abc import Iterable

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.i18n import Translator, per_locale
from handlers.callbacks import ConsentCb, LangCb, SchoolCb
from storage.models import Unit

MENU_KEYS = (("menu-report",), ("menu-mycases", "menu-help"), ("menu-school", "menu-language"))
BUTTON_TEXT_LIMIT = 60


@per_locale
def reporter_menu(i18n: Translator) -> ReplyKeyboardMarkup:
    """The persistent menu shown to a reporter who has agreed to the notice."""
    rows = [[KeyboardButton(text=i18n.plain(key)) for key in row] for row in MENU_KEYS]
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, is_persistent=True,
                               input_field_placeholder=i18n.plain("menu-placeholder"))


@per_locale
def consent(i18n: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=i18n.plain("btn-agree"), callback_data=ConsentCb(action="agree").pack())],
        [InlineKeyboardButton(text=i18n.plain("btn-decline"), callback_data=ConsentCb(action="decline").pack())],
    ])


@per_locale
def withdraw(i18n: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=i18n.plain("btn-withdraw"), callback_data=ConsentCb(action="withdraw").pack())]])


def schools(units: Iterable[Unit]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=_label(unit.name), callback_data=SchoolCb(unit_id=unit.id).pack())]
        for unit in units
    ])


def languages() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="🇻🇳 Tiếng Việt", callback_data=LangCb(code="vi").pack()),
        InlineKeyboardButton(text="🇬🇧 English", callback_data=LangCb(code="en").pack()),
    ]])


def _label(text: str) -> str:
    return text if len(text) <= BUTTON_TEXT_LIMIT else text[: BUTTON_TEXT_LIMIT - 1] + "…"
