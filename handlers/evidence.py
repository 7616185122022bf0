"""Evidence (photos, files, videos, forwarded messages, links, pasted text) and the identity choice.

An album arrives as several updates; each item is stored as it comes, and one reply is sent for the
whole album once its updates stop arriving.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove

from bot.drafts import Draft, EvidenceItem
from bot.i18n import Translator
from bot.intake import match_choice
from bot.intake.links import find_urls
from bot.intake.phones import parse_phones
from bot.settings import Settings
from bot.text import fold
from handlers import intake_ui as ui
from handlers.callbacks import AnonCb, EvidenceCb
from handlers.filters import CallbackPrefix, NotCommand, PrivateChat
from handlers.middlewares import CONVERSATION_STEP
from handlers.states import Intake
from storage.db import current_session

log = logging.getLogger(__name__)
MAX_FILE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
MAX_TEXT = 4000
ALBUM_SETTLE_SECONDS = 1.0
DONE_WORDS = frozenset({"xong", "da xong", "done", "het", "hoan tat", "tiep", "tiep tuc", "khong", "khong co",
                        "finish", "next", "no"})
ACCEPTED_DOCUMENTS = ("image/", "application/pdf", "video/", "text/", "application/msword",
                      "application/vnd.openxmlformats-officedocument", "application/vnd.ms-excel",
                      "application/vnd.oasis.opendocument")
_pending_albums: dict[str, asyncio.Task[None]] = {}


async def ask_evidence(message: Message, state: FSMContext, draft: Draft, i18n: Translator, *,
                       lead: str | None = None) -> None:
    await ui.save(state, draft)
    await state.set_state(Intake.evidence)
    await message.answer(ui.led(lead, i18n.t("evidence-ask")), reply_markup=ui.evidence_keyboard(draft, i18n))


def _origin(message: Message) -> str | None:
    origin = message.forward_origin
    if origin is None:
        return None
    name = (getattr(getattr(origin, "sender_user", None), "full_name", None)
            or getattr(origin, "sender_user_name", None)
            or getattr(getattr(origin, "sender_chat", None), "title", None)
            or getattr(getattr(origin, "chat", None), "title", None)
            or origin.type)
    return f"{name} ({origin.date:%d/%m/%Y %H:%M} UTC)"[:255]


def _items(message: Message) -> tuple[list[EvidenceItem], str | None]:
    """Evidence items in a message, or an error id explaining why it cannot be taken."""
    origin = _origin(message)
    caption = (message.caption or "")[:MAX_TEXT] or None
    group = message.media_group_id
    if message.photo:
        photo = message.photo[-1]
        return [EvidenceItem("photo", photo.file_id, photo.file_unique_id, size=photo.file_size,
                             media_group_id=group, text=caption, origin=origin)], None
    if message.video:
        video = message.video
        if (video.file_size or 0) > MAX_FILE_BYTES:
            return [], "evidence-too-big"
        return [EvidenceItem("video", video.file_id, video.file_unique_id, video.file_name, video.mime_type,
                             video.file_size, group, caption, origin)], None
    if message.document:
        doc = message.document
        if (doc.file_size or 0) > MAX_FILE_BYTES:
            return [], "evidence-too-big"
        if not (doc.mime_type or "").startswith(ACCEPTED_DOCUMENTS):
            return [], "evidence-bad-file"
        return [EvidenceItem("document", doc.file_id, doc.file_unique_id, (doc.file_name or "")[:255] or None,
                             doc.mime_type, doc.file_size, group, caption, origin)], None
    if message.text:
        text = message.text[:MAX_TEXT]
        if origin:
            return [EvidenceItem("forward", text=text, origin=origin)], None
        links = [EvidenceItem("link", text=url) for url in find_urls(text)]
        return links or [EvidenceItem("text", text=text)], None
    return [], "evidence-unsupported"


async def receive(message: Message, state: FSMContext, i18n: Translator, settings: Settings) -> None:
    draft = await ui.load(state)
    if draft is None:
        await state.clear()
        await message.answer(i18n.t("draft-lost"))
        return
    if message.text and not message.forward_origin and fold(message.text) in DONE_WORDS:
        await finish(message, state, draft, i18n)
        return
    items, error = _items(message)
    if error:
        await message.answer(i18n.t(error), reply_markup=ui.evidence_keyboard(draft, i18n))
        return
    room = settings.max_evidence - len(draft.evidence)
    if room <= 0:
        await message.answer(i18n.t("evidence-full", max=str(settings.max_evidence)),
                             reply_markup=ui.evidence_keyboard(draft, i18n))
        return
    draft.evidence += items[:room]  # files are copied once the case exists (bot.evidence_copies), not here
    await ui.save(state, draft)
    if message.media_group_id:
        _reply_once_for_album(message, state, i18n, settings)
        return
    await message.answer(_received_text(draft, i18n, settings), reply_markup=ui.evidence_keyboard(draft, i18n))


def _received_text(draft: Draft, i18n: Translator, settings: Settings) -> str:
    text = i18n.t("evidence-received", count=str(len(draft.evidence)), max=str(settings.max_evidence))
    if len(draft.evidence) >= settings.max_evidence:
        text += "\n" + i18n.t("evidence-full", max=str(settings.max_evidence))
    return text


def _reply_once_for_album(message: Message, state: FSMContext, i18n: Translator, settings: Settings) -> None:
    """Debounce: each new item of the album restarts the timer; the reply counts the whole batch."""
    key = f"{message.chat.id}:{message.media_group_id}"
    previous = _pending_albums.pop(key, None)
    if previous is not None:
        previous.cancel()

    async def reply_later() -> None:
        # The task copied the update's context; its session is closed by now, so use fresh ones.
        current_session.set(None)
        await asyncio.sleep(ALBUM_SETTLE_SECONDS)
        _pending_albums.pop(key, None)
        draft = await ui.load(state)
        if draft is None or await state.get_state() != Intake.evidence.state:
            return
        count = sum(1 for item in draft.evidence if item.media_group_id == message.media_group_id)
        text = i18n.t("evidence-album", count=str(count)) + "\n" + _received_text(draft, i18n, settings)
        try:
            await message.answer(text, reply_markup=ui.evidence_keyboard(draft, i18n))
        except Exception as exc:  # the items are saved; only the courtesy reply is lost
            log.warning("album reply failed: %r", exc)

    _pending_albums[key] = asyncio.create_task(reply_later())


async def settle_albums() -> None:
    """Wait until every pending album reply has gone out (graceful shutdown, tests)."""
    while _pending_albums:
        await asyncio.gather(*list(_pending_albums.values()), return_exceptions=True)


async def evidence_button(query: CallbackQuery, callback_data: EvidenceCb, state: FSMContext,
                          i18n: Translator) -> None:
    draft = await ui.load(state)
    if draft is None or await state.get_state() != Intake.evidence.state or not isinstance(query.message, Message):
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await finish(query.message, state, draft, i18n)


async def finish(message: Message, state: FSMContext, draft: Draft, i18n: Translator) -> None:
    from handlers import summary

    if draft.editing:
        draft.editing = False
        await summary.show(message, state, draft, i18n)
        return
    await ask_identity(message, state, draft, i18n)


async def ask_identity(message: Message, state: FSMContext, draft: Draft, i18n: Translator) -> None:
    await ui.save(state, draft)
    await state.set_state(Intake.identity)
    await message.answer(i18n.t("identity-ask"), reply_markup=ui.identity_keyboard(i18n))


async def identity_button(query: CallbackQuery, callback_data: AnonCb, state: FSMContext, i18n: Translator) -> None:
    from handlers import summary

    draft = await ui.load(state)
    current = await state.get_state()
    if draft is None or current not in (Intake.identity.state, Intake.contact.state) \
            or not isinstance(query.message, Message):
        await query.answer(i18n.plain("callback-stale"), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.a == "share":
        await state.set_state(Intake.contact)
        await query.message.answer(i18n.t("contact-ask"), reply_markup=ui.contact_keyboard(i18n))
        return
    draft.anonymous, draft.contact_name, draft.contact_phone = True, None, None
    await summary.show(query.message, state, draft, i18n)


async def identity_typed(message: Message, state: FSMContext, i18n: Translator) -> None:
    """Typing a choice instead of pressing it works here as on every other step."""
    from handlers import summary

    labels = {"anon": i18n.labels("btn-anonymous") + i18n.labels("btn-stay-anonymous"),
              "share": i18n.labels("btn-share-identity")}
    choice = match_choice(message.text or "", labels) if message.text else None
    draft = await ui.load(state)
    if choice is None or draft is None:
        await message.answer(i18n.t("err-press-button"), reply_markup=ui.identity_keyboard(i18n))
        return
    if choice == "share":
        await state.set_state(Intake.contact)
        await message.answer(i18n.t("contact-ask"), reply_markup=ui.contact_keyboard(i18n))
        return
    draft.anonymous, draft.contact_name, draft.contact_phone = True, None, None
    await summary.show(message, state, draft, i18n)


async def contact(message: Message, state: FSMContext, i18n: Translator) -> None:
    """The shared contact (button) or a typed phone number; a contact card of someone else is refused."""
    from handlers import summary

    draft = await ui.load(state)
    if draft is None:
        await state.clear()
        await message.answer(i18n.t("draft-lost"), reply_markup=ReplyKeyboardRemove())
        return
    user = message.from_user
    if message.text and message.text.strip() in i18n.labels("btn-stay-anonymous"):
        draft.anonymous, draft.contact_name, draft.contact_phone = True, None, None
    elif message.contact is not None:
        if user is None or message.contact.user_id != user.id:
            await message.answer(i18n.t("contact-not-own"), reply_markup=ui.contact_keyboard(i18n))
            return
        phones = parse_phones(message.contact.phone_number)
        draft.anonymous = False
        draft.contact_phone = phones[0] if phones else message.contact.phone_number[:32]
        draft.contact_name = " ".join(p for p in (message.contact.first_name, message.contact.last_name) if p)[:128]
    elif message.text and (phones := parse_phones(message.text)):
        draft.anonymous, draft.contact_phone = False, phones[0]
        draft.contact_name = (user.full_name if user else "")[:128]
    else:
        await message.answer(i18n.t("contact-invalid"), reply_markup=ui.contact_keyboard(i18n))
        return
    await message.answer(i18n.t("contact-noted"), reply_markup=ReplyKeyboardRemove())
    await summary.show(message, state, draft, i18n)


def build() -> Router:
    step = CONVERSATION_STEP  # every handler here moves the reporter's own conversation on (handlers.middlewares)
    router = Router(name="evidence")
    router.callback_query.filter(CallbackPrefix(EvidenceCb, AnonCb))
    router.message.filter(PrivateChat())
    router.callback_query.register(evidence_button, EvidenceCb.filter(), flags=step)
    router.callback_query.register(identity_button, AnonCb.filter(), flags=step)
    router.message.register(receive, StateFilter(Intake.evidence), NotCommand(), flags=step)
    router.message.register(contact, StateFilter(Intake.contact), NotCommand(), flags=step)
    router.message.register(identity_typed, StateFilter(Intake.identity), flags=step)
    return router
