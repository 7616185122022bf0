"""Long polling with a durable inbox.

aiogram's own polling asks for the next offset (which confirms the previous batch to Telegram) while
handlers may still be running, so a crash there loses updates. Here a batch is first written to the
inbox table, and no offset past it is sent until it is on disk (`InboxPoller`); handlers run from the
stored copy, updates of one chat strictly in order, different chats concurrently. On start-up anything
still pending is handled first, so a SIGKILL between "received" and "handled" delays an update but never
eats it.

Several instances (webhook mode behind a load balancer): each stored row is claimed by the instance that
stored it, for a lease it renews while working (`InboxKeeper`); a row whose lease ran out because its
instance died is claimed and handled by another instance, in update-id order. An update handled twice
anyway (a lease lost mid-handling) commits only once: marking it done is part of the handler's
transaction and refuses a row that is already done.

A service outage (database, Redis) is not a handler failure: the update waits, keeps its place and its
attempts, and is retried when the service is back (see `bot.health.Outages`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig

from bot import raw_updates, replies
from bot.health import Outages, describe
from storage import inbox
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3
RETRY_DELAY = 0.5
BACKOFF = BackoffConfig(min_delay=0.5, max_delay=10.0, factor=1.5, jitter=0.1)
DEFAULT_LEASE = 60.0
T = TypeVar("T")


def instance_id(role: str | None = None) -> str:
    """Who claims inbox rows. With a `role` (e.g. the port it listens on) the name is stable across restarts
    on the same host, so a restarted process takes back its predecessor's rows at once instead of waiting
    for their lease to run out; without one it is unique to this process."""
    host = socket.gethostname()[:40] or "host"
    return f"{host}:{role[:20]}" if role else f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


class UpdateMetrics(Protocol):
    def handled(self, result: str) -> None: ...

    def handler_time(self, seconds: float) -> None: ...


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

    def __init__(self, dp: Dispatcher, bot: Bot, db: Database, *, outages: Outages | None = None,
                 metrics: UpdateMetrics | None = None, **context: Any) -> None:
        self.dp, self.bot, self.db, self.context = dp, bot, db, context
        self.outages, self.metrics = outages, metrics
        self.in_hand: set[int] = set()  # submitted and not finished: their leases are renewed
        self._queues: dict[str, asyncio.Queue[Update]] = defaultdict(asyncio.Queue)
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = asyncio.Event()

    def submit(self, update: Update) -> bool:
        """Queue an update behind its chat's earlier ones; False if it is already in hand here."""
        if update.update_id in self.in_hand:
            return False
        self.in_hand.add(update.update_id)
        key = chat_key(update)
        self._queues[key].put_nowait(update)
        self._idle.clear()
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._drain(key), name=f"chat-{key}")
        return True

    def stop(self) -> None:
        """Stopping: updates waiting for a service outage to end give up and stay pending in the inbox."""
        self._stopping.set()

    async def _drain(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while not queue.empty():
                update = queue.get_nowait()
                try:
                    await self.handle(update)
                except Exception as exc:  # e.g. the failure could not be recorded: the row stays pending
                    log.warning("update %s left pending in the inbox: %s", update.update_id, describe(exc))
                finally:
                    self.in_hand.discard(update.update_id)
        finally:
            del self._workers[key]
            self._queues.pop(key, None)
            if not self._workers:
                self._idle.set()

    def _count(self, result: str, started: float | None = None) -> None:
        if self.metrics is not None:
            if started is not None:
                self.metrics.handler_time(time.perf_counter() - started)
            self.metrics.handled(result)

    async def handle(self, update: Update) -> None:
        """Handle one update, retrying a few times; a persistent failure is parked for an operator."""
        attempt = 1
        while True:
            final = attempt == MAX_ATTEMPTS
            started = time.perf_counter()
            try:
                result = await self.dp.feed_update(self.bot, update, final_attempt=final, **self.context)
                self._count("duplicate" if result is inbox.ALREADY_HANDLED else "ok", started)
                return
            except Exception as exc:  # a handler bug must not stop the bot
                if self.outages is not None and not self._stopping.is_set():
                    down = await self.outages.suspect(exc)
                    if down is not None:
                        self._count("deferred", started)
                        if await self.outages.wait_back(down, self._stopping):
                            continue  # same attempt: the outage was not the update's fault
                        log.info("update %s stays pending for later (stopping while %s is down)",
                                 update.update_id, down)
                        return
                log.warning("update %s attempt %s failed: %r", update.update_id, attempt, exc)
                self._count("parked" if final else "error", started)
                async with self.db.session() as session:
                    await inbox.record_failure(session, update.update_id, repr(exc), give_up=final)
                if final:
                    return
                await asyncio.sleep(RETRY_DELAY * attempt)
                attempt += 1

    async def wait_idle(self) -> None:
        await self._idle.wait()


class InboxKeeper:
    """This instance's share of the inbox: renews the leases of rows in hand, and claims rows whose lease
    ran out (left by an instance that died, or by this process's previous run) - at start-up and then
    every quarter lease."""

    def __init__(self, bot: Bot, db: Database, processor: UpdateProcessor, *, instance: str | None = None,
                 lease: float = DEFAULT_LEASE, outages: Outages | None = None) -> None:
        self.bot, self.db, self.processor = bot, db, processor
        self.instance = instance or instance_id()
        self.lease = timedelta(seconds=lease)
        self.outages = outages
        self._first = True

    @property
    def interval(self) -> float:
        return self.lease.total_seconds() / 4

    async def recover(self) -> int:
        """Claim pending rows nobody holds and hand them to the processor, lowest update id first (at the
        first call, start-up, also those leased to this instance's name: its previous process is gone)."""
        submitted = 0
        after: int | None = None
        if self._first:
            await self._take_back_replies()
        while True:
            updates, broken = [], []
            async with self.db.session() as session:
                rows = await inbox.claim_expired(session, instance=self.instance, now=utcnow(), lease=self.lease,
                                                 take_own=self._first, after=after)
                for row in rows:
                    try:
                        updates.append(Update.model_validate(row.payload, context={"bot": self.bot}))
                    except Exception as exc:
                        broken.append(row.update_id)
                        await inbox.record_failure(session, row.update_id, f"unreadable update: {exc!r}",
                                                   give_up=True)
            for update_id in broken:
                log.warning("update %s is not a readable Telegram update; parked (see `inbox list`)", update_id)
            for update in updates:  # after the claim is committed
                submitted += self.processor.submit(update)
            if len(rows) < 100:
                break
            after = rows[-1].update_id
        if submitted:
            log.info("resuming %d update(s) left pending by a previous run or a stopped instance", submitted)
        self._first = False
        return submitted

    async def _take_back_replies(self) -> None:
        """Replies the previous process committed but may not have sent go out first (`bot.replies`)."""
        again, dropped = await replies.resend_leftovers(self.db, self.bot, self.instance)
        if again or dropped:
            log.info("replies left by the previous run: %d chat(s) got their last one again, %d were sent already",
                     again, dropped)

    async def renew(self) -> int:
        in_hand = sorted(self.processor.in_hand)
        if not in_hand:
            return 0
        async with self.db.session() as session:
            return await inbox.renew(session, in_hand, instance=self.instance, until=utcnow() + self.lease)

    async def release(self) -> int:
        """Stopping: let other instances take at once what this one claimed but did not finish."""
        async with self.db.session() as session:
            ids = [row.update_id for row in await inbox.pending(session)
                   if row.claimed_by == self.instance and row.update_id not in self.processor.in_hand]
            return await inbox.release(session, ids, instance=self.instance)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.interval)
                break
            except TimeoutError:
                pass
            try:
                await self.renew()
                await self.recover()
            except Exception as exc:
                if self.outages is not None and await self.outages.suspect(exc) is not None:
                    continue  # logged once by Outages; the next round tries again
                log.exception("inbox recovery failed; will retry")


SYNC_PATIENCE = 0.005
"""Seconds fetching waits for the sync of the batches stored so far before asking Telegram again with the
offset the disk allows (a sync usually takes well under that; bench B1 saw single fsyncs of up to a second)."""


class _Confirming:
    """What the poller may confirm to Telegram: the updates it stored, once a sync has put them on disk.
    One sync at a time runs beside the handlers; each covers everything stored when it began."""

    def __init__(self, synced: Callable[[], Awaitable[bool]]) -> None:
        self._synced = synced
        self.stored: int | None = None  # one past the newest update stored
        self.confirmed: int | None = None  # the offset to send: everything below it is on disk
        self._task: asyncio.Task[bool] | None = None
        self._target: int | None = None

    async def settle(self, stop: asyncio.Task[Any]) -> bool:
        """Start syncing what is stored and not yet on disk, and wait for it up to `SYNC_PATIENCE`;
        False when stopping, or when the sync gave up because the poller is stopping."""
        task = self._task or self._begin()
        if task is None:
            return True
        done, _ = await asyncio.wait({task, stop}, timeout=SYNC_PATIENCE, return_when=asyncio.FIRST_COMPLETED)
        if task not in done:
            return stop not in done
        self._task = None
        if not task.result():
            return False
        self.confirmed = self._target
        self._begin()  # what was stored meanwhile is synced next, at once
        return True

    def _begin(self) -> asyncio.Task[bool] | None:
        """A sync of everything stored so far, unless all of it is confirmed already."""
        if self.stored != self.confirmed:
            self._task, self._target = asyncio.create_task(self._synced()), self.stored
        return self._task

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()


class InboxPoller:
    """getUpdates → store → handle, and sync → confirm (by a later getUpdates' offset).

    An offset confirms to Telegram every update below it, and Telegram then forgets them: it only ever
    goes past updates that are on disk. A batch is stored without waiting for the disk and handed to its
    handlers at once, and the sync that makes it confirmable runs beside them. Fetching waits for that sync
    only briefly (`SYNC_PATIENCE`): while the disk is slow (an fsync of this VM's disk can take a second,
    bench B1), getUpdates is asked again with the offset the disk allows so far. Telegram answers with the
    batches not yet confirmed, which are skipped before they are even parsed (`raw_updates`), and with
    whatever arrived since, which is stored and handled as usual: one slow fsync delays no one's answer."""

    def __init__(self, bot: Bot, db: Database, processor: UpdateProcessor, *, timeout: int = 25,
                 allowed_updates: list[str] | None = None, keeper: InboxKeeper | None = None,
                 outages: Outages | None = None) -> None:
        self.bot, self.db, self.processor = bot, db, processor
        self.timeout, self.allowed_updates = timeout, allowed_updates
        self.keeper = keeper or InboxKeeper(bot, db, processor, outages=outages)
        self.outages = outages
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def recover(self) -> int:
        """Handle what a previous process stored but did not finish."""
        return await self.keeper.recover()

    async def _store(self, payloads: list[dict[str, Any]]) -> set[int] | None:
        """Store a batch, waiting out a database outage; None when asked to stop meanwhile.

        The store is committed without waiting for the disk (`durable=False`), so its updates are handled
        without waiting behind an fsync; the batch is confirmed to Telegram only after `_synced`."""
        async def store() -> set[int]:
            async with self.db.session(durable=False) as session:
                return set(await inbox.store(session, payloads, claimed_by=self.keeper.instance,
                                             lease=self.keeper.lease))
        return await self._retrying("store updates", store)

    async def _synced(self) -> bool:
        """Wait until the batches stored so far are on disk; False when asked to stop meanwhile."""
        async def sync() -> bool:
            await self.db.until_durable()
            return True
        return bool(await self._retrying("sync stored updates", sync))

    async def _retrying(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T | None:
        """`attempt()` until it succeeds, waiting out a database outage; None when asked to stop meanwhile."""
        backoff = Backoff(config=BACKOFF)
        while not self._stop.is_set():
            try:
                return await attempt()
            except Exception as exc:
                down = await self.outages.suspect(exc) if self.outages is not None else None
                if down is not None:
                    await self.outages.wait_back(down, self._stop)  # type: ignore[union-attr]
                    continue
                log.warning("could not %s (%s); retrying in %.1fs", what, describe(exc), backoff.next_delay)
                await backoff.asleep()
        return None

    async def run(self) -> None:
        await self.recover()
        stop = asyncio.create_task(self._stop.wait())  # one for every round (a lone update has a round to itself)
        sync = _Confirming(self._synced)
        try:
            await self._poll(stop, sync)
        finally:
            stop.cancel()
            sync.cancel()

    async def _poll(self, stop: asyncio.Task[Any], sync: _Confirming) -> None:
        backoff = Backoff(config=BACKOFF)
        while not self._stop.is_set():
            fetch = asyncio.create_task(raw_updates.get_updates(
                self.bot, offset=sync.confirmed, timeout=self.timeout, allowed_updates=self.allowed_updates,
                skip_below=sync.stored))
            done, _ = await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
            if fetch not in done:
                fetch.cancel()
                break
            try:
                updates, payloads = fetch.result()
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
                continue
            except (TelegramNetworkError, TelegramServerError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.1fs", type(exc).__name__, backoff.next_delay)
                await backoff.asleep()
                continue
            backoff.reset()
            new = [(u, p) for u, p in zip(updates, payloads, strict=True) if sync.stored is None
                   or u.update_id >= sync.stored]  # a batch asked for again before its sync ended: skipped
            if new and not await self._take([u for u, _ in new], [p for _, p in new]):
                break  # stopping before the batch was stored: it is not confirmed, Telegram sends it again
            if new:
                sync.stored = new[-1][0].update_id + 1
            if not await sync.settle(stop):
                break  # stopping before the batch was on disk: it is not confirmed either

    async def _take(self, updates: list[Update], payloads: list[dict[str, Any]]) -> bool:
        """Store a batch and hand what is new in it to the processor; False when asked to stop first."""
        fresh = await self._store(payloads)
        if fresh is None:
            return False
        for update in updates:
            if update.update_id in fresh:
                self.processor.submit(update)
            elif self.processor.metrics is not None:
                self.processor.metrics.handled("duplicate")
        return True
