"""The reporter's own cases: a list with statuses, and each case's public timeline."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.presenting import local_time, type_label
from bot.settings import Settings
from handlers.callbacks import MyCaseCb
from handlers.filters import MenuText, PrivateChat
from handlers.intake_ui import button
from storage import cases


async def list_cases(message: Message, session: AsyncSession, i18n: Translator, settings: Settings) -> None:
    mine = await cases.of_reporter(session, message.chat.id)
    if not mine:
        await message.answer(i18n.t("mycases-empty"))
        return
    lines = [i18n.t("mycases-title")]
    for case in mine:
        lines.append(i18n.t("mycases-item", code=case.code, type=type_label(case.incident_type, i18n),
                            status=i18n.plain(f"status-{case.status}"), date=local_time(case.created_at, settings.tz)))
    keyboard = InlineKeyboardMarkup(inline_keyboard=[
        [button(f"{case.code} · {i18n.plain(f'status-{case.status}')}", MyCaseCb(id=case.id).pack())] for case in mine
    ])
    await message.answer("\n".join(lines), reply_markup=keyboard)


async def open_case(query: CallbackQuery, callback_data: MyCaseCb, session: AsyncSession, i18n: Translator,
                    settings: Settings) -> None:
    """Only the reporter who filed the case may open it here; anyone else learns nothing, not even that it exists."""
    from storage.models import Case

    case = await session.get(Case, callback_data.id)
    if case is None or case.reporter_id != query.from_user.id or not isinstance(query.message, Message):
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    await query.answer()
    events = await cases.timeline(session, case.id, public_only=True)
    lines = [
        i18n.t("mycase-header", code=case.code, type=type_label(case.incident_type, i18n),
               status=i18n.plain(f"status-{case.status}")),
        "",
        *(i18n.t("mycase-event", at=local_time(e.at, settings.tz),
                 event=i18n.plain(f"event-{e.kind.replace('_', '-')}")) for e in events),
    ]
    await query.message.answer("\n".join(lines))


def build() -> Router:
    router = Router(name="mycases")
    router.message.filter(PrivateChat())
    router.message.register(list_cases, Command("mycases"))
    router.message.register(list_cases, MenuText("menu-mycases"))
    router.callback_query.register(open_case, MyCaseCb.filter())
    return router
