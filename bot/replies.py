"""Replies go out after the commit, and a process that dies before sending them does not lose them.

A handler's answers to the user (a message, an edit, the answer to a button press) used to be sent while
its update's transaction was open. On SQLite that transaction holds the database's only connection, so
every other update waited out Telegram's round trip: with 50 ms per Bot API call, 200 reporters got 5.6
updates/s and a median wait of 28 s (bench B1, before this module). A reply could also announce what the
commit then failed to keep.

Now, while an update is handled, `HoldReplies` (a Bot-session middleware) keeps the calls that only tell
the user something; calls whose answer a handler needs (getFile, getChatMember…) still go at once, and a
held call returns None, so handlers must not use what these calls return. Just before the commit the held
calls are written, in the same transaction, as one outbox row of kind "replies" that the delivery worker
will only take after `GRACE`. After the commit the update's middleware sends them itself, in order, with
the connection already back in the pool, and the `Ledger` deletes the row (one small transaction, shared
by the replies sent while it runs). So:
- rolled back: nothing is said (the update is retried, or the error handler apologises);
- the process dies before sending, or before the row is deleted: when the instance restarts, its
  `InboxKeeper` sends each chat's last reply again before handling any update (`resend_leftovers`; the
  older ones were sent before that chat's next update began), or another instance's worker sends the rows
  after `GRACE` (at least once, as before: the last reply before a crash may come twice);
- Telegram keeps failing (5xx, network, a long 429): the row goes back to the worker at once, holding the
  calls not yet made, and is delivered when Telegram is back.
A refused edit or button answer does not stop the next message; a user who blocked the bot gets nothing.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    DeleteMessage,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    ForwardMessage,
    SendChatAction,
    SendMessage,
    TelegramMethod,
)
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)

KIND = outbox.REPLIES
HELD = (SendMessage, EditMessageText, EditMessageReplyMarkup, EditMessageCaption, AnswerCallbackQuery, DeleteMessage,
        CopyMessage, ForwardMessage, SendChatAction)
"""Calls that only tell the user something (and store as JSON); anything else is sent at once."""
METHODS = {method.__name__: method for method in HELD}
MESSAGES = (SendMessage, CopyMessage, ForwardMessage)
"""Refused by Telegram (400), these stop the rest: what follows may refer to them. Other refusals are skipped."""
PROCESS = secrets.token_hex(4)  # in keys: update ids may start again (a new bot token), processes do not repeat
GRACE = timedelta(seconds=60)
"""How long the worker leaves a replies row to the process that handled the update."""
TRANSIENT = (TelegramServerError, TelegramNetworkError, TelegramRetryAfter, TimeoutError)
SETTLE_EVERY = 0.0
"""Seconds the ledger waits before deleting sent rows (the ones sent meanwhile share its transaction). Until
a row is deleted, a crash makes the restarted instance send that chat's last reply again. 0.25 s cut B1's
extra CPU per paced update from +19% to +9%, but the SIGKILL e2e test then caught the repeated question
after a restart; now the window is one short transaction, as it was between a reply and its commit before."""
ATTEMPTS = 3
BACKOFF = 0.5  # seconds before the second try, doubled before the next
MAX_LOCAL_WAIT = 2.0  # a longer flood wait is left to the worker, which pauses for it as a whole
CALL_TIMEOUT = 10  # seconds one call may take on the handling process's side before it counts as failed
BUDGET = 20.0
"""Seconds the handling process spends on an update's replies before leaving the rest to the worker; with
`CALL_TIMEOUT` it is done well within `GRACE`, so the worker never sends what the process is still sending."""


class Interrupted(Exception):
    """Telegram kept failing at `calls[index]`; the calls from there on were not made."""

    def __init__(self, index: int, delay: float) -> None:
        super().__init__(index, delay)
        self.index, self.delay = index, delay


def encode(method: TelegramMethod[Any], bot: Bot) -> dict[str, Any]:
    """The JSON form of a held call, with `bot`'s defaults (parse mode…) written in: whoever sends it later
    sends what this bot would have."""
    unset, defaults = set(), {}
    for name, value in method:
        if isinstance(value, Default):
            unset.add(name)
            value = _plain(bot.default[value.name], bot)
            if value is not None:
                defaults[name] = value
        elif value is None:
            unset.add(name)
    params = method.model_dump(mode="json", exclude=unset, exclude_none=True)
    params.update(defaults)
    return {"method": type(method).__name__, "params": params}


def _plain(value: Any, bot: Bot) -> Any:
    """A default's value as JSON (a default may be an object whose own fields are defaults)."""
    if isinstance(value, Default):
        return _plain(bot.default[value.name], bot)
    if isinstance(value, BaseModel):
        fields = {name: _plain(field, bot) for name, field in value}
        return {name: field for name, field in fields.items() if field is not None}
    return value


def decode(call: dict[str, Any]) -> TelegramMethod[Any]:
    return METHODS[call["method"]].model_validate(call["params"])


async def send_calls(bot: Bot, calls: Sequence[TelegramMethod[Any]], *, start: int = 0, attempts: int = 1,
                     call_timeout: int | None = None, budget: float | None = None) -> None:
    """Make `calls[start:]` in order. Raises `Interrupted` (from the last error) when one failed `attempts`
    times for a transient reason or `budget` seconds have passed, and Telegram's refusal of a message or of
    the chat (403)."""
    loop = asyncio.get_running_loop()
    deadline = None if budget is None else loop.time() + budget
    for index in range(start, len(calls)):
        method = calls[index]
        for attempt in range(1, attempts + 1):
            if deadline is not None and loop.time() > deadline:
                raise Interrupted(index, 0.0)
            try:
                await bot(method, request_timeout=call_timeout)
                break
            except TelegramBadRequest as exc:
                if isinstance(method, MESSAGES):
                    raise
                log.info("%s refused, going on: %s", type(method).__name__, exc.message)
                break
            except TRANSIENT as exc:
                delay = float(exc.retry_after) if isinstance(exc, TelegramRetryAfter) else BACKOFF * 2 ** (attempt - 1)
                if attempt == attempts or delay > MAX_LOCAL_WAIT:
                    raise Interrupted(index, delay) from exc
                await asyncio.sleep(delay)


class Ledger:
    """Settles replies rows after their fast path: deletes the sent ones in batches, and hands the rest to
    the worker. A failure here costs at most a duplicate (the worker sends the row after GRACE)."""

    def __init__(self, db: Database, wake: Callable[[], None] | None = None) -> None:
        self.db, self.wake = db, wake
        self._sent: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def sent(self, key: str) -> None:
        self._sent.append(key)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._forget_sent(), name="replies-ledger")
            _tasks.add(self._task)
            self._task.add_done_callback(_tasks.discard)

    async def _forget_sent(self) -> None:
        failures = 0
        while self._sent:
            await asyncio.sleep(SETTLE_EVERY)  # at 0, a turn of the loop: replies sent meanwhile join in
            keys, self._sent = self._sent, []
            try:  # a power cut may lose this, and repeat a reply: no fsync to wait for (`storage.group_commit`)
                async with self.db.session(durable=False) as session:
                    await outbox.discard(session, keys, kind=KIND)
            except Exception as exc:
                failures += 1
                if failures == 3:
                    log.warning("could not settle %d sent replies (%r); the worker may send them again", len(keys), exc)
                    return
                self._sent[:0] = keys
                await asyncio.sleep(0.2 * failures)

    async def hand_over(self, key: str, payload: dict[str, Any], delay: float) -> None:
        """The row's calls not made yet (`payload`) become the worker's, due after `delay`."""
        try:
            async with self.db.session() as session:
                await outbox.reschedule(session, key, payload={**payload, "handed_over": True},
                                        due_at=utcnow() + timedelta(seconds=delay))
        except Exception as exc:
            log.warning("could not hand replies %s to the worker (%r); it takes them after %s", key, exc, GRACE)
            return
        if self.wake is not None:
            self.wake()


_tasks: set[asyncio.Task[None]] = set()


def key_prefix(instance: str) -> str:
    """Rows of one instance: after a restart it takes back its predecessor's at once (`InboxKeeper`)."""
    return f"{KIND}:{instance[:80]}:"


async def settle() -> None:
    """Wait until every sent reply is settled (graceful shutdown, tests)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)


async def resend_leftovers(db: Database, bot: Bot, instance: str) -> tuple[int, int]:
    """At start-up, before any update is handled: what the previous process of `instance` committed but may
    not have sent. Of each chat the last reply is sent again, here and now, so that it comes before the
    answers to anything the person does next (the worker would race them); older ones are dropped
    (`outbox.take_back`). Returns (chats answered again, rows dropped)."""
    async with db.session() as session:
        rows, dropped = await outbox.take_back(session, kind=KIND, key_prefix=key_prefix(instance))
    ledger, gate = Ledger(db), asyncio.Semaphore(16)

    async def again(row: Any) -> None:
        async with gate:
            try:
                calls = [decode(call) for call in row.payload["calls"]]
            except (KeyError, TypeError, ValueError) as exc:  # unreadable: the worker records the refusal
                log.warning("replies row %s is unreadable (%r); left to the delivery worker", row.id, exc)
                await ledger.hand_over(row.key, row.payload, 0.0)
                return
            await _send_and_settle(bot, calls, row.key, ledger, recorded=True)

    await asyncio.gather(*(again(row) for row in rows))
    await settle()
    return len(rows), dropped


async def _send_and_settle(bot: Bot, calls: list[TelegramMethod[Any]], key: str, ledger: Ledger, *,
                           recorded: bool) -> None:
    """Send `calls`; then the row under `key` is deleted, or handed to the worker with what was not sent."""
    try:
        await send_calls(bot, calls, attempts=ATTEMPTS, call_timeout=CALL_TIMEOUT, budget=BUDGET)
    except Interrupted as stop:
        log.warning("replies %s: Telegram failed (%r); %d call(s) left to the delivery worker",
                    key, stop.__cause__ or "too slow", len(calls) - stop.index)
        if recorded:
            await ledger.hand_over(key, {"calls": [encode(c, bot) for c in calls[stop.index:]]}, stop.delay)
        return
    except TelegramAPIError as exc:
        log.info("replies %s refused: %s", key, exc.message)
    if recorded:
        ledger.sent(key)


class Replies:
    """What one update says while its transaction is open."""

    def __init__(self, update_id: int, instance: str) -> None:
        self.calls: list[tuple[Bot, TelegramMethod[Any]]] = []
        self.open = True
        self.key = f"{key_prefix(instance)}{update_id}:{PROCESS}"
        self.recorded = False

    def hold(self, bot: Bot, method: TelegramMethod[Any]) -> bool:
        if not self.open or not isinstance(method, HELD):
            return False
        self.calls.append((bot, method))
        return True

    def discard(self) -> None:
        """The transaction rolled back: what it would have said is not said."""
        self.open = False
        self.calls.clear()

    async def record(self, session: AsyncSession) -> None:
        """Just before the commit, in its transaction: the calls as an outbox row for the worker, should
        this process not get to send them. Button answers alone are not worth a row (they expire anyway)."""
        chat_id = next((m.chat_id for _, m in self.calls if isinstance(getattr(m, "chat_id", None), int)), None)
        if chat_id is None:
            return
        await outbox.enqueue(session, key=self.key, chat_id=chat_id, kind=KIND, wake=False,
                             payload={"calls": [encode(m, bot) for bot, m in self.calls]}, due_at=utcnow() + GRACE)
        self.recorded = True

    async def send(self, ledger: Ledger) -> None:
        """After the commit: every held call in order; never raises for Telegram's answers."""
        self.open = False
        held, self.calls = self.calls, []
        if not held:
            return
        bot, calls = held[0][0], [method for _, method in held]
        await _send_and_settle(bot, calls, self.key, ledger, recorded=self.recorded)


current: ContextVar[Replies | None] = ContextVar("current_replies", default=None)


class HoldReplies(BaseRequestMiddleware):
    """Bot-session middleware: while an update's transaction is open, its replies wait (see module doc)."""

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Any:
        replies = current.get()
        if replies is not None and replies.hold(bot, method):
            return None
        return await make_request(bot, method)


def attach(bot: Bot) -> None:
    """Teach `bot`'s session to hold replies (once per session; every bot our dispatcher serves gets it)."""
    session = bot.session
    if not getattr(session, "_holds_replies", False):
        session.middleware(HoldReplies())
        session._holds_replies = True  # type: ignore[attr-defined]
