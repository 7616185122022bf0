"""Long polling with a durable inbox.

aiogram's own polling asks for the next offset (which confirms the previous batch to Telegram) while
handlers may still be running, so a crash there loses updates. Here a batch is first written to the
inbox table, and only then is the next offset requested; handlers run from the stored copy, updates
of one chat strictly in order, different chats concurrently. On start-up anything still pending is
handled first, so a SIGKILL between "received" and "handled" delays an update but never eats it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig

from storage import inbox
from storage.db import Database

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
RETRY_DELAY = 0.5
BACKOFF = BackoffConfig(min_delay=0.5, max_delay=10.0, factor=1.5, jitter=0.1)


def chat_key(update: Update) -> str:
    """Updates sharing a key are handled one after another, in the order Telegram sent them."""
    for event in (update.message, update.edited_message, update.channel_post):
        if event is not None:
            return f"c{event.chat.id}"
    if update.callback_query is not None:
        message = update.callback_query.message
        return f"c{message.chat.id}" if message is not None else f"u{update.callback_query.from_user.id}"
    if update.my_chat_member is not None:
        return f"c{update.my_chat_member.chat.id}"
    return f"u{update.update_id}"


class UpdateProcessor:
    """Feeds stored updates to the dispatcher: serial per chat, concurrent across chats, retried."""

    def __init__(self, dp: Dispatcher, bot: Bot, db: Database, **context: Any) -> None:
        self.dp, self.bot, self.db, self.context = dp, bot, db, context
        self._queues: dict[str, asyncio.Queue[Update]] = defaultdict(asyncio.Queue)
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, update: Update) -> None:
        key = chat_key(update)
        self._queues[key].put_nowait(update)
        self._idle.clear()
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._drain(key), name=f"chat-{key}")

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while not queue.empty():
                await self.handle(queue.get_nowait())
        finally:
            del self._workers[key]
            self._queues.pop(key, None)
            if not self._workers:
                self._idle.set()

    async def handle(self, update: Update) -> None:
        """Handle one update, retrying a few times; a persistent failure is parked for an operator."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            final = attempt == MAX_ATTEMPTS
            try:
                await self.dp.feed_update(self.bot, update, final_attempt=final, **self.context)
                return
            except Exception as exc:  # a handler bug must not stop the bot
                log.warning("update %s attempt %s failed: %r", update.update_id, attempt, exc)
                async with self.db.session() as session:
                    await inbox.record_failure(session, update.update_id, repr(exc), give_up=final)
                if not final:
                    await asyncio.sleep(RETRY_DELAY * attempt)

    async def wait_idle(self) -> None:
        await self._idle.wait()


class InboxPoller:
    """getUpdates → store → confirm (by the next offset) → handle."""

    def __init__(self, bot: Bot, db: Database, processor: UpdateProcessor, *, timeout: int = 25,
                 allowed_updates: list[str] | None = None) -> None:
        self.bot, self.db, self.processor = bot, db, processor
        self.timeout, self.allowed_updates = timeout, allowed_updates
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def recover(self) -> int:
        """Handle what a previous process stored but did not finish."""
        async with self.db.session() as session:
            rows = await inbox.pending(session)
        for row in rows:
            self.processor.submit(Update.model_validate(row.payload, context={"bot": self.bot}))
        if rows:
            log.info("resuming %d update(s) left pending by the previous run", len(rows))
        return len(rows)

    async def run(self, on_first_batch: Callable[[], None] | None = None) -> None:
        await self.recover()
        offset: int | None = None
        backoff = Backoff(config=BACKOFF)
        while not self._stop.is_set():
            fetch = asyncio.create_task(self.bot.get_updates(
                offset=offset, timeout=self.timeout, allowed_updates=self.allowed_updates))
            stop = asyncio.create_task(self._stop.wait())
            done, _ = await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
            if fetch not in done:
                fetch.cancel()
                break
            stop.cancel()
            try:
                updates = fetch.result()
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            except (TelegramNetworkError, TelegramServerError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.1fs", type(exc).__name__, backoff.next_delay)
                await backoff.asleep()
                continue
            backoff.reset()
            if not updates:
                continue
            payloads = [u.model_dump(mode="json", exclude_none=True, by_alias=True) for u in updates]
            async with self.db.session() as session:
                fresh = set(await inbox.store(session, payloads))
            offset = updates[-1].update_id + 1
            for update in updates:
                if update.update_id in fresh:
                    self.processor.submit(update)
