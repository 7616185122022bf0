"""Binding a Telegram group as a unit's case desk (`/bind` in the group by one of the unit's leaders or
officers), and noticing when the bot is removed from it."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, ChatMemberUpdated, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from handlers.callbacks import BindCb
from handlers.filters import GroupChat, PrivateChat
from handlers.intake_ui import button
from storage import groups, members
from storage.models import Unit

DESK_ROLES = ("leader", "officer", "admin")


async def _eligible(session: AsyncSession, user_id: int) -> list[Unit]:
    return [unit for member, unit in await members.memberships(session, user_id) if member.role in DESK_ROLES]


async def bind(message: Message, session: AsyncSession, i18n: Translator) -> None:
    if message.from_user is None:
        return
    units = await _eligible(session, message.from_user.id)
    if not units:
        await message.answer(i18n.t("bind-denied"))
        return
    if len(units) == 1:
        await _bind(message, units[0], message.from_user.id, session, i18n)
        return
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[button(u.name[:60], BindCb(u=u.id).pack())] for u in units])
    await message.answer(i18n.t("bind-choose"), reply_markup=keyboard)


async def bind_pick(query: CallbackQuery, callback_data: BindCb, session: AsyncSession, i18n: Translator) -> None:
    unit = next((u for u in await _eligible(session, query.from_user.id) if u.id == callback_data.u), None)
    if unit is None or not isinstance(query.message, Message):
        await query.answer(i18n.plain("bind-denied"), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await _bind(query.message, unit, query.from_user.id, session, i18n)


async def _bind(message: Message, unit: Unit, user_id: int, session: AsyncSession, i18n: Translator) -> None:
    chat = message.chat
    await groups.bind(session, unit_id=unit.id, chat_id=chat.id, title=chat.title or "", is_forum=bool(chat.is_forum),
                      bound_by=user_id)
    await message.answer(i18n.t("bind-done-forum" if chat.is_forum else "bind-done", unit=unit.name))


async def bind_private(message: Message, i18n: Translator) -> None:
    await message.answer(i18n.t("bind-in-group"))


async def membership_changed(update: ChatMemberUpdated, session: AsyncSession) -> None:
    if update.new_chat_member.status in ("left", "kicked"):
        await groups.deactivate_chat(session, update.chat.id)


def build() -> Router:
    router = Router(name="groups")
    router.message.register(bind, Command("bind"), GroupChat())
    router.message.register(bind_private, Command("bind"), PrivateChat())
    router.callback_query.register(bind_pick, BindCb.filter())
    router.my_chat_member.register(membership_changed)
    return router
