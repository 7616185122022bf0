"""The reporter's intake conversation: role → type (with immediate advice) → follow-up questions.

The questions come from `bot.intake.FLOWS`; this module only turns presses and typed text into
answers and asks whatever the tables say comes next. Evidence, identity and the summary follow in
`handlers.evidence` and `handlers.summary`.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import reports
from bot.drafts import Draft
from bot.i18n import Translator
from bot.intake import IncidentType, Question, Role, advice_for, parse_answer
from bot.intake.answers import parse_button, skip_answer
from bot.intake.flows import get_question, next_question, pending_question, previous_question
from bot.intake.model import AnswerKind
from bot.presenting import advice_block, type_label
from bot.settings import Settings
from handlers import intake_ui as ui
from handlers.callbacks import AnswerCb, NavCb, ResumeCb, RoleCb, TypeCb
from handlers.filters import CallbackPrefix, HasText, MenuText, NotCommand, NoText, NotInvite, PrivateChat
from handlers.middlewares import CONVERSATION_STEP
from handlers.onboarding import ask_school, begin
from handlers.states import Intake
from storage import reporters
from storage.models import utcnow

MAX_FAILS = 3


async def start_report(message: Message, session: AsyncSession, state: FSMContext, i18n: Translator,
                       settings: Settings) -> None:
    """Menu "Report an incident" or /report: check consent, school and the hourly limit, then begin."""
    user_id = message.chat.id
    profile = await reporters.standing(session, user_id)
    if profile is None or not profile.consented:
        await begin(message, session, state, i18n)
        return
    if profile.unit_id is None:
        await ask_school(message, state, i18n)
        return
    current = await state.get_state()
    if current and current.startswith(Intake.__name__) and await ui.load(state):
        await message.answer(i18n.t("resume-ask"), reply_markup=_resume_keyboard(i18n))
        return
    if await reports.recent_count(session, user_id, utcnow()) >= settings.reports_per_hour:
        await message.answer(i18n.t("rate-limited", limit=str(settings.reports_per_hour)))
        return
    if profile.school_name is None:  # removed from the directory since
        await ask_school(message, state, i18n)
        return
    draft = Draft.new(profile.unit_id, profile.school_name, utcnow(), role=profile.role)
    await state.set_data({"draft": draft.to_dict()})
    await message.answer(i18n.t("report-intro"))
    await _ask_role_or_type(message, state, draft, i18n)


def _resume_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        ui.button(i18n.plain("btn-resume"), ResumeCb(a="continue").pack()),
        ui.button(i18n.plain("btn-restart"), ResumeCb(a="restart").pack()),
    ]])


async def _ask_role_or_type(message: Message, state: FSMContext, draft: Draft, i18n: Translator) -> None:
    await ui.save(state, draft)
    if draft.role is None:
        await state.set_state(Intake.role)
        await message.answer(i18n.t("q-role"), reply_markup=ui.role_keyboard(i18n))
    else:
        await state.set_state(Intake.type)
        await message.answer(i18n.t("q-type"), reply_markup=ui.type_keyboard(i18n))


async def resume_on_start(message: Message, command: CommandObject, state: FSMContext, i18n: Translator) -> None:
    """/start in the middle of a report: offer to continue rather than silently dropping it."""
    await message.answer(i18n.t("resume-ask"), reply_markup=_resume_keyboard(i18n))


async def resume(query: CallbackQuery, callback_data: ResumeCb, session: AsyncSession, state: FSMContext,
                 i18n: Translator, settings: Settings) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):
        return
    await message.edit_reply_markup(reply_markup=None)
    draft = await ui.load(state)
    if callback_data.a == "restart" or draft is None:
        await state.clear()
        await start_report(message, session, state, i18n, settings)
        return
    await reask(message, state, draft, i18n)


async def reask(message: Message, state: FSMContext, draft: Draft, i18n: Translator) -> None:
    """Show the step the draft is at again (after a resume, a stale press or a restart)."""
    from handlers import evidence, summary

    current = await state.get_state()
    if current == Intake.evidence.state:
        await evidence.ask_evidence(message, state, draft, i18n)
    elif current in (Intake.identity.state, Intake.contact.state):
        await evidence.ask_identity(message, state, draft, i18n)
    elif current in (Intake.summary.state, Intake.edit.state):
        await summary.show(message, state, draft, i18n)
    elif draft.type is not None and draft.current is not None:
        await ui.ask(message, state, draft, get_question(draft.type, draft.current), i18n)
    else:
        await _ask_role_or_type(message, state, draft, i18n)


async def pick_role(query: CallbackQuery, callback_data: RoleCb, session: AsyncSession, state: FSMContext,
                    i18n: Translator) -> None:
    draft = await ui.load(state)
    if draft is None or await state.get_state() != Intake.role.state \
            or callback_data.role not in {r.value for r in Role}:
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    await query.answer()
    draft.role = callback_data.role
    await reporters.remember_role(session, query.from_user.id, draft.role)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await _ask_role_or_type(query.message, state, draft, i18n)


async def pick_type(query: CallbackQuery, callback_data: TypeCb, state: FSMContext, i18n: Translator) -> None:
    draft = await ui.load(state)
    if draft is None or await state.get_state() != Intake.type.state \
            or callback_data.type not in {t.value for t in IncidentType}:
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    await query.answer()
    if draft.type != callback_data.type:
        draft.answers, draft.advice_shown = {}, []
    draft.type = callback_data.type
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        chosen = i18n.t("type-chosen", type=type_label(draft.type, i18n))
        await _continue(query.message, state, draft, None, i18n, lead=chosen)


async def typed_role_or_type(message: Message, state: FSMContext, session: AsyncSession, i18n: Translator) -> None:
    """Typing instead of pressing on the role or type question: match the labels, else re-show buttons."""
    from bot.intake.flows import ROLE_QUESTION, TYPE_QUESTION

    draft = await ui.load(state)
    is_role = await state.get_state() == Intake.role.state
    question = ROLE_QUESTION if is_role else TYPE_QUESTION
    parsed = parse_answer(question, message.text or "", choice_labels=_labels(question, i18n))
    if draft is None or not parsed.ok:
        keyboard = ui.role_keyboard(i18n) if is_role else ui.type_keyboard(i18n)
        await message.answer(i18n.t("err-press-button"), reply_markup=keyboard)
        return
    if is_role:
        draft.role = parsed.value
        await reporters.remember_role(session, message.chat.id, draft.role)
        await _ask_role_or_type(message, state, draft, i18n)
        return
    draft.type, draft.answers, draft.advice_shown = parsed.value, {}, []
    chosen = i18n.t("type-chosen", type=type_label(draft.type, i18n))
    await _continue(message, state, draft, None, i18n, lead=chosen)


def _labels(question: Question, i18n: Translator) -> dict[str, list[str]]:
    return {choice: i18n.labels(question.choice_label_id(choice)) for choice in question.choices}


async def _continue(message: Message, state: FSMContext, draft: Draft, after: str | None, i18n: Translator,
                    *, lead: str | None = None) -> None:
    """Show any new safety advice, then ask the next question, or move on to evidence or the summary.
    `lead` (what was just noted) opens the first of those messages: one message per step, not two."""
    from handlers import evidence, summary

    lead = await _show_new_advice(message, draft, i18n, lead)
    draft.fails, draft.selection = 0, []
    assert draft.type is not None
    if draft.editing:
        upcoming = pending_question(draft.type, draft.answers)
    else:
        upcoming = next_question(draft.type, draft.answers, after)
    if upcoming is not None:
        await ui.ask(message, state, draft, upcoming, i18n, lead=lead)
        return
    draft.current = None
    if draft.editing:
        draft.editing = False
        await summary.show(message, state, draft, i18n, lead=lead)
    else:
        await evidence.ask_evidence(message, state, draft, i18n, lead=lead)


async def _show_new_advice(message: Message, draft: Draft, i18n: Translator, lead: str | None) -> str | None:
    """Safety advice as soon as it applies (a child in danger: 113/111 at once), each piece once, in a
    message of its own that `lead` opens. Returns the lead when it is still to be said."""
    assert draft.type is not None
    fresh = [key for key in advice_for(draft.type, draft.answers) if key not in draft.advice_shown]
    if not fresh:
        return lead
    draft.advice_shown += fresh
    await message.answer(ui.led(lead, advice_block(fresh, i18n)))
    return None


async def _current(state: FSMContext, key: str | None = None) -> tuple[Draft, Question] | None:
    """The draft and the question it is waiting for; None if `key` names another (stale) question."""
    draft = await ui.load(state)
    if draft is None or draft.type is None or draft.current is None:
        return None
    if key is not None and key != draft.current:
        return None
    try:
        return draft, get_question(draft.type, draft.current)
    except KeyError:
        return None


async def answer_button(query: CallbackQuery, callback_data: AnswerCb, state: FSMContext, i18n: Translator) -> None:
    found = await _current(state, callback_data.q)
    if found is None or not isinstance(query.message, Message):
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    draft, question = found
    if question.kind == AnswerKind.MULTI:
        if callback_data.v not in question.choices:
            await query.answer(i18n.plain("callback-stale"), show_alert=True)
            return
        toggled = set(draft.selection) ^ {callback_data.v}
        draft.selection = [c for c in question.choices if c in toggled]
        await ui.save(state, draft)
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=ui.question_keyboard(question, draft, i18n))
        return
    parsed = parse_button(question, callback_data.v, now=utcnow())
    if not parsed.ok:
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await _record(query.message, state, draft, question, parsed.value, i18n)


async def _record(message: Message, state: FSMContext, draft: Draft, question: Question, value: object,
                  i18n: Translator) -> None:
    draft.answers[question.key] = value
    await _continue(message, state, draft, question.key, i18n, lead=i18n.t("answer-recorded"))


async def answer_text(message: Message, state: FSMContext, i18n: Translator) -> None:
    found = await _current(state)
    if found is None:
        await state.clear()
        await message.answer(i18n.t("draft-lost"))
        return
    draft, question = found
    labels = _labels(question, i18n) if question.choices else None
    parsed = parse_answer(question, message.text or "", now=utcnow(), choice_labels=labels)
    if parsed.ok:
        await _record(message, state, draft, question, parsed.value, i18n)
        return
    draft.fails += 1
    await ui.save(state, draft)
    error = i18n.t(parsed.error or "err-generic", **parsed.args)
    if draft.fails >= MAX_FAILS:
        await message.answer(error + "\n\n" + i18n.t("err-many-tries"),
                             reply_markup=ui.question_keyboard(question, draft, i18n, offer_skip=True))
        return
    await message.answer(error, reply_markup=ui.question_keyboard(question, draft, i18n))


async def answer_not_text(message: Message, state: FSMContext, i18n: Translator) -> None:
    """A sticker, voice or photo where an answer was expected: explain, and keep the question."""
    found = await _current(state)
    if found is None:
        await state.clear()
        await message.answer(i18n.t("draft-lost"))
        return
    draft, question = found
    key = "err-not-text-photo" if message.photo or message.document or message.video else "err-not-text"
    await message.answer(i18n.t(key), reply_markup=ui.question_keyboard(question, draft, i18n))


async def navigate(query: CallbackQuery, callback_data: NavCb, state: FSMContext, i18n: Translator) -> None:
    if callback_data.a == "cancel":
        await cancel_report(query, state, i18n)
        return
    found = await _current(state, callback_data.q)
    message = query.message
    if found is None or not isinstance(message, Message):
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    draft, question = found
    if callback_data.a == "done" and question.kind == AnswerKind.MULTI:
        parsed = parse_button(question, draft.selection)
        if not parsed.ok:
            await query.answer(i18n.plain("err-choose-one"), show_alert=True)
            return
        await query.answer()
        await message.edit_reply_markup(reply_markup=None)
        await _record(message, state, draft, question, parsed.value, i18n)
        return
    if callback_data.a == "skip" and (question.optional or draft.fails >= MAX_FAILS):
        await query.answer()
        await message.edit_reply_markup(reply_markup=None)
        value = skip_answer(question).value
        await _record(message, state, draft, question, value, i18n)
        return
    if callback_data.a == "back":
        await query.answer()
        await message.edit_reply_markup(reply_markup=None)
        await go_back(message, state, draft, question, i18n)
        return
    await query.answer(i18n.plain("callback-stale"), show_alert=True)


async def go_back(message: Message, state: FSMContext, draft: Draft, question: Question, i18n: Translator) -> None:
    assert draft.type is not None
    earlier = previous_question(draft.type, draft.answers, question.key)
    draft.fails, draft.selection = 0, []
    if earlier is None:
        draft.current = None
        await state.set_state(Intake.type)
        await ui.save(state, draft)
        await message.answer(i18n.t("q-type"), reply_markup=ui.type_keyboard(i18n))
        return
    await ui.ask(message, state, draft, earlier, i18n)


async def cancel_report(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    from handlers import keyboards

    await query.answer()
    await state.clear()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(i18n.t("report-cancelled"), reply_markup=keyboards.reporter_menu(i18n))


def build() -> Router:
    step = CONVERSATION_STEP  # every handler here moves the reporter's own conversation on (handlers.middlewares)
    router = Router(name="intake")
    router.callback_query.filter(CallbackPrefix(ResumeCb, RoleCb, TypeCb, AnswerCb, NavCb))
    router.message.filter(PrivateChat())
    router.message.register(start_report, Command("report"), flags=step)
    router.message.register(start_report, MenuText("menu-report"), flags=step)
    # /start (or the school poster scanned again) mid-report offers to continue; an invite still redeems.
    router.message.register(resume_on_start, CommandStart(), StateFilter(Intake), NotInvite(), flags=step)
    router.callback_query.register(resume, ResumeCb.filter(), flags=step)
    router.callback_query.register(pick_role, RoleCb.filter(), flags=step)
    router.callback_query.register(pick_type, TypeCb.filter(), flags=step)
    router.callback_query.register(answer_button, AnswerCb.filter(), flags=step)
    router.callback_query.register(navigate, NavCb.filter(), flags=step)
    router.message.register(typed_role_or_type, StateFilter(Intake.role, Intake.type), NotCommand(), flags=step)
    router.message.register(answer_text, StateFilter(Intake.question), HasText(), NotCommand(), flags=step)
    router.message.register(answer_not_text, StateFilter(Intake.question), NoText(), flags=step)
    return router
