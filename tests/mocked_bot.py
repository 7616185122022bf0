"""A Bot whose session never touches the network, modelled on aiogram's own test-suite.

Every API call is recorded; the reply is built from the method itself (a sent message comes back as a
Message in the right chat with the text and keyboard the bot sent), so handlers behave as in production.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, User

BOT_USER = User(id=42, is_bot=True, first_name="Trợ lý an toàn", username="school_safety_bot")


class MockedSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self._ids = itertools.count(1000)

    async def make_request(self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
                           ) -> TelegramType:
        self.requests.append(method)
        return self._result(method)  # type: ignore[return-value]

    def _result(self, method: TelegramMethod[Any]) -> Any:
        name = type(method).__name__
        if name == "GetMe":
            return BOT_USER
        returning = getattr(method, "__returning__", None)
        if returning is Message or name.startswith("Edit"):
            chat_id = getattr(method, "chat_id", None) or 0
            return Message(
                message_id=getattr(method, "message_id", None) or next(self._ids),
                date=datetime.now(UTC),
                chat=Chat(id=int(chat_id), type="private" if int(chat_id) > 0 else "supergroup"),
                from_user=BOT_USER,
                text=getattr(method, "text", None) or getattr(method, "caption", None),
                reply_markup=getattr(method, "reply_markup", None)
                if type(getattr(method, "reply_markup", None)).__name__ == "InlineKeyboardMarkup" else None,
            )
        if name == "SendMediaGroup":
            return []
        return True

    async def close(self) -> None:
        pass

    async def stream_content(self, url: str, headers: dict[str, Any] | None = None, timeout: int = 30,
                             chunk_size: int = 65536, raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:
        yield b""


class MockedBot(Bot):
    session: MockedSession

    def __init__(self) -> None:
        super().__init__("42:TEST-TOKEN-aaaaaaaaaaaaaaaaaaaa", session=MockedSession(),
                         default=DefaultBotProperties(parse_mode=ParseMode.HTML))
