"""The Telegram side of delivery: one outbox row → one Bot API call (or a few, for mixed albums).

Payloads are plain JSON written by domain code that knows nothing of aiogram:

- message | card | status | relay | reminder | notice:
  ``{"text": html, "buttons": [[{"text", "data"} | {"text", "url"}]] | None, "thread_id": int | None,
  "disable_preview": bool}`` → sendMessage (parse_mode HTML)
- edit: ``{"message_id", "text", "buttons"}`` → editMessageText; "message is not modified" is success
- media: ``{"items": [{"type": "photo"|"video"|"document", "file_id"}], "thread_id", "caption"?}`` →
  sendMediaGroup for 2–10 photos/videos (documents go in their own album), sendPhoto/-Video/-Document
  for a single one
- topic: ``{"title"}`` → createForumTopic; the new message_thread_id is returned as `message_id`
- replies: ``{"calls": [{"method", "params"}]}`` → the calls a handler made, in order (`bot.replies`: left
  here by a process that died before sending them, or that Telegram kept refusing)

Telegram's answers become a `SendResult`: 429 → retry_after; 403, "chat not found", "user is deactivated",
"bot was kicked" → permanent with `recipient_gone`; "message thread not found" → permanent with
`thread_gone`; other 400s → permanent (a bug in what we sent); 5xx, network errors, timeouts →
transient. Error texts are Telegram's descriptions, without chat ids or message text.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    InputMediaVideo,
    LinkPreviewOptions,
    Message,
)

from bot import replies
from bot.delivery import SendResult
from bot.evidence_copies import Fetch, Unavailable

log = logging.getLogger(__name__)

TEXT_KINDS = frozenset({"message", "card", "status", "relay", "reminder", "notice"})
NOT_MODIFIED = "message is not modified"
RECIPIENT_GONE = (
    "chat not found",
    "user is deactivated",
    "bot was kicked",
    "bot was blocked",
    "bot is not a member",
    "peer_id_invalid",
    "chat_write_forbidden",
    "have no rights to send a message",
    "not enough rights to send",
    "group chat was upgraded to a supergroup",
)
THREAD_GONE = ("message thread not found", "topic_deleted", "topic_closed", "topic_id_invalid")
ALBUM_SIZE = 10
_INPUT_MEDIA = {"photo": InputMediaPhoto, "video": InputMediaVideo, "document": InputMediaDocument}


class PayloadError(ValueError):
    """The payload cannot be turned into a request (a bug in the code that wrote it)."""


def keyboard(buttons: Any) -> InlineKeyboardMarkup | None:
    """Inline keyboard from ``[[{"text", "data"} | {"text", "url"}]]``; None for no buttons."""
    if not buttons:
        return None
    rows = []
    for row in buttons:
        line = []
        for button in row:
            if "data" in button:
                line.append(InlineKeyboardButton(text=button["text"], callback_data=button["data"]))
            elif "url" in button:
                line.append(InlineKeyboardButton(text=button["text"], url=button["url"]))
            else:
                raise PayloadError("a button needs 'data' or 'url'")
        if line:
            rows.append(line)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def media_chunks(items: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Photos and videos together, documents apart (Telegram cannot mix them), at most 10 per album."""
    visual = [item for item in items if item.get("type") in ("photo", "video")]
    documents = [item for item in items if item.get("type") not in ("photo", "video")]
    chunks = []
    for group in (visual, documents):
        chunks += [group[i : i + ALBUM_SIZE] for i in range(0, len(group), ALBUM_SIZE)]
    return chunks


def classify_bad_request(description: str) -> SendResult:
    text = description.lower()
    if any(marker in text for marker in RECIPIENT_GONE):
        return SendResult.refused(description, recipient_gone=True)
    if any(marker in text for marker in THREAD_GONE):
        return SendResult.refused(description, thread_gone=True)
    return SendResult.refused(description)


class TelegramSender:
    """Implements `bot.delivery.Sender` with an aiogram `Bot`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        # Albums already delivered for a media row that then failed part-way, so a retry (in this process)
        # does not send them again: row key -> (chunk indexes done, first message id).
        self._media_progress: dict[str, tuple[set[int], int | None]] = {}
        self._progress: dict[str, int] = {}  # replies rows: the first call not made yet

    async def send(self, item: Any) -> SendResult:
        try:
            message_id = await self._call(item)
        except TelegramRetryAfter as exc:
            return SendResult.flood(exc.retry_after, f"Too Many Requests: retry after {exc.retry_after}")
        except TelegramMigrateToChat as exc:
            return SendResult.refused(f"group migrated to supergroup {exc.migrate_to_chat_id}", recipient_gone=True)
        except TelegramForbiddenError as exc:
            return SendResult.refused(exc.message, recipient_gone=True)
        except TelegramBadRequest as exc:
            if item.kind == "edit" and NOT_MODIFIED in exc.message.lower():
                return SendResult.sent((item.payload or {}).get("message_id"))
            return classify_bad_request(exc.message)
        except TelegramEntityTooLarge as exc:
            return SendResult.refused(f"entity too large: {exc.message}")
        except (TelegramServerError, TelegramNetworkError, ClientDecodeError, TimeoutError) as exc:
            return SendResult.transient(_describe(exc))
        except TelegramAPIError as exc:  # 401, 404, 409: not the recipient's fault; let the backoff ride it out
            return SendResult.transient(_describe(exc))
        except (PayloadError, KeyError, TypeError, ValueError) as exc:
            return SendResult.refused(f"bad payload for kind {item.kind!r}: {type(exc).__name__}: {exc}")
        return SendResult.sent(message_id)

    async def _call(self, item: Any) -> int | None:
        payload: dict[str, Any] = item.payload or {}
        kind = item.kind
        if kind in TEXT_KINDS:
            sent = await self.bot.send_message(
                chat_id=item.chat_id,
                text=payload["text"],
                parse_mode="HTML",
                reply_markup=keyboard(payload.get("buttons")),
                message_thread_id=payload.get("thread_id"),
                link_preview_options=LinkPreviewOptions(is_disabled=True) if payload.get("disable_preview") else None,
            )
            return sent.message_id
        if kind == "edit":
            edited = await self.bot.edit_message_text(
                chat_id=item.chat_id,
                message_id=payload["message_id"],
                text=payload["text"],
                parse_mode="HTML",
                reply_markup=keyboard(payload.get("buttons")),
                link_preview_options=LinkPreviewOptions(is_disabled=True) if payload.get("disable_preview") else None,
            )
            return edited.message_id if isinstance(edited, Message) else payload["message_id"]
        if kind == "media":
            return await self._media(item, payload)
        if kind == replies.KIND:
            return await self._replies(item, payload)
        if kind == "topic":
            topic = await self.bot.create_forum_topic(chat_id=item.chat_id, name=str(payload["title"])[:128])
            return topic.message_thread_id
        raise PayloadError(f"unknown outbox kind {kind!r}")

    async def _replies(self, item: Any, payload: dict[str, Any]) -> None:
        """A handler's calls in order; a retry starts at the call that failed, not again from the first."""
        calls = [replies.decode(call) for call in payload.get("calls") or []]
        key = str(getattr(item, "key", None) or getattr(item, "id", ""))
        try:
            await replies.send_calls(self.bot, calls, start=self._progress.pop(key, 0))
        except replies.Interrupted as stop:
            self._progress[key] = stop.index
            raise stop.__cause__ from None  # type: ignore[misc]
        return None

    async def _media(self, item: Any, payload: dict[str, Any]) -> int | None:
        items = payload.get("items") or []
        if not items:
            raise PayloadError("a media row needs items")
        for entry in items:
            if entry.get("type") not in _INPUT_MEDIA or not entry.get("file_id"):
                raise PayloadError("media items need a type (photo, video, document) and a file_id")
        key = str(getattr(item, "key", None) or getattr(item, "id", ""))
        done, first_id = self._media_progress.get(key, (set(), None))
        thread_id = payload.get("thread_id")
        caption = payload.get("caption")
        try:
            for index, chunk in enumerate(media_chunks(items)):
                if index in done:
                    continue
                chunk_caption = caption if index == 0 else None
                message_id = await self._send_chunk(item.chat_id, chunk, thread_id, chunk_caption)
                first_id = first_id if first_id is not None else message_id
                done.add(index)
        except (TelegramServerError, TelegramNetworkError, TelegramRetryAfter, ClientDecodeError, TimeoutError):
            if done:
                self._media_progress[key] = (done, first_id)
            raise
        except BaseException:
            self._media_progress.pop(key, None)
            raise
        self._media_progress.pop(key, None)
        return first_id

    async def _send_chunk(
        self, chat_id: int, chunk: list[dict[str, Any]], thread_id: int | None, caption: str | None
    ) -> int:
        options: dict[str, Any] = {"chat_id": chat_id, "message_thread_id": thread_id}
        if len(chunk) == 1:
            entry = chunk[0]
            if caption:
                options.update(caption=caption, parse_mode="HTML")
            if entry["type"] == "photo":
                sent = await self.bot.send_photo(photo=entry["file_id"], **options)
            elif entry["type"] == "video":
                sent = await self.bot.send_video(video=entry["file_id"], **options)
            else:
                sent = await self.bot.send_document(document=entry["file_id"], **options)
            return sent.message_id
        media = []
        for position, entry in enumerate(chunk):
            extra = {"caption": caption, "parse_mode": "HTML"} if caption and position == 0 else {}
            media.append(_INPUT_MEDIA[entry["type"]](media=entry["file_id"], **extra))
        messages = await self.bot.send_media_group(media=media, **options)
        return messages[0].message_id


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TelegramAPIError):
        return f"{type(exc).__name__}: {exc.message}"
    if isinstance(exc, asyncio.TimeoutError):
        return "TimeoutError: request timed out"
    return f"{type(exc).__name__}: {exc}"


def file_fetcher(bot: Bot) -> Fetch:
    """`bot.evidence_copies`' fetch: getFile, then the file itself. Telegram refusing the file (too big, an
    unknown id) is final; anything else is worth another attempt."""

    async def fetch(file_id: str, destination: Path) -> None:
        try:
            await bot.download(file_id, destination=destination)
        except TelegramBadRequest as exc:
            raise Unavailable(exc.message) from None

    return fetch
