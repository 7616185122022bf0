"""Server-side state of the fake Telegram: chats, messages, topics, files and the update queue.

Everything here is plain data manipulated from the event loop thread; the
HTTP layer (:mod:`.server`) and the API methods (:mod:`.methods`) mutate it,
the test-side simulators (:mod:`.sim`) read it and queue updates into it.
Every mutation calls :meth:`Signal.fire` so that waiters (long polls,
``wait_for_message``, ``wait_idle``) re-check their condition.
"""

from __future__ import annotations

import asyncio
import itertools
import mimetypes
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from .errors import chat_not_found, forbidden

T = TypeVar("T")

DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
"""Update types delivered when ``allowed_updates`` was never set (Telegram excludes
``chat_member``, ``message_reaction`` and ``message_reaction_count`` by default)."""

CAPTIONED_KINDS = frozenset({"photo", "video", "document", "audio", "animation", "voice"})
"""Message kinds whose text lives in ``caption`` rather than ``text``."""


class Signal:
    """A broadcast "something changed" notification.

    Waiters re-evaluate a condition each time the signal fires. This is
    simpler and less error-prone than per-condition events, and the fake
    never has enough waiters for the re-checks to matter.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(
        self, check: Callable[[], T | None], timeout: float, *, poll: float | None = None
    ) -> T:
        """Return the first non-``None`` result of ``check()``; raise :class:`TimeoutError` after ``timeout``.

        ``check`` runs whenever the signal fires, and additionally every
        ``poll`` seconds for conditions that depend on elapsed time.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            event = self._event
            if poll is not None:
                remaining = min(remaining, poll)
            # asyncio.timeout rather than wait_for: Python 3.11's wait_for can swallow a
            # cancellation that races with the event being set, hanging shutdown.
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                pass


# -- messages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageVersion:
    """The editable content of a message at one point in time.

    ``text`` is what the user sees (entities decoded, text or caption);
    ``source`` is the string the sender passed, e.g. the raw HTML.
    """

    text: str = ""
    source: str = ""
    parse_mode: str | None = None
    entities: tuple[dict[str, Any], ...] = ()
    reply_markup: dict[str, Any] | None = None
    edit_date: int | None = None


@dataclass(eq=False)
class StoredMessage:
    """One message in a chat, sent by the bot or by a simulated user."""

    chat: ChatState
    message_id: int
    date: int
    sender: dict[str, Any] | None
    from_bot: bool
    kind: str
    versions: list[MessageVersion]
    media: dict[str, Any] = field(default_factory=dict)
    thread_id: int | None = None
    is_topic_message: bool = False
    reply_to: StoredMessage | None = None
    media_group_id: str | None = None
    forward_origin: dict[str, Any] | None = None
    deleted: bool = False

    @property
    def current(self) -> MessageVersion:
        return self.versions[-1]

    @property
    def has_text(self) -> bool:
        return self.kind == "text"

    @property
    def has_caption(self) -> bool:
        return self.kind in CAPTIONED_KINDS

    def to_api(self, *, with_reply: bool = True, version: int = -1) -> dict[str, Any]:
        """The ``Message`` object as the Bot API serialises it."""
        content = self.versions[version]
        data: dict[str, Any] = {"message_id": self.message_id, "date": self.date, "chat": self.chat.to_api()}
        if self.sender is not None:
            data["from"] = dict(self.sender)
        if self.thread_id is not None:
            data["message_thread_id"] = self.thread_id
        if self.is_topic_message:
            data["is_topic_message"] = True
        if self.forward_origin is not None:
            data["forward_origin"] = dict(self.forward_origin)
        if self.reply_to is not None and with_reply:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.media_group_id is not None:
            data["media_group_id"] = self.media_group_id
        if content.edit_date is not None:
            data["edit_date"] = content.edit_date
        if self.kind == "text":
            data["text"] = content.text
            if content.entities:
                data["entities"] = [dict(e) for e in content.entities]
        elif self.has_caption and content.text:
            data["caption"] = content.text
            if content.entities:
                data["caption_entities"] = [dict(e) for e in content.entities]
        data.update(self.media)
        # Only inline keyboards are part of a Message; reply keyboards are not echoed.
        if content.reply_markup and "inline_keyboard" in content.reply_markup:
            data["reply_markup"] = content.reply_markup
        return data


@dataclass(frozen=True)
class MessageEvent:
    """A bot-side change to a chat, in order: ``sent``, ``edited`` or ``deleted``."""

    kind: str
    message: StoredMessage
    version: int


@dataclass
class ForumTopicState:
    thread_id: int
    name: str
    icon_color: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    deleted: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_thread_id": self.thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data


class RateLimiter:
    """At most ``limit`` acquisitions in any sliding window of ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._stamps: list[float] = []

    def check(self) -> float | None:
        """Seconds until a slot frees up, or ``None`` when one is free. Consumes nothing."""
        now = self._clock()
        self._stamps = [stamp for stamp in self._stamps if stamp > now - self.window]
        if len(self._stamps) >= self.limit:
            return self._stamps[0] + self.window - now
        return None

    def take(self) -> None:
        self._stamps.append(self._clock())

    def acquire(self) -> float | None:
        """Take a slot and return ``None``, or return the seconds until one frees up."""
        wait = self.check()
        if wait is None:
            self.take()
        return wait


@dataclass(eq=False)
class ChatState:
    """A chat the bot can see: a user's private chat, a group, a supergroup or a channel."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_forum: bool = False
    started: bool = False
    blocked: bool = False
    deactivated: bool = False
    bot_status: str = "member"
    members: dict[int, str] = field(default_factory=dict)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    events: list[MessageEvent] = field(default_factory=list)
    topics: dict[int, ForumTopicState] = field(default_factory=dict)
    reply_keyboard: dict[str, Any] | None = None
    chat_actions: list[tuple[str, int | None]] = field(default_factory=list)
    topic_limiter: RateLimiter | None = None
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    @property
    def is_private(self) -> bool:
        return self.type == "private"

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.is_forum:
            data["is_forum"] = True
        return data

    def full_info(self) -> dict[str, Any]:
        """``ChatFullInfo`` for getChat (with the fields aiogram requires)."""
        data = self.to_api()
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return data

    def bot_messages(self, *, include_deleted: bool = False) -> list[StoredMessage]:
        return [
            message
            for message in self.messages.values()
            if message.from_bot and (include_deleted or not message.deleted)
        ]


# -- files -----------------------------------------------------------------------------------------


_FILE_FOLDERS = {
    "photo": ("photos", ".jpg"),
    "video": ("videos", ".mp4"),
    "document": ("documents", ""),
    "voice": ("voice", ".oga"),
    "audio": ("music", ".mp3"),
    "sticker": ("stickers", ".webp"),
    "animation": ("animations", ".mp4"),
    "video_note": ("video_notes", ".mp4"),
}

MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
"""getFile refuses files above 20 MB on the public Bot API."""


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    size: int
    data: bytes | None = None
    file_name: str | None = None
    mime_type: str | None = None
    file_path: str | None = None

    def content(self) -> bytes:
        """The bytes; files declared only by size are served as zero bytes of that size."""
        return self.data if self.data is not None else bytes(self.size)


class FileStore:
    """All files known to the fake, by file_id and (once getFile was called) by file_path."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._ids = itertools.count(1)

    def add(
        self,
        kind: str,
        data: bytes | None = None,
        *,
        size: int | None = None,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> StoredFile:
        number = next(self._ids)
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        stored = StoredFile(
            file_id=f"FAKE{kind.upper()}{number:06d}",
            file_unique_id=f"U{number:06d}",
            kind=kind,
            size=size if size is not None else len(data or b""),
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self._by_id[stored.file_id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def assign_path(self, stored: StoredFile) -> str:
        if stored.file_path is None:
            folder, extension = _FILE_FOLDERS.get(stored.kind, ("documents", ""))
            if stored.file_name and "." in stored.file_name:
                extension = "." + stored.file_name.rsplit(".", 1)[1]
            stored.file_path = f"{folder}/file_{stored.file_unique_id}{extension}"
            self._by_path[stored.file_path] = stored
        return stored.file_path

    def by_path(self, path: str) -> StoredFile | None:
        return self._by_path.get(path)


# -- updates ---------------------------------------------------------------------------------------


@dataclass
class PendingUpdate:
    update: dict[str, Any]
    redelivery: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def type(self) -> str:
        return next((key for key in self.update if key != "update_id"), "")


class UpdateQueue:
    """Updates waiting to be confirmed, in delivery order.

    Mirrors getUpdates semantics: an update stays until a later call passes
    ``offset > update_id``. Redeliveries (see :meth:`push_redelivery`) share
    the original's ``update_id`` and are handed out exactly once, regardless
    of ``offset``, after the original was handed out.
    """

    def __init__(self) -> None:
        self._items: list[PendingUpdate] = []
        self._last_id = 0
        self._max_handed_out = 0
        self.history: list[dict[str, Any]] = []
        self.changed_at = time.monotonic()
        """When updates were last handed out or confirmed (``time.monotonic()``)."""

    def __len__(self) -> int:
        return len(self._items)

    @property
    def items(self) -> list[PendingUpdate]:
        return list(self._items)

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update, assigning the next ``update_id`` when it has none."""
        if "update_id" not in update:
            update = {"update_id": self._last_id + 1, **update}
        self._last_id = max(self._last_id, int(update["update_id"]))
        self._items.append(PendingUpdate(update))
        self.history.append(update)
        return update

    def push_redelivery(self, update: dict[str, Any]) -> None:
        self._items.append(PendingUpdate(dict(update), redelivery=True))

    def contains(self, update_id: int) -> bool:
        return any(item.update_id == update_id and not item.redelivery for item in self._items)

    def confirm(self, offset: int) -> None:
        """Forget updates below ``offset``; a negative offset keeps only the last ``-offset``."""
        before = len(self._items)
        if offset < 0:
            originals = [item for item in self._items if not item.redelivery]
            keep = {id(item) for item in originals[offset:]}
            self._items = [item for item in self._items if item.redelivery or id(item) in keep]
        else:
            self._items = [item for item in self._items if item.redelivery or item.update_id >= offset]
        if len(self._items) != before:
            self.changed_at = time.monotonic()

    def clear(self) -> None:
        self._items.clear()

    def peek(self, limit: int, allowed: frozenset[str]) -> list[PendingUpdate]:
        """Up to ``limit`` deliverable updates; updates of disallowed types are dropped."""
        self._items = [item for item in self._items if item.type in allowed]
        ready: list[PendingUpdate] = []
        for item in self._items:
            if item.redelivery and item.update_id > self._max_handed_out:
                continue
            ready.append(item)
            if len(ready) >= limit:
                break
        return ready

    def handed_out(self, items: list[PendingUpdate]) -> None:
        """Record delivery; redeliveries disappear once delivered, originals wait for confirmation."""
        if not items:
            return
        for item in items:
            self._max_handed_out = max(self._max_handed_out, item.update_id)
        delivered = {id(item) for item in items if item.redelivery}
        self._items = [item for item in self._items if id(item) not in delivered]
        self.changed_at = time.monotonic()

    def remove(self, item: PendingUpdate) -> None:
        """Drop an update the webhook accepted."""
        self._items = [other for other in self._items if other is not item]
        self.changed_at = time.monotonic()


# -- callback queries, webhook ---------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackAnswer:
    """What the bot passed to answerCallbackQuery."""

    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int


@dataclass
class CallbackQueryState:
    id: str
    user_id: int
    data: str | None
    created: float
    answer: CallbackAnswer | None = None


@dataclass
class WebhookState:
    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None

    def info(self, pending: int) -> dict[str, Any]:
        data: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
        }
        if self.url:
            data["max_connections"] = self.max_connections
            if self.ip_address:
                data["ip_address"] = self.ip_address
            if self.allowed_updates is not None:
                data["allowed_updates"] = list(self.allowed_updates)
        if self.last_error_date is not None:
            data["last_error_date"] = self.last_error_date
            data["last_error_message"] = self.last_error_message or ""
        return data


# -- statistics ------------------------------------------------------------------------------------


@dataclass
class FakeStats:
    """Counters for assertions about retries, throttling and delivery.

    ``requests`` counts every API call by canonical method name,
    ``statuses`` every answer by HTTP status, ``sends_per_chat`` every
    message the bot successfully created (sendX, copy, forward; an album
    counts each item).
    """

    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    sends_per_chat: Counter[int] = field(default_factory=Counter)

    @property
    def too_many_requests(self) -> int:
        """Number of 429 answers."""
        return self.statuses[429]

    @property
    def server_errors(self) -> int:
        """Number of 5xx answers."""
        return sum(count for status, count in self.statuses.items() if status >= 500)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    def reset(self) -> None:
        self.requests.clear()
        self.statuses.clear()
        self.sends_per_chat.clear()


# -- the aggregate ---------------------------------------------------------------------------------


class BotState:
    """Everything one fake bot account knows. Methods here enforce access rules shared by many API calls."""

    def __init__(self, *, bot_user: dict[str, Any], stats: FakeStats, clock: Callable[[], float]) -> None:
        self.bot_user = bot_user
        self.stats = stats
        self.clock = clock
        self.signal = Signal()
        self.chats: dict[int, ChatState] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.commands: dict[tuple[str, int | None, int | None, str], list[dict[str, str]]] = {}
        self.webhook = WebhookState()
        self.callback_queries: dict[str, CallbackQueryState] = {}
        self.callback_query_ttl: float | None = None
        self.strict_html_ampersand = True
        self.poll_generation = 0
        self.closing = False
        self._callback_ids = itertools.count(4_000_000_000_000_000_001)
        self._media_group_ids = itertools.count(13_000_000_000_000_001)

    def now(self) -> int:
        return int(self.clock())

    def next_callback_id(self) -> str:
        return str(next(self._callback_ids))

    def next_media_group_id(self) -> str:
        return str(next(self._media_group_ids))

    # -- chats -----------------------------------------------------------------------------------

    def find_chat(self, chat_id: int | str) -> ChatState | None:
        if isinstance(chat_id, str):
            username = chat_id.removeprefix("@").lower()
            return next(
                (
                    chat
                    for chat in self.chats.values()
                    if not chat.is_private and chat.username and chat.username.lower() == username
                ),
                None,
            )
        return self.chats.get(chat_id)

    def visible_chat(self, chat_id: int | str) -> ChatState:
        """A chat the bot may look at (getChat, getChatMember): private chats need a prior /start."""
        chat = self.find_chat(chat_id)
        if chat is None or (chat.is_private and not chat.started and not chat.blocked):
            raise chat_not_found()
        return chat

    def writable_chat(self, chat_id: int | str) -> ChatState:
        """A chat the bot may send to, raising Telegram's 400/403 answers otherwise."""
        chat = self.find_chat(chat_id)
        if chat is None:
            raise chat_not_found()
        if chat.is_private:
            if chat.deactivated:
                raise forbidden("user is deactivated")
            if chat.blocked:
                raise forbidden("bot was blocked by the user")
            if not chat.started:
                raise chat_not_found()
        elif chat.blocked or chat.bot_status in ("left", "kicked"):
            if chat.type == "channel":
                raise forbidden("bot is not a member of the channel chat")
            raise forbidden(f"bot was kicked from the {chat.type} chat")
        return chat

    # -- messages --------------------------------------------------------------------------------

    def add_message(
        self,
        chat: ChatState,
        *,
        sender: dict[str, Any] | None,
        from_bot: bool,
        kind: str,
        content: MessageVersion,
        media: dict[str, Any] | None = None,
        thread_id: int | None = None,
        reply_to: StoredMessage | None = None,
        media_group_id: str | None = None,
        forward_origin: dict[str, Any] | None = None,
        message_id: int | None = None,
    ) -> StoredMessage:
        """Store a new message; bot messages are counted and recorded as ``sent`` events."""
        is_topic = chat.is_forum and thread_id is not None and thread_id in chat.topics
        message = StoredMessage(
            chat=chat,
            message_id=message_id if message_id is not None else chat.next_message_id(),
            date=self.now(),
            sender=sender,
            from_bot=from_bot,
            kind=kind,
            versions=[content],
            media=dict(media or {}),
            thread_id=thread_id,
            is_topic_message=is_topic,
            reply_to=reply_to,
            media_group_id=media_group_id,
            forward_origin=forward_origin,
        )
        chat.messages[message.message_id] = message
        if from_bot:
            self.stats.sends_per_chat[chat.id] += 1
            chat.events.append(MessageEvent("sent", message, 0))
            self._track_reply_keyboard(chat, content.reply_markup)
        self.signal.fire()
        return message

    def edit_message(self, message: StoredMessage, **changes: Any) -> None:
        """Append a new version (with ``edit_date``) and record an ``edited`` event."""
        message.versions.append(replace(message.current, edit_date=self.now(), **changes))
        message.chat.events.append(MessageEvent("edited", message, len(message.versions) - 1))
        self.signal.fire()

    def delete_message(self, message: StoredMessage) -> None:
        message.deleted = True
        message.chat.events.append(MessageEvent("deleted", message, len(message.versions) - 1))
        self.signal.fire()

    @staticmethod
    def _track_reply_keyboard(chat: ChatState, markup: dict[str, Any] | None) -> None:
        """Mirror what a Telegram client shows below the input field."""
        if not markup:
            return
        if "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None

    # -- updates ---------------------------------------------------------------------------------

    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        queued = self.updates.push(update)
        self.signal.fire()
        return queued
