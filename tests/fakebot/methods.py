"""The Bot API methods the fake implements.

Each handler takes the shared :class:`~.state.BotState` and the decoded
:class:`~.params.Params` and returns the ``result`` JSON, or raises
:class:`~.errors.ApiError`. Handlers validate *everything* before mutating
state, so a failed call leaves no trace, exactly like a rejected call on
Telegram. Cross-cutting behaviour (fault injection, rate limits, delays,
statistics) lives in :mod:`.server`, keyed on :attr:`MethodSpec.kind`.
"""

from __future__ import annotations

import math
import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from .errors import (
    NOT_MODIFIED,
    bad_request,
    chat_not_found,
    conflict,
    parse_entities_error,
    too_many_requests,
)
from .html import EntityParseError, FormattedText, parse_html, trim
from .markup import validate_reply_markup
from .params import Params, UploadedFile
from .state import (
    DEFAULT_ALLOWED_UPDATES,
    MAX_DOWNLOAD_SIZE,
    BotState,
    CallbackAnswer,
    ChatState,
    ForumTopicState,
    MessageVersion,
    PendingUpdate,
    StoredFile,
    StoredMessage,
    WebhookState,
)

Handler = Callable[[BotState, Params], Awaitable[Any]]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200


class Kind:
    """Method categories used by the server's fault injection and throttling."""

    SEND = "send"  # creates messages: sendX (but sendChatAction), copyMessage, forwardMessage
    EDIT = "edit"  # editMessageX
    ACTION = "action"  # sendChatAction
    POLL = "poll"  # getUpdates
    OTHER = "other"


@dataclass(frozen=True)
class MethodSpec:
    name: str
    handler: Handler
    kind: str


METHODS: dict[str, MethodSpec] = {}
"""Registry keyed by lower-cased method name (Telegram method names are case-insensitive)."""


def api_method(name: str, kind: str = Kind.OTHER) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = MethodSpec(name, handler, kind)
        return handler

    return register


# =================================================================================================
# shared validation helpers
# =================================================================================================


def format_text(
    state: BotState,
    source: str | None,
    parse_mode: str | None,
    explicit_entities: Any,
    *,
    limit: int,
    too_long: str,
    empty: str | None,
) -> MessageVersion:
    """Parse text/caption like Telegram: entities first, then trim, then check emptiness and length.

    Length is counted in characters (code points) of the *parsed* text, so
    ``<b>`` tags and ``&amp;`` escapes do not count toward the 4096/1024
    limits.
    """
    source = source or ""
    mode = (parse_mode or "").strip()
    if mode.lower() == "html":
        try:
            parsed = parse_html(source, strict_ampersand=state.strict_html_ampersand)
        except EntityParseError as exc:
            raise parse_entities_error(str(exc)) from exc
        mode = "HTML"
    elif mode.lower() in ("markdown", "markdownv2"):
        # Markdown is stored verbatim (not parsed); the project formats with HTML.
        parsed = FormattedText(source)
    elif mode == "":
        parsed = FormattedText(source, _explicit_entities(explicit_entities))
    else:
        raise bad_request("unsupported parse_mode")
    parsed = trim(parsed)
    if not parsed.text and empty is not None:
        raise bad_request(empty)
    if len(parsed.text) > limit:
        raise bad_request(too_long)
    return MessageVersion(text=parsed.text, source=source, parse_mode=mode or None, entities=parsed.entities)


def _explicit_entities(value: Any) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise bad_request("can't parse entities JSON object")
    entities: list[dict[str, Any]] = []
    for entity in value:
        if (
            not isinstance(entity, dict)
            or not isinstance(entity.get("type"), str)
            or not isinstance(entity.get("offset"), int)
            or not isinstance(entity.get("length"), int)
        ):
            raise bad_request("can't parse entities JSON object")
        entities.append(dict(entity))
    return tuple(entities)


def _text_version(state: BotState, p: Params, markup: dict[str, Any] | None) -> MessageVersion:
    version = format_text(
        state,
        p.get_str("text"),
        p.get_str("parse_mode"),
        p.get_json("entities", what="entities"),
        limit=MAX_TEXT_LENGTH,
        too_long="message is too long",
        empty="message text is empty",
    )
    return replace(version, reply_markup=markup)


def _caption_version(
    state: BotState,
    caption: str | None,
    parse_mode: str | None,
    entities: Any,
    markup: dict[str, Any] | None = None,
) -> MessageVersion:
    version = format_text(
        state,
        caption,
        parse_mode,
        entities,
        limit=MAX_CAPTION_LENGTH,
        too_long="message caption is too long",
        empty=None,
    )
    return replace(version, reply_markup=markup)


def _markup(p: Params, *, inline_only: bool = False) -> dict[str, Any] | None:
    return validate_reply_markup(
        p.get_json("reply_markup", what="reply keyboard markup"), inline_only=inline_only
    )


def _is_admin(status: str) -> bool:
    return status in ("administrator", "creator")


def _thread_id(chat: ChatState, p: Params) -> int | None:
    """Validate ``message_thread_id``: forum topics must exist and not be deleted."""
    thread_id = p.get_int("message_thread_id")
    if thread_id is None:
        return None
    if chat.is_forum:
        if thread_id == 1:  # the General topic
            return None
        topic = chat.topics.get(thread_id)
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        if topic.closed and not _is_admin(chat.bot_status):
            raise bad_request("TOPIC_CLOSED")
        return thread_id
    if not chat.is_private and thread_id in chat.messages:
        return thread_id  # a reply thread in an ordinary supergroup
    raise bad_request("message thread not found")


def _reply_target(state: BotState, chat: ChatState, p: Params) -> StoredMessage | None:
    parameters = p.get_json("reply_parameters", what="reply parameters") or {}
    if not isinstance(parameters, dict):
        raise bad_request("can't parse reply parameters JSON object")
    message_id = parameters.get("message_id") or p.get_int("reply_to_message_id")
    if message_id is None:
        return None
    allow_missing = bool(
        parameters.get("allow_sending_without_reply", p.get_bool("allow_sending_without_reply"))
    )
    target_chat = chat
    if parameters.get("chat_id") not in (None, chat.id):
        target_chat = state.visible_chat(parameters["chat_id"])
    target = target_chat.messages.get(int(message_id))
    if target is None or target.deleted:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    return target if target_chat is chat else None


def _bot_message(
    state: BotState, chat: ChatState, kind: str, content: MessageVersion, **kwargs: Any
) -> StoredMessage:
    return state.add_message(chat, sender=state.bot_user, from_bot=True, kind=kind, content=content, **kwargs)


# =================================================================================================
# bot identity, lifecycle, updates, webhook
# =================================================================================================


@api_method("getMe")
async def get_me(state: BotState, p: Params) -> Any:
    return dict(state.bot_user)


@api_method("logOut")
async def log_out(state: BotState, p: Params) -> Any:
    return True


@api_method("close")
async def close(state: BotState, p: Params) -> Any:
    return True


_WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
_TERMINATED = "terminated by other getUpdates request; make sure that only one bot instance is running"


@api_method("getUpdates", Kind.POLL)
async def get_updates(state: BotState, p: Params) -> Any:
    """Long polling: confirm by ``offset``, then wait up to ``timeout`` seconds for an update.

    A newer getUpdates call terminates a waiting older one with 409, as on
    Telegram, which makes two accidentally running bot instances visible.
    """
    if state.webhook.url:
        raise conflict(_WEBHOOK_ACTIVE)
    offset = p.get_int("offset")
    limit = min(max(p.get_int("limit") or 100, 1), 100)
    timeout = max(p.get_int("timeout") or 0, 0)
    allowed = p.get_json("allowed_updates", what="allowed updates")
    if allowed is not None:
        if not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates JSON object")
        state.allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
    if offset is not None:
        state.updates.confirm(offset)
    state.poll_generation += 1
    generation = state.poll_generation
    state.signal.fire()

    def ready() -> list[PendingUpdate] | str | None:
        if state.poll_generation != generation or state.webhook.url:
            return "conflict"
        if state.closing:
            return []
        return state.updates.peek(limit, state.allowed_updates) or None

    try:
        result = await state.signal.wait_for(ready, timeout)
    except TimeoutError:
        result = []
    if isinstance(result, str):
        raise conflict(_TERMINATED)
    state.updates.handed_out(result)
    state.signal.fire()
    return [item.update for item in result]


_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@api_method("setWebhook")
async def set_webhook(state: BotState, p: Params) -> Any:
    url = p.get_str("url") or ""
    if url and not url.startswith(("https://", "http://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.get_str("secret_token")
    if secret is not None and not _SECRET_TOKEN.match(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = p.get_json("allowed_updates", what="allowed updates")
    if allowed is not None and not isinstance(allowed, list):
        raise bad_request("can't parse allowed updates JSON object")
    if p.get_bool("drop_pending_updates"):
        state.updates.clear()
    state.webhook = WebhookState(
        url=url,
        secret_token=secret,
        max_connections=p.get_int("max_connections") or 40,
        allowed_updates=allowed,
        ip_address=p.get_str("ip_address"),
    )
    if allowed is not None:
        state.allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
    state.signal.fire()
    return True


@api_method("deleteWebhook")
async def delete_webhook(state: BotState, p: Params) -> Any:
    if p.get_bool("drop_pending_updates"):
        state.updates.clear()
    state.webhook = WebhookState()
    state.signal.fire()
    return True


@api_method("getWebhookInfo")
async def get_webhook_info(state: BotState, p: Params) -> Any:
    return state.webhook.info(pending=len(state.updates))


# =================================================================================================
# commands
# =================================================================================================

_SCOPE_TYPES = {
    "default",
    "all_private_chats",
    "all_group_chats",
    "all_chat_administrators",
    "chat",
    "chat_administrators",
    "chat_member",
}
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_LANGUAGE = re.compile(r"^[a-z]{2}$")

CommandKey = tuple[str, int | None, int | None, str]


def command_key(state: BotState, scope: Any, language_code: str | None) -> CommandKey:
    """Normalise (scope, language_code) to the key commands are stored under."""
    scope = scope or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    chat_id: int | None = None
    user_id: int | None = None
    if scope["type"] in ("chat", "chat_administrators", "chat_member"):
        if scope.get("chat_id") is None:
            raise bad_request("chat_id is empty")
        chat_id = state.visible_chat(scope["chat_id"]).id
    if scope["type"] == "chat_member":
        if not isinstance(scope.get("user_id"), int):
            raise bad_request("user_id is empty")
        user_id = scope["user_id"]
    language = language_code or ""
    if language and not _LANGUAGE.match(language):
        raise bad_request("invalid language code specified")
    return (scope["type"], chat_id, user_id, language)


def _scope_of(state: BotState, p: Params) -> CommandKey:
    return command_key(state, p.get_json("scope", what="BotCommandScope"), p.get_str("language_code"))


@api_method("setMyCommands")
async def set_my_commands(state: BotState, p: Params) -> Any:
    commands = p.get_json("commands", what="commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    checked: list[dict[str, str]] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name = command.get("command")
        description = command.get("description")
        if not isinstance(name, str) or not _COMMAND.match(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        checked.append({"command": name, "description": description})
    key = _scope_of(state, p)
    if checked:
        state.commands[key] = checked
    else:
        state.commands.pop(key, None)
    return True


@api_method("getMyCommands")
async def get_my_commands(state: BotState, p: Params) -> Any:
    return [dict(command) for command in state.commands.get(_scope_of(state, p), [])]


@api_method("deleteMyCommands")
async def delete_my_commands(state: BotState, p: Params) -> Any:
    state.commands.pop(_scope_of(state, p), None)
    return True


# =================================================================================================
# sending
# =================================================================================================


@api_method("sendMessage", Kind.SEND)
async def send_message(state: BotState, p: Params) -> Any:
    chat = state.writable_chat(p.chat_id())
    thread_id = _thread_id(chat, p)
    reply_to = _reply_target(state, chat, p)
    content = _text_version(state, p, _markup(p))
    message = _bot_message(state, chat, "text", content, thread_id=thread_id, reply_to=reply_to)
    return message.to_api()


_COMPATIBLE_FILES = {
    "document": {"document", "video", "animation", "audio", "voice"},
}


def input_file(state: BotState, ref: UploadedFile | str, kind: str) -> StoredFile:
    """Resolve an uploaded part, an URL or a file_id to a stored file of ``kind``."""
    if isinstance(ref, UploadedFile):
        mime_type = mimetypes.guess_type(ref.filename or "")[0]
        if mime_type is None and ref.content_type not in (None, "application/octet-stream"):
            mime_type = ref.content_type
        return state.files.add(kind, ref.data, file_name=ref.filename, mime_type=mime_type)
    if ref.startswith(("http://", "https://")):
        return state.files.add(kind, None, size=0, file_name=ref.rstrip("/").rsplit("/", 1)[-1] or None)
    stored = state.files.get(ref)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind and stored.kind not in _COMPATIBLE_FILES.get(kind, set()):
        raise bad_request("type of file mismatch")
    return stored


def media_payload(
    kind: str, stored: StoredFile, p: Params | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The media field(s) of a Message (``photo``, ``document``, ...) for a stored file."""
    options: dict[str, Any] = dict(extra or {})

    def option(name: str, default: Any) -> Any:
        if name in options:
            return options[name]
        if p is not None and p.has(name):
            return p.get_int(name)
        return default

    base: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
    if stored.size:
        base["file_size"] = stored.size
    if kind == "photo":
        return {"photo": [{**base, "width": option("width", 1280), "height": option("height", 960)}]}
    if kind in ("video", "animation"):
        payload = {
            **base,
            "width": option("width", 1280),
            "height": option("height", 720),
            "duration": option("duration", 1),
            "mime_type": stored.mime_type or "video/mp4",
        }
        if stored.file_name:
            payload["file_name"] = stored.file_name
        return {kind: payload}
    if kind in ("voice", "audio"):
        default_mime = "audio/ogg" if kind == "voice" else "audio/mpeg"
        return {
            kind: {**base, "duration": option("duration", 1), "mime_type": stored.mime_type or default_mime}
        }
    if kind == "sticker":
        return {
            "sticker": {
                **base,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": options.get("emoji", "👍"),
            }
        }
    document = dict(base)
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return {"document": document}


async def _send_media(state: BotState, p: Params, kind: str) -> Any:
    chat = state.writable_chat(p.chat_id())
    thread_id = _thread_id(chat, p)
    reply_to = _reply_target(state, chat, p)
    markup = _markup(p)
    ref = p.get_file(kind)
    if ref is None:
        raise bad_request(f"there is no {kind} in the request")
    content = _caption_version(
        state, p.get_str("caption"), p.get_str("parse_mode"), p.get_json("caption_entities"), markup
    )
    stored = input_file(state, ref, kind)
    media = media_payload(kind, stored, p)
    if p.get_bool("has_spoiler"):
        media["has_media_spoiler"] = True
    message = _bot_message(state, chat, kind, content, media=media, thread_id=thread_id, reply_to=reply_to)
    return message.to_api()


@api_method("sendPhoto", Kind.SEND)
async def send_photo(state: BotState, p: Params) -> Any:
    return await _send_media(state, p, "photo")


@api_method("sendDocument", Kind.SEND)
async def send_document(state: BotState, p: Params) -> Any:
    return await _send_media(state, p, "document")


@api_method("sendVideo", Kind.SEND)
async def send_video(state: BotState, p: Params) -> Any:
    return await _send_media(state, p, "video")


@api_method("sendAudio", Kind.SEND)
async def send_audio(state: BotState, p: Params) -> Any:
    return await _send_media(state, p, "audio")


@api_method("sendVoice", Kind.SEND)
async def send_voice(state: BotState, p: Params) -> Any:
    return await _send_media(state, p, "voice")


@api_method("sendAnimation", Kind.SEND)
async def send_animation(state: BotState, p: Params) -> Any:
    return await _send_media(state, p, "animation")


_ALBUM_KINDS = {"photo", "video", "document", "audio"}


@api_method("sendMediaGroup", Kind.SEND)
async def send_media_group(state: BotState, p: Params) -> Any:
    chat = state.writable_chat(p.chat_id())
    thread_id = _thread_id(chat, p)
    reply_to = _reply_target(state, chat, p)
    items = p.get_json("media", what="media")
    if not isinstance(items, list):
        raise bad_request("can't parse media JSON object")
    if len(items) > 10:
        raise bad_request("too much messages to send as an album")
    if len(items) < 2:
        raise bad_request("wrong number of media: an album must contain 2-10 items")
    prepared: list[tuple[str, UploadedFile | str, MessageVersion, dict[str, Any]]] = []
    for item in items:
        if not isinstance(item, dict) or item.get("type") not in _ALBUM_KINDS or not item.get("media"):
            raise bad_request("can't parse InputMedia: media not found")
        kind = item["type"]
        ref = p.resolve_attach(item["media"]) if isinstance(item["media"], str) else None
        if ref is None:
            raise bad_request("can't parse InputMedia: media not found")
        content = _caption_version(
            state, item.get("caption"), item.get("parse_mode"), item.get("caption_entities")
        )
        options = {key: item[key] for key in ("width", "height", "duration") if key in item}
        prepared.append((kind, ref, content, options))
    kinds = {kind for kind, *_ in prepared}
    if len(kinds) > 1 and kinds & {"document", "audio"}:
        raise bad_request("documents and audio files can't be mixed with other media types in an album")
    group_id = state.next_media_group_id()
    messages = []
    for kind, ref, content, options in prepared:
        stored = input_file(state, ref, kind)
        messages.append(
            _bot_message(
                state,
                chat,
                kind,
                content,
                media=media_payload(kind, stored, None, options),
                thread_id=thread_id,
                reply_to=reply_to,
                media_group_id=group_id,
            )
        )
    return [message.to_api() for message in messages]


def _source_message(state: BotState, p: Params, missing: str) -> StoredMessage:
    source_chat = state.visible_chat(p.chat_id("from_chat_id"))
    message_id = p.get_int("message_id", missing="message identifier is not specified")
    source = source_chat.messages.get(message_id or 0)
    if source is None or source.deleted:
        raise bad_request(missing)
    if source.kind == "service":
        raise bad_request("message can't be copied")
    return source


@api_method("copyMessage", Kind.SEND)
async def copy_message(state: BotState, p: Params) -> Any:
    chat = state.writable_chat(p.chat_id())
    source = _source_message(state, p, "message to copy not found")
    thread_id = _thread_id(chat, p)
    reply_to = _reply_target(state, chat, p)
    markup = _markup(p)
    original = source.current
    if source.has_caption and p.has("caption"):
        content = _caption_version(
            state, p.get_str("caption"), p.get_str("parse_mode"), p.get_json("caption_entities"), markup
        )
    else:
        content = replace(original, reply_markup=markup, edit_date=None)
    copy = _bot_message(
        state, chat, source.kind, content, media=dict(source.media), thread_id=thread_id, reply_to=reply_to
    )
    return {"message_id": copy.message_id}


def _origin_of(message: StoredMessage) -> dict[str, Any]:
    if message.forward_origin is not None:
        return dict(message.forward_origin)
    if message.chat.type == "channel":
        return {
            "type": "channel",
            "date": message.date,
            "chat": message.chat.to_api(),
            "message_id": message.message_id,
        }
    if message.sender is not None:
        return {"type": "user", "date": message.date, "sender_user": dict(message.sender)}
    return {"type": "chat", "date": message.date, "sender_chat": message.chat.to_api()}


@api_method("forwardMessage", Kind.SEND)
async def forward_message(state: BotState, p: Params) -> Any:
    chat = state.writable_chat(p.chat_id())
    source = _source_message(state, p, "message to forward not found")
    thread_id = _thread_id(chat, p)
    original = source.current
    content = replace(original, reply_markup=None, edit_date=None)
    forwarded = _bot_message(
        state,
        chat,
        source.kind,
        content,
        media=dict(source.media),
        thread_id=thread_id,
        forward_origin=_origin_of(source),
    )
    return forwarded.to_api()


_CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}


@api_method("sendChatAction", Kind.ACTION)
async def send_chat_action(state: BotState, p: Params) -> Any:
    chat = state.writable_chat(p.chat_id())
    action = p.get_str("action", missing="action is empty")
    if action not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    thread_id = _thread_id(chat, p)
    chat.chat_actions.append((action, thread_id))
    state.signal.fire()
    return True


# =================================================================================================
# editing and deleting
# =================================================================================================


def _message_to_edit(state: BotState, p: Params) -> StoredMessage:
    if p.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")  # inline mode is not emulated
    chat = state.writable_chat(p.chat_id())
    message_id = p.get_int("message_id", missing="message identifier is not specified")
    message = chat.messages.get(message_id or 0)
    if message is None or message.deleted:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def _inline_only(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    return markup if markup and "inline_keyboard" in markup else None


@api_method("editMessageText", Kind.EDIT)
async def edit_message_text(state: BotState, p: Params) -> Any:
    """Edit text; omitting ``reply_markup`` removes the inline keyboard, as on Telegram."""
    message = _message_to_edit(state, p)
    if not message.has_text:
        raise bad_request("there is no text in the message to edit")
    markup = _markup(p, inline_only=True)
    content = _text_version(state, p, markup)
    current = message.current
    if (
        content.text == current.text
        and content.entities == current.entities
        and markup == _inline_only(current.reply_markup)
    ):
        raise bad_request(NOT_MODIFIED)
    state.edit_message(
        message,
        text=content.text,
        source=content.source,
        parse_mode=content.parse_mode,
        entities=content.entities,
        reply_markup=markup,
    )
    return message.to_api()


@api_method("editMessageCaption", Kind.EDIT)
async def edit_message_caption(state: BotState, p: Params) -> Any:
    message = _message_to_edit(state, p)
    if not message.has_caption:
        raise bad_request("there is no caption in the message to edit")
    markup = _markup(p, inline_only=True)
    content = _caption_version(
        state, p.get_str("caption"), p.get_str("parse_mode"), p.get_json("caption_entities")
    )
    current = message.current
    if (
        content.text == current.text
        and content.entities == current.entities
        and markup == _inline_only(current.reply_markup)
    ):
        raise bad_request(NOT_MODIFIED)
    state.edit_message(
        message,
        text=content.text,
        source=content.source,
        parse_mode=content.parse_mode,
        entities=content.entities,
        reply_markup=markup,
    )
    return message.to_api()


@api_method("editMessageReplyMarkup", Kind.EDIT)
async def edit_message_reply_markup(state: BotState, p: Params) -> Any:
    message = _message_to_edit(state, p)
    markup = _markup(p, inline_only=True)
    if markup == _inline_only(message.current.reply_markup):
        raise bad_request(NOT_MODIFIED)
    state.edit_message(message, reply_markup=markup)
    return message.to_api()


@api_method("deleteMessage")
async def delete_message(state: BotState, p: Params) -> Any:
    chat = state.find_chat(p.chat_id())
    if chat is None:
        raise chat_not_found()
    message_id = p.get_int("message_id", missing="message identifier is not specified")
    message = chat.messages.get(message_id or 0)
    if message is None or message.deleted:
        raise bad_request("message to delete not found")
    if not chat.is_private and not message.from_bot and not _is_admin(chat.bot_status):
        raise bad_request("message can't be deleted")
    state.delete_message(message)
    return True


# =================================================================================================
# callback queries
# =================================================================================================


@api_method("answerCallbackQuery")
async def answer_callback_query(state: BotState, p: Params) -> Any:
    query_id = p.get_str("callback_query_id", missing="QUERY_ID_INVALID")
    query = state.callback_queries.get(query_id or "")
    expired = (
        query is not None
        and state.callback_query_ttl is not None
        and (state.clock() - query.created > state.callback_query_ttl)
    )
    if query is None or query.answer is not None or expired:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = p.get_str("text")
    if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answer = CallbackAnswer(
        text=text,
        show_alert=p.get_bool("show_alert"),
        url=p.get_str("url"),
        cache_time=p.get_int("cache_time") or 0,
    )
    state.signal.fire()
    return True


# =================================================================================================
# chats and members
# =================================================================================================


@api_method("getChat")
async def get_chat(state: BotState, p: Params) -> Any:
    return state.visible_chat(p.chat_id()).full_info()


_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_send_welcome_messages",
    "can_pin_messages",
    "can_manage_topics",
)

_RESTRICTED_FLAGS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)


def chat_member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    """A ``ChatMember`` object of the given status with every field aiogram requires."""
    member: dict[str, Any] = {"status": status, "user": dict(user)}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(can_be_edited=False, is_anonymous=False)
        member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
    elif status == "restricted":
        member.update(is_member=True, until_date=0)
        member.update(dict.fromkeys(_RESTRICTED_FLAGS, False))
    elif status == "kicked":
        member["until_date"] = 0
    elif status not in ("member", "left"):
        raise ValueError(f"unknown chat member status {status!r}")
    return member


@api_method("getChatMember")
async def get_chat_member(state: BotState, p: Params) -> Any:
    chat = state.visible_chat(p.chat_id())
    user_id = p.get_int("user_id", missing="user_id is empty")
    if user_id == state.bot_user["id"]:
        return chat_member("member" if chat.is_private else chat.bot_status, state.bot_user)
    user = state.users.get(user_id or 0)
    if user is None:
        raise bad_request("user not found")
    if chat.is_private:
        if user_id != chat.id:
            raise bad_request("user not found")
        return chat_member("member", user)
    return chat_member(chat.members.get(user["id"], "left"), user)


# =================================================================================================
# forum topics
# =================================================================================================

DEFAULT_TOPIC_COLOR = 7322096


def _forum(state: BotState, p: Params) -> ChatState:
    chat = state.writable_chat(p.chat_id())
    if not chat.is_forum:
        raise bad_request("the chat is not a forum")
    if not _is_admin(chat.bot_status):
        raise bad_request("not enough rights to manage topics")
    return chat


def _topic(chat: ChatState, p: Params) -> ForumTopicState:
    thread_id = p.get_int("message_thread_id", missing="message thread not found")
    topic = chat.topics.get(thread_id or 0)
    if topic is None or topic.deleted:
        raise bad_request("message thread not found")
    return topic


def _topic_service_message(
    state: BotState, chat: ChatState, topic: ForumTopicState, field: str, data: Any
) -> None:
    state.add_message(
        chat,
        sender=state.bot_user,
        from_bot=False,  # service messages are not "sends": keep them out of stats and message streams
        kind="service",
        content=MessageVersion(),
        media={field: data},
        thread_id=topic.thread_id,
    )


@api_method("createForumTopic")
async def create_forum_topic(state: BotState, p: Params) -> Any:
    """Create a topic; its ``message_thread_id`` is the id of the "topic created" service message."""
    chat = _forum(state, p)
    name = p.get_str("name", missing="TOPIC_TITLE_EMPTY") or ""
    if len(name) > 128:
        raise bad_request("TOPIC_TITLE_INVALID")
    if chat.topic_limiter is not None:
        wait = chat.topic_limiter.acquire()
        if wait is not None:
            raise too_many_requests(math.ceil(wait))
    icon_color = p.get_int("icon_color") or DEFAULT_TOPIC_COLOR
    topic = ForumTopicState(chat.next_message_id(), name, icon_color, p.get_str("icon_custom_emoji_id"))
    chat.topics[topic.thread_id] = topic
    created = {"name": name, "icon_color": icon_color}
    if topic.icon_custom_emoji_id:
        created["icon_custom_emoji_id"] = topic.icon_custom_emoji_id
    state.add_message(
        chat,
        sender=state.bot_user,
        from_bot=False,
        kind="service",
        content=MessageVersion(),
        media={"forum_topic_created": created},
        thread_id=topic.thread_id,
        message_id=topic.thread_id,
    )
    return topic.to_api()


@api_method("editForumTopic")
async def edit_forum_topic(state: BotState, p: Params) -> Any:
    chat = _forum(state, p)
    topic = _topic(chat, p)
    name = p.get_str("name")
    emoji = p.get_str("icon_custom_emoji_id") if p.has("icon_custom_emoji_id") else topic.icon_custom_emoji_id
    if name is not None and len(name) > 128:
        raise bad_request("TOPIC_TITLE_INVALID")
    if (name is None or name == topic.name) and emoji == topic.icon_custom_emoji_id:
        raise bad_request("TOPIC_NOT_MODIFIED")
    edited: dict[str, Any] = {}
    if name is not None and name != topic.name:
        topic.name = edited["name"] = name
    if emoji != topic.icon_custom_emoji_id:
        topic.icon_custom_emoji_id = emoji
        edited["icon_custom_emoji_id"] = emoji or ""
    _topic_service_message(state, chat, topic, "forum_topic_edited", edited)
    return True


@api_method("closeForumTopic")
async def close_forum_topic(state: BotState, p: Params) -> Any:
    chat = _forum(state, p)
    topic = _topic(chat, p)
    if topic.closed:
        raise bad_request("TOPIC_NOT_MODIFIED")
    topic.closed = True
    _topic_service_message(state, chat, topic, "forum_topic_closed", {})
    return True


@api_method("reopenForumTopic")
async def reopen_forum_topic(state: BotState, p: Params) -> Any:
    chat = _forum(state, p)
    topic = _topic(chat, p)
    if not topic.closed:
        raise bad_request("TOPIC_NOT_MODIFIED")
    topic.closed = False
    _topic_service_message(state, chat, topic, "forum_topic_reopened", {})
    return True


@api_method("deleteForumTopic")
async def delete_forum_topic(state: BotState, p: Params) -> Any:
    """Delete a topic with all its messages; later sends to its thread answer "message thread not found"."""
    chat = _forum(state, p)
    topic = _topic(chat, p)
    topic.deleted = True
    for message in list(chat.messages.values()):
        if message.thread_id == topic.thread_id and not message.deleted:
            state.delete_message(message)
    return True


# =================================================================================================
# files
# =================================================================================================


@api_method("getFile")
async def get_file(state: BotState, p: Params) -> Any:
    file_id = p.get_str("file_id", missing="invalid file_id") or ""
    stored = state.files.get(file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > MAX_DOWNLOAD_SIZE:
        raise bad_request("file is too big")
    path = state.files.assign_path(stored)
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": path,
    }
