"""Filters for the routers, every one of them asynchronous, and each a plain test the switchboard can ask too.

aiogram runs a filter that is a plain function, a `State` or a magic filter (`F.…`) in a thread of its
own at every check (`asyncio.to_thread` in `CallableObject.call`): a round trip through the thread pool
and the loop's self-pipe for a comparison of two strings. A text message was checked against up to ten
of them on its way to its handler (bench B1). These do the same checks on the loop; states are matched
with `StateFilter`, which is asynchronous too. `tests/test_runtime.py` keeps every filter of the tree so.

Each is a `Check`: its `test` is synchronous and reads only the event and the handler data, so that
`handlers.switchboard` can also ask it before entering a router, and skip the routers that cannot match.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.i18n import Translator


class Check(Filter):
    """A filter that is a test of the event and the handler data and nothing else: no I/O, no side effects.

    `__call__` names the data it reads, as aiogram's filters do: aiogram passes a filter only the keys its
    signature asks for (all twenty for one that takes `**data`, copied at every check)."""

    def test(self, event: Any, data: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    async def __call__(self, event: TelegramObject) -> bool:  # most tests read the event alone
        return self.test(event, {})


class MenuText(Check):
    """Matches a reply-keyboard button by its label in any language (the menu may predate a switch)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def test(self, message: Message, data: Mapping[str, Any]) -> bool:
        return message.text is not None and message.text.strip() in data["i18n"].labels(self.key)

    async def __call__(self, message: Message, i18n: Translator) -> bool:  # type: ignore[override]
        return self.test(message, {"i18n": i18n})


class PrivateChat(Check):
    def test(self, message: Message, data: Mapping[str, Any]) -> bool:
        return message.chat.type == "private"


class GroupChat(Check):
    def test(self, message: Message, data: Mapping[str, Any]) -> bool:
        return message.chat.type in ("group", "supergroup")


class HasText(Check):
    def test(self, message: Message, data: Mapping[str, Any]) -> bool:
        return message.text is not None


class NoText(Check):
    """A photo, a sticker, a voice message… where text was expected."""

    def test(self, message: Message, data: Mapping[str, Any]) -> bool:
        return message.text is None


class NotCommand(Check):
    """Anything but a /command: typed text, or no text at all."""

    def test(self, message: Message, data: Mapping[str, Any]) -> bool:
        return not (message.text or "").startswith("/")


class NotInvite(Check):
    """Anything but `/start i_<token>` (a responder's invite link)."""

    def test(self, message: Message, data: Mapping[str, Any]) -> bool:
        parts = (message.text or "").split(maxsplit=1)
        return not (len(parts) == 2 and parts[0] == "/start" and parts[1].startswith("i_"))


class CallbackPrefix(Check):
    """A router's buttons by their `CallbackData` prefixes: one check instead of one per handler, each of
    which would unpack the data (and raise) to find it is not theirs."""

    def __init__(self, *callbacks: type) -> None:
        self.prefixes = frozenset(callback.__prefix__ for callback in callbacks)  # type: ignore[attr-defined]

    def test(self, query: CallbackQuery, data: Mapping[str, Any]) -> bool:
        return (query.data or "").split(":", 1)[0] in self.prefixes
