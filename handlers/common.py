"""Commands available everywhere in a private chat: help, language, privacy, cancel; and the fallback."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot import consent
from bot.i18n import Catalog, Translator
from handlers import keyboards
from handlers.callbacks import LangCb
from handlers.filters import MenuText, PrivateChat
from handlers.onboarding import begin
from handlers.states import Onboarding
from storage import reporters


async def _menu(session: AsyncSession, user_id: int, i18n: Translator) -> ReplyKeyboardMarkup | None:
    """The reporter menu for someone who agreed to the notice; nothing for anyone else."""
    return keyboards.reporter_menu(i18n) if await consent.has_consented(session, user_id) else None


async def help_(message: Message, session: AsyncSession, i18n: Translator) -> None:
    await message.answer(i18n.t("help-text"), reply_markup=await _menu(session, message.chat.id, i18n))


async def language(message: Message, i18n: Translator) -> None:
    await message.answer(i18n.t("language-choose"), reply_markup=keyboards.languages())


async def set_language(query: CallbackQuery, callback_data: LangCb, session: AsyncSession, state: FSMContext,
                       catalog: Catalog) -> None:
    code = callback_data.code if callback_data.code in catalog.bundles else catalog.default
    profile = await reporters.get(session, query.from_user.id)
    if profile is not None:
        profile.locale = code
    else:
        # Not yet agreed to the notice: keep the choice only in the conversation, which is transient.
        await state.update_data(locale=code)
    i18n = catalog.translator(code)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(i18n.t("language-set"), reply_markup=await _menu(session, query.from_user.id, i18n))


async def privacy(message: Message, session: AsyncSession, state: FSMContext, i18n: Translator) -> None:
    if await consent.has_consented(session, message.chat.id):
        await message.answer(i18n.t("privacy-notice-agreed"), reply_markup=keyboards.withdraw(i18n))
        await message.answer(i18n.t("privacy-notice"))
        return
    await state.set_state(Onboarding.consent)
    await message.answer(i18n.t("privacy-notice"), reply_markup=keyboards.consent(i18n))


async def cancel(message: Message, session: AsyncSession, state: FSMContext, i18n: Translator) -> None:
    had_state = await state.get_state() is not None
    keep = {k: v for k, v in (await state.get_data()).items() if k == "locale"}
    await state.clear()
    if keep:
        await state.set_data(keep)
    await message.answer(i18n.t("cancelled" if had_state else "nothing-to-cancel"),
                         reply_markup=await _menu(session, message.chat.id, i18n))


async def fallback(message: Message, session: AsyncSession, state: FSMContext, i18n: Translator) -> None:
    """Anything no flow expected: never silence. Newcomers see the notice; others get the menu."""
    if not await consent.has_consented(session, message.chat.id):
        await begin(message, session, state, i18n)
        return
    await message.answer(i18n.t("fallback"), reply_markup=keyboards.reporter_menu(i18n))


async def stale_button(query: CallbackQuery, i18n: Translator) -> None:
    """A button from an old message or forged data: say so instead of leaving the spinner running."""
    await query.answer(i18n.plain("callback-stale"), show_alert=True)


def build() -> Router:
    """Commands that work in any step of any flow, so they are matched before the flows."""
    router = Router(name="common")
    router.message.filter(PrivateChat())
    router.message.register(help_, Command("help"))
    router.message.register(help_, MenuText("menu-help"))
    router.message.register(language, Command("language"))
    router.message.register(language, MenuText("menu-language"))
    router.callback_query.register(set_language, LangCb.filter())
    router.message.register(privacy, Command("privacy"))
    router.message.register(cancel, Command("cancel"))
    return router


def build_fallback() -> Router:
    """Matched last: whatever no flow expected still gets an answer."""
    router = Router(name="fallback")
    router.message.filter(PrivateChat())
    router.message.register(fallback)
    router.callback_query.register(stale_button)
    return router
