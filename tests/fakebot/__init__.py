"""An in-process fake of the Telegram Bot API for end-to-end tests.

Start :class:`FakeTelegram`, point the bot at ``fake.base_url`` (aiogram:
``TelegramAPIServer.from_base(fake.base_url)``; subprocess:
``TELEGRAM_API_URL``), then drive :class:`UserSim` / :class:`GroupSim`
simulators and assert on what the bot sent. See ``tests/test_fakebot.py``
for worked examples.
"""

from .errors import NOT_MODIFIED, ApiError
from .html import EntityParseError, FormattedText, escape, parse_html, utf16_len
from .server import ApiCall, FakeTelegram
from .sim import BotMessage, ChatView, GroupSim, SentUpdate, UserSim, detect_entities
from .state import CallbackAnswer, FakeStats, ForumTopicState, MessageVersion

__all__ = [
    "NOT_MODIFIED",
    "ApiCall",
    "ApiError",
    "BotMessage",
    "CallbackAnswer",
    "ChatView",
    "EntityParseError",
    "FakeStats",
    "FakeTelegram",
    "FormattedText",
    "ForumTopicState",
    "GroupSim",
    "MessageVersion",
    "SentUpdate",
    "UserSim",
    "detect_entities",
    "escape",
    "parse_html",
    "utf16_len",
]
