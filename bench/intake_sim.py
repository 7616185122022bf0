"""Simulated reporters talking to a bot through a Bot session that answers instantly (no network).

The "Telegram" here is `Source`: updates the reporters send wait in it until the bot's getUpdates takes
them (up to 100 at a time, as Telegram does), arriving as JSON that aiogram parses into `Update`s exactly
as after an HTTP call. Every other API call is answered at once, with the Message Telegram would return;
the latest inline keyboard shown in each chat is kept so a reporter can press what the bot offered.

Two bots can sit behind the same source:
- `IntakeBot`: production wiring — `make_dispatcher` (SQL FSM storage, DbSession/I18n/Flood middlewares,
  every router), the durable-inbox `InboxPoller` and the `UpdateProcessor`;
- `EchoBot`: a bare aiogram `Dispatcher` with one echo handler, run by aiogram's own `start_polling`:
  the ceiling the framework itself allows on this machine.

An update's time is measured from the moment the reporter sends it (it becomes visible to getUpdates)
until the bot has finished handling it (for `IntakeBot`: committed and marked done in the inbox).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, Update

from bot import replies
from bot.app import ALLOWED_UPDATES, make_dispatcher, settle_memory
from bot.i18n import Catalog
from bot.runtime import InboxPoller, UpdateProcessor
from bot.settings import Settings
from bot.telegram_quirks import pin_response_type
from handlers.callbacks import AnonCb, AnswerCb, EvidenceCb, NavCb, RoleCb, TypeCb
from storage.db import Database
from tests.e2e import question_key, step_of
from tests.mocked_bot import BOT_USER, MockedSession

TOKEN = "42:TEST-TOKEN-aaaaaaaaaaaaaaaaaaaa"
MENU_REPORT = "📝 Báo cáo sự cố"
CONFIRM_PREFIX = "is:confirm:"
BOT_JSON = {"id": BOT_USER.id, "is_bot": True, "first_name": BOT_USER.first_name, "username": BOT_USER.username}

Action = tuple[str, ...]
"""("text", text) | ("press", callback data) | ("confirm",): press the summary's confirm button."""


class ScriptMismatch(AssertionError):
    """The bot did not offer the button the script was about to press."""


# --- the Telegram side ------------------------------------------------------------------------------


class Source:
    """Updates waiting for getUpdates, and the latest inline keyboard each chat was shown. As Telegram,
    it keeps handing out an update until a getUpdates offset past it confirms it."""

    def __init__(self, round_trip: float = 0.0) -> None:
        self.round_trip = round_trip  # seconds each Bot API call other than getUpdates takes to be answered
        self._pending: collections.deque[dict[str, Any]] = collections.deque()  # in update id order
        self._arrived = asyncio.Event()
        self.keyboards: dict[int, tuple[int, list[str]]] = {}  # chat id -> (message id, callback data)
        self.api_calls = 0
        self.batches = 0

    def push(self, payload: dict[str, Any]) -> None:
        self._pending.append(payload)
        self._arrived.set()

    async def take(self, offset: int | None, limit: int, wait: float) -> list[dict[str, Any]]:
        pending = self._pending
        while offset is not None and pending and pending[0]["update_id"] < offset:
            pending.popleft()  # confirmed: forgotten
        if not pending:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), wait)
            except TimeoutError:
                return []
        self.batches += 1
        return list(itertools.islice(pending, limit))

    def saw(self, method: TelegramMethod[Any], result: Any) -> None:
        markup = getattr(method, "reply_markup", None)
        chat_id = getattr(method, "chat_id", None)
        if not isinstance(chat_id, int) or not isinstance(result, Message):
            return
        if isinstance(markup, InlineKeyboardMarkup):
            data = [b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data]
            self.keyboards[chat_id] = (result.message_id, data)

    def forget(self, chat_id: int) -> None:
        self.keyboards.pop(chat_id, None)


class InstantSession(MockedSession):
    """Answers every call at once (or after the source's `round_trip`); getUpdates comes from the `Source`.
    Keeps no history (memory stays flat)."""

    def __init__(self, source: Source) -> None:
        super().__init__()
        self.source = source

    async def make_request(self, bot: Bot, method: TelegramMethod[Any],
                           timeout: int | None = None) -> Any:  # noqa: ASYNC109 - aiogram's signature
        if isinstance(method, GetUpdates):  # decoded from JSON text by aiogram, as after HTTP
            batch = await self.source.take(method.offset, method.limit or 100, float(method.timeout or 0))
            pin_response_type(method)  # as production's session middleware does
            return self.check_response(bot, method, 200, json.dumps({"ok": True, "result": batch})).result
        self.source.api_calls += 1
        if self.source.round_trip:
            await asyncio.sleep(self.source.round_trip)
        result = self._result(method)
        self.source.saw(method, result)
        return result


def instant_bot(source: Source) -> Bot:
    return Bot(TOKEN, session=InstantSession(source), default=DefaultBotProperties(parse_mode=ParseMode.HTML))


# --- the bots ---------------------------------------------------------------------------------------


class _NotifyingProcessor(UpdateProcessor):
    def __init__(self, *args: Any, done: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._done = done

    async def handle(self, update: Update) -> None:
        await super().handle(update)
        self._done(update.update_id)


class IntakeBot:
    """The production dispatcher behind the production durable-inbox poller."""

    name = "intake"

    def __init__(self, url: str, settings: Settings, catalog: Catalog, source: Source,
                 done: Callable[[int], None]) -> None:
        self.db = Database(url)
        self.bot = instant_bot(source)
        self.dp = make_dispatcher(self.db, catalog, settings)
        self.processor = _NotifyingProcessor(self.dp, self.bot, self.db, done=done)
        self.poller = InboxPoller(self.bot, self.db, self.processor, timeout=1, allowed_updates=ALLOWED_UPDATES)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        settle_memory()  # as `App.run` does once started
        self._task = asyncio.create_task(self.poller.run(), name="bench-poller")

    async def stop(self) -> None:
        self.poller.stop()
        if self._task is not None:
            await self._task
        await self.processor.wait_idle()
        await replies.settle()  # as `App` does before closing the database
        await self.db.dispose()


class _Done(BaseMiddleware):
    def __init__(self, done: Callable[[int], None]) -> None:
        self.done = done

    async def __call__(self, handler: Callable[[Any, dict[str, Any]], Awaitable[Any]], event: Any,
                       data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        finally:
            self.done(event.update_id)


class EchoBot:
    """A bare aiogram dispatcher: text is echoed back, a button press is answered."""

    name = "echo"

    def __init__(self, source: Source, done: Callable[[int], None]) -> None:
        self.bot = instant_bot(source)
        self.dp = Dispatcher()
        self.dp.update.outer_middleware(_Done(done))
        router = Router()

        @router.message()
        async def echo(message: Message) -> None:
            await message.answer(message.text or "…")

        @router.callback_query()
        async def pressed(query: CallbackQuery) -> None:
            await query.answer()

        self.dp.include_router(router)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        settle_memory()  # the same for the ceiling
        self._task = asyncio.create_task(self.dp.start_polling(
            self.bot, polling_timeout=1, handle_signals=False, close_bot_session=False))
        await asyncio.sleep(0)

    async def stop(self) -> None:
        await self.dp.stop_polling()
        if self._task is not None:
            await self._task


# --- the reporters ----------------------------------------------------------------------------------


@dataclass
class Clock:
    """Sends updates and waits for them to be handled, timing each one: (finished at, seconds taken)."""

    source: Source
    samples: list[tuple[float, float]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _waiting: dict[int, tuple[asyncio.Future[None], float]] = field(default_factory=dict)

    @property
    def latencies(self) -> list[float]:
        return [seconds for _, seconds in self.samples]

    def done(self, update_id: int) -> None:
        entry = self._waiting.pop(update_id, None)
        if entry is not None:
            future, started = entry
            now = time.perf_counter()
            self.samples.append((now, now - started))
            if not future.done():
                future.set_result(None)

    async def send(self, payload: dict[str, Any], timeout: float = 60.0) -> None:  # noqa: ASYNC109
        update_id = next(self._ids)
        payload["update_id"] = update_id
        future = asyncio.get_running_loop().create_future()
        self._waiting[update_id] = (future, time.perf_counter())
        self.source.push(payload)
        await asyncio.wait_for(future, timeout)


class Reporter:
    """One person: types texts and presses buttons, waiting for each to be handled before the next."""

    def __init__(self, clock: Clock, user_id: int, *, think: Callable[[], float] | None = None) -> None:
        self.clock, self.id, self.think = clock, user_id, think
        self._user = {"id": user_id, "is_bot": False, "first_name": f"Người {user_id}", "language_code": "vi"}
        self._chat = {"id": user_id, "type": "private", "first_name": f"Người {user_id}"}
        self._message_ids = itertools.count(1)
        self.updates = 0

    @property
    def buttons(self) -> list[str]:
        return self.clock.source.keyboards.get(self.id, (0, []))[1]

    async def text(self, text: str) -> None:
        message: dict[str, Any] = {"message_id": next(self._message_ids), "date": int(time.time()),
                                   "chat": self._chat, "from": self._user, "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        await self._send({"message": message})

    async def press(self, data: str) -> None:
        message_id = self.clock.source.keyboards.get(self.id, (1, []))[0]
        query = {"id": f"{self.id}-{next(self._message_ids)}", "from": self._user, "chat_instance": "ci",
                 "data": data, "message": {"message_id": message_id, "date": int(time.time()), "chat": self._chat,
                                           "from": BOT_JSON, "text": "…"}}
        await self._send({"callback_query": query})

    async def _send(self, payload: dict[str, Any]) -> None:
        await self.clock.send(payload)
        self.updates += 1

    async def act(self, action: Action, *, verify: bool) -> None:
        kind = action[0]
        if kind == "text":
            await self.text(action[1])
        elif kind == "press":
            if verify and action[1] not in self.buttons:
                raise ScriptMismatch(f"reporter {self.id}: no button {action[1]!r} among {self.buttons}")
            await self.press(action[1])
        elif kind == "confirm":
            confirm = next((d for d in self.buttons if d.startswith(CONFIRM_PREFIX)), None)
            if confirm is None:
                if verify:
                    raise ScriptMismatch(f"reporter {self.id}: no confirm button among {self.buttons}")
                confirm = CONFIRM_PREFIX + "x"
            await self.press(confirm)
        else:
            raise ValueError(f"unknown action {action!r}")

    async def play(self, script: Sequence[Action], *, verify: bool, stop: asyncio.Event | None = None) -> bool:
        """Play the script; False when `stop` was set before its end."""
        try:
            for index, action in enumerate(script):
                if stop is not None and stop.is_set():
                    return False
                await self.act(action, verify=verify)
                if self.think is not None and index < len(script) - 1:
                    await asyncio.sleep(self.think())
            return True
        finally:
            self.clock.source.forget(self.id)


async def record_script(reporter: Reporter, incident: str, answers: dict[str, Any]) -> list[Action]:
    """Answer whatever the bot asks (from `answers`, as tests/e2e.py's reporter does) and write the
    actions down, so thousands of reporters can replay them without re-deciding every step."""
    actions: list[Action] = []

    async def do(*action: str) -> None:
        actions.append(action)
        await reporter.act(action, verify=True)

    await do("text", MENU_REPORT)
    for _ in range(80):
        data = reporter.buttons
        step = step_of([("", d) for d in data])
        if step == "role":
            await do("press", RoleCb(role=answers["role"]).pack())
        elif step == "type":
            await do("press", TypeCb(type=incident).pack())
        elif step == "question":
            key = question_key([("", d) for d in data])
            assert key is not None
            value = answers.get(key, "skip")
            if value == "skip":
                await do("press", NavCb(a="skip", q=key).pack())
            elif isinstance(value, list):
                for choice in value:
                    await do("press", AnswerCb(q=key, v=choice).pack())
                await do("press", NavCb(a="done", q=key).pack())
            elif f"{AnswerCb.__prefix__}:{key}:{value}" in data:
                await do("press", f"{AnswerCb.__prefix__}:{key}:{value}")
            else:
                await do("text", str(value))
        elif step == "evidence":
            for item in answers.get("evidence", []):
                await do("text", item)
            await do("press", EvidenceCb(a="done" if answers.get("evidence") else "none").pack())
        elif step == "identity":
            await do("press", AnonCb(a="anon").pack())
        elif step == "summary":
            await do("confirm")
            reporter.clock.source.forget(reporter.id)
            return actions
        else:
            raise ScriptMismatch(f"cannot tell the step from buttons {data}")
    raise ScriptMismatch("the report never reached its summary")


def uniform_think(mean: float, rng: random.Random) -> Callable[[], float]:
    """Think time uniform in [mean/2, 3·mean/2]."""
    return lambda: rng.uniform(mean / 2, mean * 1.5)
