"""Test-side simulators: Telegram users and groups talking to the bot.

Simulators run inside the test process and manipulate the fake's state
directly (queueing updates, reading what the bot sent); only the *bot* has to
go through HTTP. A test reads like a conversation::

    parent = fake.user(1001, first_name="Lan", language_code="vi")
    await parent.send("/start")
    menu = await parent.wait_for_message(lambda m: "Xin chào" in m.text)
    query_id = await parent.press(menu, "Báo cáo")
    assert (await parent.wait_for_callback_answer(query_id)).text is None
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .html import utf16_len
from .markup import find_button, inline_buttons, keyboard_buttons
from .methods import chat_member, media_payload
from .state import (
    CallbackAnswer,
    CallbackQueryState,
    ChatState,
    ForumTopicState,
    MessageVersion,
    RateLimiter,
    StoredMessage,
)

if TYPE_CHECKING:
    from .server import FakeTelegram

MessagePredicate = Callable[["BotMessage"], bool]


# =================================================================================================
# views
# =================================================================================================


class BotMessage:
    """A message the bot sent, as it looked at one version (send or a later edit).

    The content attributes (``text``, ``html``, ``reply_markup``...) are a
    snapshot of that version, so a predicate never sees a later edit by
    accident; identity and history (``deleted``, ``edits``, :meth:`latest`)
    are live.
    """

    __slots__ = ("_stored", "_version")

    def __init__(self, stored: StoredMessage, version: int | None = None) -> None:
        self._stored = stored
        self._version = len(stored.versions) - 1 if version is None else version

    @property
    def _content(self) -> MessageVersion:
        return self._stored.versions[self._version]

    # identity
    @property
    def message_id(self) -> int:
        return self._stored.message_id

    @property
    def chat_id(self) -> int:
        return self._stored.chat.id

    @property
    def thread_id(self) -> int | None:
        return self._stored.thread_id

    @property
    def date(self) -> int:
        return self._stored.date

    @property
    def kind(self) -> str:
        """``text``, ``photo``, ``document``, ``video``, ``audio``, ``voice``, ``animation``..."""
        return self._stored.kind

    @property
    def media_group_id(self) -> str | None:
        return self._stored.media_group_id

    @property
    def reply_to_message_id(self) -> int | None:
        return self._stored.reply_to.message_id if self._stored.reply_to else None

    @property
    def forward_origin(self) -> dict[str, Any] | None:
        return self._stored.forward_origin

    # content of this version
    @property
    def text(self) -> str:
        """What the user reads: the text, or the caption of a media message ("" when none)."""
        return self._content.text

    @property
    def html(self) -> str:
        """The raw string the bot sent (HTML source when ``parse_mode=HTML``)."""
        return self._content.source

    @property
    def parse_mode(self) -> str | None:
        return self._content.parse_mode

    @property
    def entities(self) -> list[dict[str, Any]]:
        return [dict(entity) for entity in self._content.entities]

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        """The markup sent with this version (inline keyboard, reply keyboard, remove/force reply)."""
        return self._content.reply_markup

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons, flattened row by row: ``(text, callback_data or None)``."""
        return [(button["text"], button.get("callback_data")) for button in inline_buttons(self.reply_markup)]

    @property
    def keyboard(self) -> list[str]:
        """Reply-keyboard button texts, flattened row by row."""
        return [button["text"] for button in keyboard_buttons(self.reply_markup)]

    @property
    def media(self) -> dict[str, Any]:
        """Media fields of the Message, e.g. ``{"document": {...}}``."""
        return dict(self._stored.media)

    @property
    def file_id(self) -> str | None:
        """file_id of the attached media (the largest photo size for photos)."""
        for value in self._stored.media.values():
            if isinstance(value, list) and value and isinstance(value[-1], dict):
                return value[-1].get("file_id")
            if isinstance(value, dict) and "file_id" in value:
                return value["file_id"]
        return None

    # history, live
    @property
    def version(self) -> int:
        """0 for the message as sent, n for the n-th edit."""
        return self._version

    @property
    def is_edited(self) -> bool:
        return self._version > 0

    @property
    def deleted(self) -> bool:
        return self._stored.deleted

    @property
    def history(self) -> list[MessageVersion]:
        """Every version so far: as sent, then each edit."""
        return list(self._stored.versions)

    @property
    def edits(self) -> list[MessageVersion]:
        """The versions produced by edits so far (empty when never edited)."""
        return list(self._stored.versions[1:])

    def latest(self) -> BotMessage:
        return BotMessage(self._stored)

    def to_api(self) -> dict[str, Any]:
        return self._stored.to_api(version=self._version)

    @property
    def stored(self) -> StoredMessage:
        """The underlying server-side record (for advanced assertions)."""
        return self._stored

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        edited = f" v{self._version}" if self._version else ""
        return f"<BotMessage chat={self.chat_id} id={self.message_id}{edited} {self.kind} {text!r}>"


@dataclass(frozen=True)
class SentUpdate:
    """An update queued by a simulated user action."""

    update: dict[str, Any]
    message: StoredMessage | None = None

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def message_id(self) -> int | None:
        return self.message.message_id if self.message else None


# =================================================================================================
# chats
# =================================================================================================


class ChatView:
    """Reading side of a chat: what the bot sent, and waiting for it.

    :meth:`wait_for_message` reads the chat's bot events (sends and edits) as
    a stream with a cursor: it returns the first matching event after the
    cursor and moves the cursor past it, skipping non-matching events. So
    two consecutive waits for the same text need two messages, and an
    expected reply that arrived before the wait started is still found.
    """

    def __init__(self, fake: FakeTelegram, chat: ChatState) -> None:
        self._fake = fake
        self._chat = chat
        self._cursor = 0

    @property
    def chat_id(self) -> int:
        return self._chat.id

    @property
    def chat_state(self) -> ChatState:
        return self._chat

    @property
    def messages(self) -> list[BotMessage]:
        """Bot messages in this chat that still exist, in order, each at its latest version."""
        return [BotMessage(message) for message in self._chat.bot_messages()]

    @property
    def deleted_messages(self) -> list[BotMessage]:
        return [
            BotMessage(message)
            for message in self._chat.bot_messages(include_deleted=True)
            if message.deleted
        ]

    @property
    def last_message(self) -> BotMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def chat_actions(self) -> list[str]:
        """Actions sent with sendChatAction, in order (``typing``, ``upload_document``...)."""
        return [action for action, _thread in self._chat.chat_actions]

    def skip_pending(self) -> None:
        """Move the cursor to the end: later waits only see messages sent or edited from now on."""
        self._cursor = len(self._chat.events)

    def _match(
        self, predicate: MessagePredicate | None, thread_id: int | None, edits: bool, *, advance: bool
    ) -> BotMessage | None:
        events = self._chat.events
        for index in range(self._cursor, len(events)):
            event = events[index]
            if event.kind == "deleted" or (event.kind == "edited" and not edits):
                continue
            if thread_id is not None and event.message.thread_id != thread_id:
                continue
            view = BotMessage(event.message, event.version)
            if predicate is None or predicate(view):
                if advance:
                    self._cursor = index + 1
                return view
        return None

    async def wait_for_message(
        self,
        predicate: MessagePredicate | None = None,
        timeout: float = 5.0,
        *,
        thread_id: int | None = None,
        edits: bool = True,
    ) -> BotMessage:
        """Wait until the bot sends (or, with ``edits=True``, edits) a matching message here."""
        try:
            return await self._fake.state.signal.wait_for(
                lambda: self._match(predicate, thread_id, edits, advance=True), timeout
            )
        except TimeoutError:
            seen = [
                BotMessage(event.message, event.version)
                for event in self._chat.events
                if event.kind != "deleted"
            ]
            raise AssertionError(
                f"no matching bot message in chat {self.chat_id} within {timeout}s; "
                f"bot messages so far: {seen}"
            ) from None

    async def assert_no_message(
        self, within: float = 0.3, predicate: MessagePredicate | None = None, *, edits: bool = True
    ) -> None:
        """Fail if a matching message (after the cursor) shows up within ``within`` seconds."""
        try:
            found = await self._fake.state.signal.wait_for(
                lambda: self._match(predicate, None, edits, advance=False), within
            )
        except TimeoutError:
            return
        raise AssertionError(f"unexpected bot message in chat {self.chat_id}: {found}")

    async def wait_for_deletion(self, message: BotMessage | int, timeout: float = 5.0) -> None:
        message_id = message if isinstance(message, int) else message.message_id
        stored = self._chat.messages.get(message_id)
        if stored is None:
            raise AssertionError(f"no message {message_id} in chat {self.chat_id}")
        try:
            await self._fake.state.signal.wait_for(lambda: True if stored.deleted else None, timeout)
        except TimeoutError:
            raise AssertionError(f"message {message_id} in chat {self.chat_id} was not deleted") from None

    @property
    def reply_keyboard(self) -> dict[str, Any] | None:
        """The reply keyboard a client would currently show in this chat."""
        return self._chat.reply_keyboard

    def _lookup(self, message: BotMessage | StoredMessage | int) -> StoredMessage:
        if isinstance(message, BotMessage):
            return message.stored
        if isinstance(message, StoredMessage):
            return message
        stored = self._chat.messages.get(message)
        if stored is None:
            raise AssertionError(f"no message {message} in chat {self.chat_id}")
        return stored


_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}")
_URL = re.compile(r"https?://[^\s<>\"]+")


def detect_entities(text: str) -> tuple[dict[str, Any], ...]:
    """Entities a Telegram client attaches to typed text: bot commands, mentions and URLs."""
    found: list[tuple[int, int, str]] = []
    for pattern, kind in ((_COMMAND, "bot_command"), (_URL, "url"), (_MENTION, "mention")):
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < other_end and other_start < end for other_start, other_end, _ in found):
                continue
            found.append((start, end, kind))
    found.sort()
    return tuple(
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in found
    )


class UserSim(ChatView):
    """A Telegram user. As a :class:`ChatView` it is also the user's private chat with the bot.

    Every ``send_*`` accepts ``chat=<GroupSim>`` (and ``thread_id``) to post
    into a group instead of the private chat.
    """

    def __init__(self, fake: FakeTelegram, user: dict[str, Any], chat: ChatState, phone: str) -> None:
        super().__init__(fake, chat)
        self._user = user
        self.phone = phone

    # -- identity --------------------------------------------------------------------------------

    @property
    def id(self) -> int:
        return int(self._user["id"])

    @property
    def first_name(self) -> str:
        return str(self._user["first_name"])

    @property
    def username(self) -> str | None:
        return self._user.get("username")

    @property
    def language_code(self) -> str | None:
        return self._user.get("language_code")

    def as_user(self) -> dict[str, Any]:
        """The ``User`` object Telegram puts in ``from``."""
        return dict(self._user)

    @property
    def started(self) -> bool:
        return self._chat.started

    @property
    def blocked(self) -> bool:
        return self._chat.blocked

    def __repr__(self) -> str:
        return f"<UserSim {self.id} {self.first_name!r}>"

    # -- sending ---------------------------------------------------------------------------------

    def _target(self, chat: GroupSim | None) -> ChatState:
        if chat is None:
            self._chat.started = True  # writing to the bot is what "starting" it means
            return self._chat
        chat.chat_state.members.setdefault(self.id, "member")
        return chat.chat_state

    async def _post(
        self,
        kind: str,
        content: MessageVersion,
        *,
        chat: GroupSim | None = None,
        thread_id: int | None = None,
        reply_to: BotMessage | StoredMessage | int | None = None,
        media: dict[str, Any] | None = None,
        media_group_id: str | None = None,
        forward_origin: dict[str, Any] | None = None,
    ) -> SentUpdate:
        target = self._target(chat)
        reply = None
        if reply_to is not None:
            reply = (chat or self)._lookup(reply_to)
        message = self._fake.state.add_message(
            target,
            sender=self.as_user(),
            from_bot=False,
            kind=kind,
            content=content,
            media=media,
            thread_id=thread_id,
            reply_to=reply,
            media_group_id=media_group_id,
            forward_origin=forward_origin,
        )
        update = self._fake.state.queue_update({"message": message.to_api()})
        return SentUpdate(update, message)

    async def send(
        self,
        text: str,
        *,
        chat: GroupSim | None = None,
        thread_id: int | None = None,
        reply_to: BotMessage | StoredMessage | int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> SentUpdate:
        """Type a text message; ``/commands``, @mentions and URLs get entities like a real client."""
        found = tuple(entities) if entities is not None else detect_entities(text)
        content = MessageVersion(text=text, source=text, entities=found)
        return await self._post("text", content, chat=chat, thread_id=thread_id, reply_to=reply_to)

    def _caption(self, caption: str | None) -> MessageVersion:
        return MessageVersion(
            text=caption or "", source=caption or "", entities=detect_entities(caption or "")
        )

    async def send_photo(
        self,
        caption: str | None = None,
        *,
        data: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
        width: int = 1280,
        height: int = 960,
        chat: GroupSim | None = None,
        thread_id: int | None = None,
    ) -> SentUpdate:
        stored = self._fake.state.files.add("photo", data, mime_type="image/jpeg")
        media = media_payload("photo", stored, None, {"width": width, "height": height})
        return await self._post("photo", self._caption(caption), chat=chat, thread_id=thread_id, media=media)

    async def send_document(
        self,
        file_name: str = "document.pdf",
        *,
        mime_type: str | None = None,
        size: int | None = None,
        data: bytes | None = None,
        caption: str | None = None,
        chat: GroupSim | None = None,
        thread_id: int | None = None,
    ) -> SentUpdate:
        """Send a file. Give ``data`` for real bytes, or only ``size`` (served as zero bytes)."""
        if data is None and size is None:
            data = b"%PDF-1.4\n% fake document\n"
        stored = self._fake.state.files.add(
            "document", data, size=size, file_name=file_name, mime_type=mime_type
        )
        media = media_payload("document", stored)
        return await self._post(
            "document", self._caption(caption), chat=chat, thread_id=thread_id, media=media
        )

    async def send_video(
        self,
        caption: str | None = None,
        *,
        duration: int = 5,
        width: int = 1280,
        height: int = 720,
        size: int | None = None,
        chat: GroupSim | None = None,
        thread_id: int | None = None,
    ) -> SentUpdate:
        data = None if size is not None else b"\x00\x00\x00\x18ftypmp42fake-video"
        stored = self._fake.state.files.add("video", data, size=size, mime_type="video/mp4")
        media = media_payload("video", stored, None, {"duration": duration, "width": width, "height": height})
        return await self._post("video", self._caption(caption), chat=chat, thread_id=thread_id, media=media)

    async def send_voice(
        self, duration: int = 3, *, chat: GroupSim | None = None, thread_id: int | None = None
    ) -> SentUpdate:
        stored = self._fake.state.files.add("voice", b"OggS fake-voice", mime_type="audio/ogg")
        media = media_payload("voice", stored, None, {"duration": duration})
        return await self._post("voice", MessageVersion(), chat=chat, thread_id=thread_id, media=media)

    async def send_sticker(
        self, emoji: str = "👍", *, chat: GroupSim | None = None, thread_id: int | None = None
    ) -> SentUpdate:
        stored = self._fake.state.files.add("sticker", b"RIFF fake-webp", mime_type="image/webp")
        media = media_payload("sticker", stored, None, {"emoji": emoji})
        return await self._post("sticker", MessageVersion(), chat=chat, thread_id=thread_id, media=media)

    async def send_location(
        self,
        latitude: float = 21.0278,
        longitude: float = 105.8342,
        *,
        chat: GroupSim | None = None,
        thread_id: int | None = None,
    ) -> SentUpdate:
        media = {"location": {"latitude": latitude, "longitude": longitude}}
        return await self._post("location", MessageVersion(), chat=chat, thread_id=thread_id, media=media)

    async def send_contact(
        self,
        phone: str | None = None,
        *,
        first_name: str | None = None,
        own: bool = True,
        user_id: int | None = None,
        chat: GroupSim | None = None,
        thread_id: int | None = None,
    ) -> SentUpdate:
        """Share a contact card.

        By default it is the user's own contact (``user_id`` = the sender,
        phone = :attr:`phone` unless given), which is what a
        ``request_contact`` button sends and what bots verify. ``own=False``
        shares someone else's card, with ``user_id`` only when given.
        """
        contact: dict[str, Any] = {
            "phone_number": phone or self.phone,
            "first_name": first_name or self.first_name,
        }
        contact_user = self.id if own else user_id
        if contact_user is not None:
            contact["user_id"] = contact_user
        media = {"contact": contact}
        return await self._post("contact", MessageVersion(), chat=chat, thread_id=thread_id, media=media)

    async def send_album(
        self,
        n: int = 3,
        kind: str = "photo",
        *,
        caption: str | None = None,
        chat: GroupSim | None = None,
        thread_id: int | None = None,
    ) -> list[SentUpdate]:
        """Send ``n`` media as one album: one update each, same ``media_group_id``, caption on the first."""
        if kind not in ("photo", "video", "document"):
            raise ValueError("album items must be photo, video or document")
        group_id = self._fake.state.next_media_group_id()
        sent: list[SentUpdate] = []
        for index in range(n):
            file_name = f"file{index + 1}.pdf" if kind == "document" else None
            stored = self._fake.state.files.add(kind, f"fake-{kind}-{index}".encode(), file_name=file_name)
            media = media_payload(kind, stored)
            content = self._caption(caption if index == 0 else None)
            sent.append(
                await self._post(
                    kind, content, chat=chat, thread_id=thread_id, media=media, media_group_id=group_id
                )
            )
        return sent

    async def forward(
        self,
        text: str,
        origin: str = "user",
        *,
        from_user: UserSim | dict[str, Any] | None = None,
        sender_name: str = "Hidden Sender",
        channel_id: int = -1001000000001,
        channel_title: str = "Channel",
        channel_message_id: int = 1,
        chat: GroupSim | None = None,
        thread_id: int | None = None,
    ) -> SentUpdate:
        """Forward a text into the chat; ``origin`` is the forward_origin type (user/hidden_user/channel)."""
        date = self._fake.state.now() - 3600
        forward_origin: dict[str, Any]
        if origin == "user":
            sender = from_user.as_user() if isinstance(from_user, UserSim) else (from_user or self.as_user())
            forward_origin = {"type": "user", "date": date, "sender_user": dict(sender)}
        elif origin == "hidden_user":
            forward_origin = {"type": "hidden_user", "date": date, "sender_user_name": sender_name}
        elif origin == "channel":
            forward_origin = {
                "type": "channel",
                "date": date,
                "chat": {"id": channel_id, "type": "channel", "title": channel_title},
                "message_id": channel_message_id,
            }
        else:
            raise ValueError("origin must be 'user', 'hidden_user' or 'channel'")
        content = MessageVersion(text=text, source=text, entities=detect_entities(text))
        return await self._post(
            "text", content, chat=chat, thread_id=thread_id, forward_origin=forward_origin
        )

    async def edit(self, sent: SentUpdate, text: str) -> SentUpdate:
        """Edit one of the user's own text messages (queues an ``edited_message`` update)."""
        if sent.message is None:
            raise ValueError("that update carries no message")
        message = sent.message
        state = self._fake.state
        message.versions.append(
            MessageVersion(text=text, source=text, entities=detect_entities(text), edit_date=state.now())
        )
        update = state.queue_update({"edited_message": message.to_api()})
        return SentUpdate(update, message)

    # -- buttons ---------------------------------------------------------------------------------

    async def press(self, message: BotMessage | int, button: str) -> str:
        """Press an inline button (exact text, else unique substring) on the message's *current* keyboard.

        Queues a ``callback_query`` update and returns its id.
        """
        stored = self._lookup(message)
        if stored.deleted:
            raise AssertionError(f"message {stored.message_id} was deleted; its buttons cannot be pressed")
        buttons = inline_buttons(stored.current.reply_markup)
        found = find_button(buttons, button, where=f"message {stored.message_id} in chat {stored.chat.id}")
        if "callback_data" not in found:
            raise AssertionError(f"button {found['text']!r} is not a callback button: {found}")
        return await self._callback(stored, found["callback_data"])

    async def press_data(self, message: BotMessage | int, data: str) -> str:
        """Send a callback query with arbitrary (possibly forged) data for a message."""
        return await self._callback(self._lookup(message), data)

    async def _callback(self, message: StoredMessage, data: str) -> str:
        state = self._fake.state
        query_id = state.next_callback_id()
        state.callback_queries[query_id] = CallbackQueryState(query_id, self.id, data, state.clock())
        state.queue_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.as_user(),
                    "message": message.to_api(),
                    # Telegram's chat_instance is an opaque, stable per-chat identifier.
                    "chat_instance": str(7_000_000_000_000_000_000 + message.chat.id),
                    "data": data,
                }
            }
        )
        return query_id

    async def wait_for_callback_answer(self, query_id: str, timeout: float = 5.0) -> CallbackAnswer:
        """Wait for the bot's answerCallbackQuery to a query created by :meth:`press`."""
        query = self._fake.state.callback_queries[query_id]
        try:
            return await self._fake.state.signal.wait_for(lambda: query.answer, timeout)
        except TimeoutError:
            raise AssertionError(f"callback query {query_id} ({query.data!r}) was not answered") from None

    async def tap_reply_button(self, text: str, *, chat: GroupSim | None = None) -> SentUpdate:
        """Tap a reply-keyboard button: sends its text, or a contact/location for request buttons."""
        state_chat = chat.chat_state if chat is not None else self._chat
        buttons = keyboard_buttons(state_chat.reply_keyboard)
        found = find_button(buttons, text, where=f"the reply keyboard of chat {state_chat.id}")
        if state_chat.reply_keyboard and state_chat.reply_keyboard.get("one_time_keyboard"):
            state_chat.reply_keyboard = None
        if found.get("request_contact"):
            return await self.send_contact(chat=chat)
        if found.get("request_location"):
            return await self.send_location(chat=chat)
        return await self.send(found["text"], chat=chat)

    # -- blocking --------------------------------------------------------------------------------

    async def block_bot(self) -> SentUpdate:
        """Block the bot from the client: later sends answer 403 and a ``my_chat_member`` update is queued."""
        self._chat.blocked = True
        return self._member_update("member", "kicked")

    async def unblock_bot(self) -> SentUpdate:
        self._chat.blocked = False
        self._chat.started = True
        return self._member_update("kicked", "member")

    def _member_update(self, old: str, new: str) -> SentUpdate:
        state = self._fake.state
        update = state.queue_update(
            {
                "my_chat_member": {
                    "chat": self._chat.to_api(),
                    "from": self.as_user(),
                    "date": state.now(),
                    "old_chat_member": chat_member(old, state.bot_user),
                    "new_chat_member": chat_member(new, state.bot_user),
                }
            }
        )
        return SentUpdate(update)


class GroupSim(ChatView):
    """A group or supergroup (optionally a forum) the bot is a member of."""

    @property
    def id(self) -> int:
        return self._chat.id

    @property
    def title(self) -> str:
        return self._chat.title or ""

    def __repr__(self) -> str:
        return f"<GroupSim {self.id} {self.title!r}>"

    async def send(
        self,
        user: UserSim,
        text: str,
        *,
        thread_id: int | None = None,
        reply_to: BotMessage | StoredMessage | int | None = None,
    ) -> SentUpdate:
        """``user`` writes ``text`` in this group (in a forum topic with ``thread_id``)."""
        return await user.send(text, chat=self, thread_id=thread_id, reply_to=reply_to)

    async def press(self, user: UserSim, message: BotMessage | int, button: str) -> str:
        """``user`` presses an inline button on a message of this group."""
        return await user.press(BotMessage(self._lookup(message)), button)

    def add_member(self, user: UserSim, status: str = "member") -> None:
        """Set ``user``'s getChatMember status: creator, administrator, member, restricted, left, kicked."""
        chat_member(status, user.as_user())  # validates the status
        self._chat.members[user.id] = status

    def set_bot_status(self, status: str) -> None:
        """The bot's own membership; ``left``/``kicked`` make sends answer 403."""
        chat_member(status, self._fake.state.bot_user)
        self._chat.bot_status = status

    async def add_bot(self, by: UserSim, status: str = "administrator") -> SentUpdate:
        """``by`` adds the bot to the group: queues a ``my_chat_member`` update (left -> ``status``)."""
        state = self._fake.state
        old = self._chat.bot_status
        self.set_bot_status(status)
        self._chat.members.setdefault(by.id, "member")
        update = state.queue_update(
            {
                "my_chat_member": {
                    "chat": self._chat.to_api(),
                    "from": by.as_user(),
                    "date": state.now(),
                    "old_chat_member": chat_member(old if old != status else "left", state.bot_user),
                    "new_chat_member": chat_member(status, state.bot_user),
                }
            }
        )
        return SentUpdate(update)

    @property
    def topics(self) -> list[ForumTopicState]:
        """Existing (not deleted) forum topics, oldest first."""
        return [topic for topic in self._chat.topics.values() if not topic.deleted]

    def topic(self, name: str) -> ForumTopicState:
        for topic in self.topics:
            if topic.name == name:
                return topic
        raise AssertionError(f"no topic named {name!r} in {self!r}; topics: {[t.name for t in self.topics]}")

    def limit_topics(self, limit: int, per_seconds: float = 60.0) -> None:
        """Allow at most ``limit`` createForumTopic calls per ``per_seconds``; more answer 429."""
        self._chat.topic_limiter = RateLimiter(limit, per_seconds)
