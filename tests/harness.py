"""Dispatcher-level driver: builds real Updates, feeds them through the real Dispatcher and middlewares
(via the same UpdateProcessor production uses), and shows what the bot sent back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, Message, MessageEntity, Update, User

from bot.app import make_dispatcher
from bot.i18n import Catalog
from bot.runtime import UpdateProcessor
from bot.settings import Settings
from storage import inbox
from storage.db import Database
from tests.mocked_bot import MockedBot


class Harness:
    def __init__(self, db: Database, settings: Settings, catalog: Catalog) -> None:
        self.db, self.settings, self.catalog = db, settings, catalog
        self.bot = MockedBot()
        self.dp = make_dispatcher(db, catalog, settings)
        self.processor = UpdateProcessor(self.dp, self.bot, db)
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    @property
    def requests(self) -> list[Any]:
        return self.bot.session.requests

    def user(self, user_id: int = 1001, language_code: str = "vi", first_name: str = "Lan") -> User:
        return User(id=user_id, is_bot=False, first_name=first_name, language_code=language_code)

    async def feed(self, update: Update) -> None:
        """Store the update in the inbox and handle it, exactly as the poller does."""
        async with self.db.session() as session:
            await inbox.store(session, [update.model_dump(mode="json", exclude_none=True, by_alias=True)])
        await self.processor.handle(update)

    def message_update(self, user: User, text: str | None = None, **fields: Any) -> Update:
        entities = None
        if text and text.startswith("/"):
            entities = [MessageEntity(type="bot_command", offset=0, length=len(text.split()[0]))]
        message = Message(message_id=next(self._message_ids), date=datetime.now(UTC),
                          chat=Chat(id=user.id, type="private"), from_user=user, text=text, entities=entities,
                          **fields)
        return Update(update_id=next(self._update_ids), message=message)

    async def send(self, user: User, text: str | None = None, **fields: Any) -> list[Any]:
        """Send a message as `user`; returns the API calls the bot made in response."""
        before = len(self.requests)
        await self.feed(self.message_update(user, text, **fields))
        return self.requests[before:]

    async def press(self, user: User, callback_data: str, message_id: int = 1) -> list[Any]:
        before = len(self.requests)
        message = Message(message_id=message_id, date=datetime.now(UTC), chat=Chat(id=user.id, type="private"),
                          from_user=self.bot_user(), text="…")
        query = CallbackQuery(id=str(next(self._update_ids)), from_user=user, chat_instance="ci",
                              message=message, data=callback_data)
        await self.feed(Update(update_id=next(self._update_ids), callback_query=query))
        return self.requests[before:]

    @staticmethod
    def bot_user() -> User:
        from tests.mocked_bot import BOT_USER

        return BOT_USER

    @staticmethod
    def texts(calls: list[Any]) -> list[str]:
        return [c.text for c in calls if isinstance(c, SendMessage)]

    @staticmethod
    def alerts(calls: list[Any]) -> list[str]:
        return [c.text or "" for c in calls if isinstance(c, AnswerCallbackQuery)]

    @staticmethod
    def buttons(calls: list[Any]) -> list[tuple[str, str | None]]:
        """Inline buttons (label, callback data) of every message in `calls`."""
        found = []
        for call in calls:
            markup = getattr(call, "reply_markup", None)
            if isinstance(markup, InlineKeyboardMarkup):
                found += [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row]
        return found

    async def close(self) -> None:
        await self.processor.wait_idle()
