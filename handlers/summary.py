"""The summary before sending: every answer shown back, editable, then one confirm that makes one case."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import reports
from bot.casework import Casework
from bot.drafts import Draft
from bot.i18n import Translator
from bot.intake import advice_for
from bot.intake.flows import applicable_questions
from bot.presenting import advice_block, draft_summary
from bot.settings import Settings
from handlers import intake_ui as ui
from handlers import keyboards
from handlers.callbacks import EditCb, SummaryCb
from handlers.filters import CallbackPrefix, PrivateChat
from handlers.middlewares import CONVERSATION_STEP
from handlers.states import Intake
from storage import cases
from storage.models import Case, utcnow

SUMMARY_STEPS = {action: (Intake.summary.state,) for action in ("confirm", "edit", "evidence", "identity", "cancel")}
SUMMARY_STEPS["back"] = (Intake.summary.state, Intake.edit.state)


async def show(message: Message, state: FSMContext, draft: Draft, i18n: Translator, *,
               lead: str | None = None) -> None:
    await ui.save(state, draft)
    await state.set_state(Intake.summary)
    await message.answer(ui.led(lead, draft_summary(draft, i18n)), reply_markup=ui.summary_keyboard(draft, i18n))


async def summary_action(query: CallbackQuery, callback_data: SummaryCb, session: AsyncSession, state: FSMContext,
                         i18n: Translator, settings: Settings, locale: str, casework: Casework) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    draft = await ui.load(state)
    if draft is None or draft.id != callback_data.d:
        await _already_sent_or_stale(query, message, callback_data, session, i18n)
        return
    if await state.get_state() not in SUMMARY_STEPS.get(callback_data.a, ()):
        # An older summary's button while an answer is being changed: filing now would drop that answer.
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    if callback_data.a == "confirm":
        await _confirm(query, message, draft, session, state, i18n, settings, locale, casework)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    if callback_data.a == "edit":
        await state.set_state(Intake.edit)
        await message.answer(i18n.t("edit-ask"), reply_markup=ui.edit_keyboard(draft, i18n))
    elif callback_data.a == "evidence":
        from handlers import evidence

        draft.editing = True
        await evidence.ask_evidence(message, state, draft, i18n)
    elif callback_data.a == "identity":
        from handlers import evidence

        await evidence.ask_identity(message, state, draft, i18n)
    elif callback_data.a == "cancel":
        await state.clear()
        await message.answer(i18n.t("report-cancelled"), reply_markup=keyboards.reporter_menu(i18n))
    else:
        await show(message, state, draft, i18n)


async def _already_sent_or_stale(query: CallbackQuery, message: Message, callback_data: SummaryCb,
                                 session: AsyncSession, i18n: Translator) -> None:
    """A second confirm (double tap, redelivery, old message): point at the case the first one made.

    The receipt is sent again: when the process died between saving the case and sending the receipt, the
    redelivered tap lands here, and this is how the reporter learns the code."""
    case = await cases.by_submission(session, callback_data.d)
    if case is not None and case.reporter_id == query.from_user.id:
        await query.answer(i18n.plain("report-already-sent", code=case.code), show_alert=True)
        if callback_data.a == "confirm":
            await _send_receipt(message, case, i18n)
        return
    await query.answer(i18n.plain("callback-stale"), show_alert=True)


async def _confirm(query: CallbackQuery, message: Message, draft: Draft, session: AsyncSession, state: FSMContext,
                   i18n: Translator, settings: Settings, locale: str, casework: Casework) -> None:
    now = utcnow()
    if await reports.recent_count(session, query.from_user.id, now) >= settings.reports_per_hour:
        await query.answer(i18n.plain("rate-limited", limit=str(settings.reports_per_hour)), show_alert=True)
        return
    try:
        submitted = await reports.submit(session, draft, query.from_user.id, locale=locale, now=now, tz=settings.tz,
                                         leak_threshold=settings.leak_threshold,
                                         copy_files=settings.evidence_dir is not None,
                                         ack_window=casework.ack_window)
    except reports.ReportError:
        await query.answer()
        await state.clear()
        await message.answer(i18n.t("draft-lost"), reply_markup=keyboards.reporter_menu(i18n))
        return
    if submitted.created:
        await casework.dispatch(session, submitted.case, now, new=submitted)  # cards go out in this transaction
    await state.clear()
    # The receipt is a promise that the case exists: like every reply it is sent only once the update's
    # transaction has committed (`bot.replies`). A crash before that re-handles the update, which finds the
    # case by its submission key (one case, the same code).
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await _send_receipt(message, submitted.case, i18n)


async def _send_receipt(message: Message, case: Case, i18n: Translator) -> None:
    advice = advice_for(case.incident_type, case.answers)
    await message.answer(i18n.t("receipt", code=case.code, advice=advice_block(advice, i18n)),
                         reply_markup=keyboards.reporter_menu(i18n))


async def edit_pick(query: CallbackQuery, callback_data: EditCb, state: FSMContext, i18n: Translator) -> None:
    draft = await ui.load(state)
    if draft is None or draft.type is None or await state.get_state() != Intake.edit.state \
            or not isinstance(query.message, Message):
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    applicable = {q.key: q for q in applicable_questions(draft.type, draft.answers)}
    question = applicable.get(callback_data.q)
    if question is None:
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    draft.editing = True  # the old answer stays until the new one is given
    await ui.ask(query.message, state, draft, question, i18n)


async def typed_on_summary(message: Message, state: FSMContext, i18n: Translator) -> None:
    draft = await ui.load(state)
    if draft is None:
        await state.clear()
        await message.answer(i18n.t("draft-lost"))
        return
    await message.answer(i18n.t("err-press-button"), reply_markup=ui.summary_keyboard(draft, i18n))


def build() -> Router:
    step = CONVERSATION_STEP  # editing the draft is the reporter's own conversation; confirming it is not
    router = Router(name="summary")
    router.callback_query.filter(CallbackPrefix(SummaryCb, EditCb))
    router.message.filter(PrivateChat())
    router.callback_query.register(summary_action, SummaryCb.filter())
    router.callback_query.register(edit_pick, EditCb.filter(), flags=step)
    router.message.register(typed_on_summary, StateFilter(Intake.summary, Intake.edit), flags=step)
    return router

