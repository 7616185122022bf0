"""Filters for the routers, every one of them asynchronous.

aiogram runs a filter that is a plain function, a `State` or a magic filter (`F.…`) in a thread of its
own at every check (`asyncio.to_thread` in `CallableObject.call`): a round trip through the thread pool
and the loop's self-pipe for a comparison of two strings. A text message was checked against up to ten
of them on its way to its handler (bench B1). These do the same checks on the loop; states are matched
with `StateFilter`, which is asynchronous too. `tests/test_runtime.py` keeps every filter of the tree so.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.i18n import Translator


class MenuText(Filter):
    """Matches a reply-keyboard button by its label in any language (the menu may predate a switch)."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message, i18n: Translator) -> bool:
        return message.text is not None and message.text.strip() in i18n.labels(self.key)


class PrivateChat(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.chat.type == "private"


class GroupChat(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.chat.type in ("group", "supergroup")


class HasText(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.text is not None


class NoText(Filter):
    """A photo, a sticker, a voice message… where text was expected."""

    async def __call__(self, message: Message) -> bool:
        return message.text is None


class NotCommand(Filter):
    """Anything but a /command: typed text, or no text at all."""

    async def __call__(self, message: Message) -> bool:
        return not (message.text or "").startswith("/")


class NotInvite(Filter):
    """Anything but `/start i_<token>` (a responder's invite link)."""

    async def __call__(self, message: Message) -> bool:
        parts = (message.text or "").split(maxsplit=1)
        return not (len(parts) == 2 and parts[0] == "/start" and parts[1].startswith("i_"))


class CallbackPrefix(Filter):
    """A router's buttons by their `CallbackData` prefixes: one check instead of one per handler, each of
    which would unpack the data (and raise) to find it is not theirs."""

    def __init__(self, *callbacks: type) -> None:
        self.prefixes = frozenset(callback.__prefix__ for callback in callbacks)  # type: ignore[attr-defined]

    async def __call__(self, query: CallbackQuery) -> bool:
        return (query.data or "").split(":", 1)[0] in self.prefixes
