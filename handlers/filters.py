"""Filters that read the user's language from the middleware-injected translator."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import Message

from bot.i18n import Translator


class MenuText(Filter):
    """Matches a reply-keyboard button by its label in any language (the menu may predate a switch)."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message, i18n: Translator) -> bool:
        return message.text is not None and message.text.strip() in i18n.labels(self.key)
