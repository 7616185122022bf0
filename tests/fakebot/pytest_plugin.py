"""Opt-in pytest fixtures for the fake Telegram server.

Enable them from the root ``conftest.py``::

    pytest_plugins = ["tests.fakebot.pytest_plugin"]

Fixtures are function-scoped, so each test gets a fresh, isolated Telegram.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest_asyncio

from .server import FakeTelegram

if TYPE_CHECKING:
    from aiogram import Bot

FAKE_TOKEN = "123456:TEST-token"
FAKE_BOT_USERNAME = "school_safety_bot"


@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A running :class:`FakeTelegram`; point the bot at ``fake_telegram.base_url``."""
    async with FakeTelegram(token=FAKE_TOKEN, bot_username=FAKE_BOT_USERNAME) as fake:
        yield fake


@pytest_asyncio.fixture
async def fake_bot(fake_telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """An aiogram ``Bot`` (``parse_mode=HTML`` by default) connected to ``fake_telegram``."""
    from aiogram.client.default import DefaultBotProperties

    bot = fake_telegram.create_bot(default=DefaultBotProperties(parse_mode="HTML"))
    try:
        yield bot
    finally:
        await bot.session.close()
