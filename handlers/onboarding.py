"""First contact: deep links (responder invites, school posters), the privacy notice, finding the school."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from bot import consent, deeplinks, invites
from bot.i18n import Translator
from bot.text import fold
from handlers import keyboards
from handlers.callbacks import ConsentCb, SchoolCb
from handlers.filters import CallbackPrefix, HasText, MenuText, NotCommand, NoText, PrivateChat
from handlers.states import Onboarding
from storage import reporters, units

MIN_QUERY = 2
MAX_QUERY = 100


async def start(message: Message, command: CommandObject, session: AsyncSession, state: FSMContext,
                i18n: Translator) -> None:
    payload = deeplinks.parse(command.args)
    if payload is not None and payload.kind == "invite":
        await _redeem_invite(message, payload.token, session, i18n)
        return
    school = None
    if payload is not None and payload.kind == "school":
        school = await units.school_by_token(session, payload.token)
    if payload is not None and school is None:
        await message.answer(i18n.t("start-link-invalid"))
    await begin(message, session, state, i18n, school_id=school.id if school else None)


async def begin(message: Message, session: AsyncSession, state: FSMContext, i18n: Translator,
                school_id: int | None = None) -> None:
    """Greet a reporter: the notice if they have not agreed yet, else their school or the school search."""
    user_id = message.chat.id
    profile = await reporters.get(session, user_id)
    if profile is None or profile.consent_version is None:
        data = await state.get_data()
        await state.set_state(Onboarding.consent)
        await state.set_data({"locale": data.get("locale"), "school_id": school_id})
        if school_id is not None:
            school = await units.by_id(session, school_id)
            await message.answer(i18n.t("start-greeting-school", school=school.name if school else ""))
        else:
            await message.answer(i18n.t("start-greeting"))
        await message.answer(i18n.t("privacy-notice"), reply_markup=keyboards.consent(i18n))
        return
    await state.clear()
    if school_id is not None:
        profile.unit_id = school_id
    if profile.unit_id is None:
        await ask_school(message, state, i18n)
        return
    school = await units.by_id(session, profile.unit_id)
    await message.answer(i18n.t("welcome-back", school=school.name if school else ""),
                         reply_markup=keyboards.reporter_menu(i18n))


async def ask_school(message: Message, state: FSMContext, i18n: Translator) -> None:
    await state.set_state(Onboarding.school)
    await message.answer(i18n.t("school-ask"))


async def _redeem_invite(message: Message, token: str, session: AsyncSession, i18n: Translator) -> None:
    user = message.from_user
    name = user.full_name if user else ""
    result = await invites.redeem(session, token, message.chat.id, name)
    role = i18n.plain(f"role-{result.role}") if result.role else ""
    unit = result.unit.name if result.unit else ""
    await message.answer(i18n.t(f"invite-{result.outcome.value.replace('_', '-')}", role=role, unit=unit))


async def agree(query: CallbackQuery, session: AsyncSession, state: FSMContext, i18n: Translator,
                locale: str) -> None:
    data = await state.get_data()
    school_id = data.get("school_id")
    await consent.agree(session, query.from_user.id, locale=locale, unit_id=school_id)
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(i18n.t("consent-thanks"))
        if school_id is None:
            await ask_school(query.message, state, i18n)
        else:
            school = await units.by_id(session, school_id)
            await query.message.answer(i18n.t("school-chosen", school=school.name if school else ""),
                                       reply_markup=keyboards.reporter_menu(i18n))


async def decline(query: CallbackQuery, state: FSMContext, i18n: Translator) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(i18n.t("consent-declined"))


async def withdraw(query: CallbackQuery, session: AsyncSession, state: FSMContext, i18n: Translator) -> None:
    await consent.withdraw(session, query.from_user.id)
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(i18n.t("privacy-withdrawn"), reply_markup=ReplyKeyboardRemove())


async def consent_pending(message: Message, i18n: Translator) -> None:
    """Typing instead of pressing on the notice: repeat it, with the buttons."""
    await message.answer(i18n.t("consent-press-button"), reply_markup=keyboards.consent(i18n))


async def search_school(message: Message, session: AsyncSession, i18n: Translator) -> None:
    query = (message.text or "").strip()
    if len(fold(query)) < MIN_QUERY:
        await message.answer(i18n.t("school-query-short"))
        return
    if len(query) > MAX_QUERY:
        await message.answer(i18n.t("school-query-long"))
        return
    found = await units.search_schools(session, query)
    if not found:
        await message.answer(i18n.t("school-not-found", query=query))
        return
    await message.answer(i18n.t("school-choose"), reply_markup=keyboards.schools(found))


async def school_not_text(message: Message, i18n: Translator) -> None:
    await message.answer(i18n.t("school-text-only"))


async def pick_school(query: CallbackQuery, callback_data: SchoolCb, session: AsyncSession, state: FSMContext,
                      i18n: Translator) -> None:
    school = await units.by_id(session, callback_data.unit_id)
    profile = await reporters.get(session, query.from_user.id)
    if school is None or school.kind != units.SCHOOL:
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    if profile is None or profile.consent_version is None:
        await query.answer()
        if isinstance(query.message, Message):
            await begin(query.message, session, state, i18n, school_id=school.id)
        return
    profile.unit_id = school.id
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(i18n.t("school-chosen", school=school.name),
                                   reply_markup=keyboards.reporter_menu(i18n))


async def change_school(message: Message, state: FSMContext, session: AsyncSession, i18n: Translator) -> None:
    if not await consent.has_consented(session, message.chat.id):
        await begin(message, session, state, i18n)
        return
    await ask_school(message, state, i18n)


def build() -> Router:
    """Commands and buttons first, then what is typed while a step waits for text."""
    router = Router(name="onboarding")
    router.callback_query.filter(CallbackPrefix(ConsentCb, SchoolCb))
    router.message.filter(PrivateChat())
    router.message.register(start, CommandStart())
    router.message.register(change_school, Command("school"))
    router.message.register(change_school, MenuText("menu-school"))
    router.callback_query.register(agree, ConsentCb.filter(F.action == "agree"))
    router.callback_query.register(decline, ConsentCb.filter(F.action == "decline"))
    router.callback_query.register(withdraw, ConsentCb.filter(F.action == "withdraw"))
    router.callback_query.register(pick_school, SchoolCb.filter())
    router.message.register(consent_pending, StateFilter(Onboarding.consent))
    router.message.register(search_school, StateFilter(Onboarding.school), HasText(), NotCommand())
    router.message.register(school_not_text, StateFilter(Onboarding.school), NoText())
    return router
