"""Responders in chat: card buttons, closing with an outcome, questions to the reporter, /cases, /case.

Callback data only names a case and an action; every press is authorised again on the server
(`Casework.authorise`), so a copied or forged button grants nothing and is audited.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cards
from bot.casework import Casework
from bot.i18n import Translator
from bot.lifecycle import OUTCOMES
from bot.presenting import local_time, type_label
from bot.settings import Settings
from handlers.callbacks import CasesPageCb, CloseCb, ReplyCb, TriageCb
from handlers.filters import CallbackPrefix, NotCommand, PrivateChat
from handlers.intake_ui import button, pairs
from handlers.states import Reply, Triage
from storage import cases, members
from storage.models import Case, utcnow

MAX_RELAY = 3000
PAGE = 8
RESULT_KEYS = {"denied": "triage-denied", "not_allowed": "triage-stale", "conflict": "triage-conflict",
               "missing": "callback-stale"}


def _thread(message: Message | None) -> int | None:
    return message.message_thread_id if message is not None and message.is_topic_message else None


async def press(query: CallbackQuery, callback_data: TriageCb, session: AsyncSession, state: FSMContext,
                casework: Casework, i18n: Translator) -> None:
    case = await session.get(Case, callback_data.c)
    if case is None or callback_data.a not in (*cards_actions(), "more"):
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    if callback_data.a in ("more", "ask", "close"):
        role = await casework.authorise(session, case, query.from_user.id, callback_data.a)
        if role is None:
            await query.answer(i18n.plain("triage-denied"), show_alert=True)
            return
        await _prepare(query, callback_data.a, case, role, session, state, casework, i18n)
        return
    outcome = await casework.act(session, case.id, callback_data.a, query.from_user.id, utcnow())
    await _answer(query, outcome, i18n)


def cards_actions() -> tuple[str, ...]:
    from bot.lifecycle import TRANSITIONS

    return tuple(TRANSITIONS)


async def _answer(query: CallbackQuery, outcome, i18n: Translator) -> None:  # type: ignore[no-untyped-def]
    if outcome.status == "done":
        await query.answer(i18n.plain("triage-done", status=i18n.plain(f"card-status-{outcome.case.status}")))
        return
    status = i18n.plain(f"card-status-{outcome.case.status}") if outcome.case else ""
    await query.answer(i18n.plain(RESULT_KEYS[outcome.status], status=status, who=outcome.by or "—"),
                       show_alert=True)


async def _prepare(query: CallbackQuery, action: str, case: Case, role: str, session: AsyncSession,
                   state: FSMContext, casework: Casework, i18n: Translator) -> None:
    message = query.message if isinstance(query.message, Message) else None
    await query.answer()
    if message is None:
        return
    if action == "more":
        await casework.opened(session, case, query.from_user.id, role)
        for chunk in cards.full_text(await casework.view(session, case), i18n):
            await message.answer(chunk)
        return
    if action == "ask":
        if case.reporter_id is None or case.status == "closed":
            await message.answer(i18n.t("ask-impossible", code=case.code))
            return
        await state.set_state(Triage.ask)
        await state.set_data({"case_id": case.id})
        await message.answer(i18n.t("ask-prompt", code=case.code, name=query.from_user.full_name))
        return
    if case.status == "closed":
        await query.answer(i18n.plain("triage-stale", status=i18n.plain("card-status-closed"), who="—"),
                           show_alert=True)
        return
    keyboard = InlineKeyboardMarkup(inline_keyboard=pairs(
        [button(i18n.plain(f"outcome-{o.replace('_', '-')}"), CloseCb(c=case.id, o=o).pack()) for o in OUTCOMES]))
    await message.answer(i18n.t("close-choose", code=case.code), reply_markup=keyboard)


async def close_outcome(query: CallbackQuery, callback_data: CloseCb, session: AsyncSession, state: FSMContext,
                        casework: Casework, i18n: Translator) -> None:
    case = await session.get(Case, callback_data.c)
    message = query.message if isinstance(query.message, Message) else None
    if case is None or message is None:
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    if callback_data.o == "skip":
        data = await state.get_data()
        if data.get("case_id") != case.id or not data.get("outcome"):
            await query.answer(i18n.plain("callback-stale"), show_alert=True)
            return
        await state.clear()
        outcome = await casework.act(session, case.id, "close", query.from_user.id, utcnow(), outcome=data["outcome"])
        await _answer(query, outcome, i18n)
        await message.edit_reply_markup(reply_markup=None)
        return
    if callback_data.o not in OUTCOMES:
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    if await casework.authorise(session, case, query.from_user.id, "close") is None:
        await query.answer(i18n.plain("triage-denied"), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await state.set_state(Triage.note)
    await state.set_data({"case_id": case.id, "outcome": callback_data.o})
    key = "close-duplicate-ask" if callback_data.o == "duplicate" else "close-note-ask"
    skip = None if callback_data.o == "duplicate" else InlineKeyboardMarkup(inline_keyboard=[[
        button(i18n.plain("btn-skip"), CloseCb(c=case.id, o="skip").pack())]])
    await message.answer(i18n.t(key, code=case.code), reply_markup=skip)


async def close_note(message: Message, session: AsyncSession, state: FSMContext, casework: Casework,
                     i18n: Translator) -> None:
    data = await state.get_data()
    text = (message.text or "").strip()
    if not text:
        await message.answer(i18n.t("close-note-text"))
        return
    if data.get("outcome") == "duplicate":
        original = await cases.by_code(session, text.split()[0])
        if original is None or original.id == data.get("case_id"):
            await message.answer(i18n.t("close-duplicate-unknown", code=text[:64]))
            return
        text = original.code
    await state.clear()
    outcome = await casework.act(session, int(data["case_id"]), "close", message.from_user.id, utcnow(),
                                 outcome=str(data["outcome"]), note=text[:MAX_RELAY])
    key = "triage-done" if outcome.status == "done" else RESULT_KEYS[outcome.status]
    status = i18n.plain(f"card-status-{outcome.case.status}") if outcome.case else ""
    await message.answer(i18n.t(key, status=status, who=outcome.by or "—"))


async def ask_text(message: Message, session: AsyncSession, state: FSMContext, casework: Casework,
                   i18n: Translator) -> None:
    """The responder's question, relayed to the reporter without revealing who asked."""
    data = await state.get_data()
    case = await session.get(Case, int(data.get("case_id", 0)))
    text = (message.text or "").strip()
    if not text:
        await message.answer(i18n.t("relay-text-only"))
        return
    await state.clear()
    if case is None:
        await message.answer(i18n.t("callback-stale"))
        return
    role = await casework.authorise(session, case, message.from_user.id, "ask")
    if role is None:
        await message.answer(i18n.t("triage-denied"))
        return
    sent = await casework.ask_reporter(session, case, message.from_user.id, role, text[:MAX_RELAY],
                                       message.chat.id, _thread(message))
    await message.answer(i18n.t("ask-sent" if sent else "ask-impossible", code=case.code))


async def reply_button(query: CallbackQuery, callback_data: ReplyCb, session: AsyncSession, state: FSMContext,
                       i18n: Translator) -> None:
    case = await session.get(Case, callback_data.c)
    if case is None or case.reporter_id != query.from_user.id or not isinstance(query.message, Message):
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    await query.answer()
    await state.set_state(Reply.text)
    await state.set_data({"case_id": case.id})
    await query.message.answer(i18n.t("reply-prompt", code=case.code))


async def reply_text(message: Message, session: AsyncSession, state: FSMContext, casework: Casework,
                     i18n: Translator) -> None:
    data = await state.get_data()
    case = await session.get(Case, int(data.get("case_id", 0)))
    text = (message.text or message.caption or "").strip()
    if not text:
        await message.answer(i18n.t("relay-text-only"))
        return
    await state.clear()
    await _relay_answer(message, case, text, session, casework, i18n)


async def _relay_answer(message: Message, case: Case | None, text: str, session: AsyncSession, casework: Casework,
                        i18n: Translator) -> None:
    if case is None or not await casework.answer_responders(session, case, message.chat.id, text[:MAX_RELAY]):
        await message.answer(i18n.t("reply-unknown-case"))
        return
    await message.answer(i18n.t("reply-sent", code=case.code))


async def reply_command(message: Message, command: CommandObject, session: AsyncSession, casework: Casework,
                        i18n: Translator) -> None:
    """`/reply CODE text`: answer the school without pressing the button."""
    parts = (command.args or "").split(maxsplit=1)
    if len(parts) < 2:
        await message.answer(i18n.t("reply-usage"))
        return
    await _relay_answer(message, await cases.by_code(session, parts[0]), parts[1], session, casework, i18n)


async def list_open(message: Message, session: AsyncSession, i18n: Translator, settings: Settings,
                    page: int = 0) -> None:
    units = await members.responder_units(session, message.from_user.id)
    if not units:
        await message.answer(i18n.t("cases-not-responder"))
        return
    found, total = await cases.open_for_units(session, units, offset=page * PAGE, limit=PAGE)
    if not found:
        await message.answer(i18n.t("cases-none"))
        return
    lines = [i18n.t("cases-title", total=str(total))]
    lines += [i18n.t("cases-item", badge=cards.SEVERITY_BADGE.get(c.severity, ""), code=c.code,
                     type=type_label(c.incident_type, i18n), status=i18n.plain(f"card-status-{c.status}"),
                     date=local_time(c.created_at, settings.tz)) for c in found]
    nav = []
    if page > 0:
        nav.append(button(i18n.plain("btn-prev"), CasesPageCb(p=page - 1).pack()))
    if (page + 1) * PAGE < total:
        nav.append(button(i18n.plain("btn-next"), CasesPageCb(p=page + 1).pack()))
    await message.answer("\n".join(lines) + "\n\n" + i18n.t("cases-hint"),
                         reply_markup=InlineKeyboardMarkup(inline_keyboard=[nav]) if nav else None)


async def cases_page(query: CallbackQuery, callback_data: CasesPageCb, session: AsyncSession, i18n: Translator,
                     settings: Settings) -> None:
    await query.answer()
    if isinstance(query.message, Message) and callback_data.p >= 0:
        message = query.message.model_copy(update={"from_user": query.from_user})
        await list_open(message, session, i18n, settings, page=callback_data.p)


async def show_case(message: Message, command: CommandObject, session: AsyncSession, casework: Casework,
                    i18n: Translator, settings: Settings) -> None:
    """`/case CODE`: the card with its buttons and the full timeline; the opening is audited."""
    case = await cases.by_code(session, (command.args or "").strip()[:64]) if command.args else None
    role = await casework.authorise(session, case, message.from_user.id, "view") if case else None
    if case is None or role is None:
        await message.answer(i18n.t("case-not-found"))
        return
    await casework.opened(session, case, message.from_user.id, role)
    view = await casework.view(session, case)
    markup = InlineKeyboardMarkup(inline_keyboard=[[button(b["text"], b["data"]) for b in row]
                                                   for row in cards.buttons(case, i18n)])
    await message.answer(cards.render(view, i18n, settings.tz), reply_markup=markup)
    lines = [i18n.t("timeline-title")]
    for event in await cases.timeline(session, case.id, public_only=False):
        who = await casework.actor_label(session, event.actor_id, event.actor_role) \
            if event.actor_id and event.actor_role else ""
        lines.append(i18n.t("timeline-item", at=local_time(event.at, settings.tz),
                            event=i18n.plain(f"audit-{event.kind.replace('_', '-')}"), who=who))
    for chunk in cards._chunks(lines):
        await message.answer(chunk)


def build() -> Router:
    router = Router(name="triage")
    router.callback_query.filter(CallbackPrefix(TriageCb, CloseCb, ReplyCb, CasesPageCb))
    router.callback_query.register(press, TriageCb.filter())
    router.callback_query.register(close_outcome, CloseCb.filter())
    router.callback_query.register(reply_button, ReplyCb.filter())
    router.callback_query.register(cases_page, CasesPageCb.filter())
    router.message.register(list_open, Command("cases"))
    router.message.register(show_case, Command("case"))
    router.message.register(reply_command, Command("reply"))
    router.message.register(ask_text, StateFilter(Triage.ask), NotCommand())
    router.message.register(close_note, StateFilter(Triage.note), NotCommand())
    router.message.register(reply_text, StateFilter(Reply.text), PrivateChat(), NotCommand())
    return router
