"""The delivery worker: sends what the outbox holds, politely, in order, and never loses a row.

Channel-agnostic: a `Sender` (e.g. `bot.telegram_sender.TelegramSender`) turns one outbox row into one
API call and reports a `SendResult`; this module decides what happens next and knows nothing of aiogram.

What it guarantees
- **Nothing is lost.** A row is marked `sending` (and committed) before the call and `sent`/`failed`/
  back to `pending` after it, with the app's hooks (`on_sent`, `on_failed`) in that same transaction.
- **Order per chat.** Only the oldest unfinished row of a chat may be sent (see `storage.outbox`), and a
  chat has at most one send in flight, so a status message never overtakes the card it refers to.
  Different chats proceed concurrently (`concurrency`, 8 by default).
- **Telegram's limits.** A global token bucket (`global_rate`: 96% of Telegram's ~30/s, with a burst of
  one, so sends are evenly spaced; `worker_settings_for`), and `ArrivalWindow`, which keeps any second at
  Telegram's end within its limit (`global_limit`) whatever the network delays, so late sends catch up;
  per private chat `private_per_second` with a `private_burst`, per group the same plus at most
  `group_per_minute` in any minute. Rows are claimed in small batches and each is sent at the slot it
  booked on the global bucket (up to `SCHEDULE_AHEAD` ahead). A row whose chat is not allowed yet simply
  stays pending while other chats proceed; the worker sleeps until the next row can go (no busy loop). A
  429 is honoured exactly: that row waits `retry_after`, and the whole worker pauses as long, since flood
  control applies to the bot (rows booked for a slot inside the pause go back in line unsent).
- **Outcomes are committed in groups**: results arriving while one transaction is written share the next;
  a group in which anything fails is rolled back and recorded row by row.
- **Transient errors** (network, 5xx, timeouts) are retried with exponential backoff and jitter, bounded
  by `max_delay`; after `max_attempts` the row is `failed`. **Permanent refusals** fail the row at once:
  when the recipient is gone (403 blocked/kicked, "chat not found", "user is deactivated") `on_failed`
  runs, so the app marks the recipient unreachable and routes the case to the next one; other 400s are
  bugs in what we sent and are logged as errors.

Crash policy ("sending" found at start-up)
A row still `sending` when a worker starts was claimed by a worker that died during the call: the
message may or may not have reached Telegram, and the Bot API offers no way to ask whether a
`sendMessage` happened (no client-supplied idempotency key, no lookup of sent messages). Such rows become
`uncertain` and are then sent again:
- `edit` rows are idempotent (an edit to the same content is refused as "not modified", which counts as
  success), so resending is harmless;
- every other kind is resent ONCE more, accepting a possible duplicate: a responder seeing a case card
  twice is a nuisance, a card that never arrives is a case that reaches nobody. These resends are counted
  (`stats["uncertain_resent"]`) and logged, so the final numbers show them.
The window is small: the row is committed as `sending` immediately before the call and settled
immediately after it. A crash *before* the claim (e.g. between "case saved" and the worker's next turn)
leaves the row `pending`, and it is then sent exactly once.

Several workers: on PostgreSQL rows are claimed with `FOR UPDATE SKIP LOCKED`, and a claim holds a lease
(`lease` seconds, kept in `due_at` while `sending`); only rows past their lease are treated as orphaned.
On SQLite run a single worker (`exclusive`, the default there): at start-up it takes every `sending` row
as orphaned.

Hooks get the session of the transaction that records the outcome: `on_sent(session, row, result)`,
`on_failed(session, row)` (recipient gone only), `on_thread_gone(session, row)` (forum topic deleted).
If a hook raises, the outcome is still recorded without it (and logged), so a hook bug cannot make a
delivered message be sent again.

Wiring: `worker = DeliveryWorker(db, TelegramSender(bot), on_sent=..., on_failed=...)`, run
`await worker.run()` as a task, call `worker.wake()` after committing a transaction that enqueued
(`storage.outbox.was_enqueued(session)`), and `worker.stop()` then await the task on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

OnSent = Callable[[AsyncSession, OutboxMessage, "SendResult"], Awaitable[None]]
OnRowFailed = Callable[[AsyncSession, OutboxMessage], Awaitable[None]]
Mark = Callable[[AsyncSession], Awaitable[OutboxMessage | None]]
Hook = Callable[[AsyncSession, OutboxMessage], Awaitable[None]]
MIN_PAUSE = 0.005

TELEGRAM_GLOBAL_LIMIT = 30.0
"""Messages per second Telegram lets one bot send in all (about 30); beyond it, sends are answered 429."""
RATE_SHARE = 0.96
"""Share of a platform's global limit the worker sends at. With a burst of one, no one-second window ever
holds more than `RATE_SHARE * limit + 1` sends, leaving ~3% for timing jitter (bench B2)."""
SCHEDULE_AHEAD = 0.1
"""Seconds of sends that may be booked ahead: rows are claimed in batches and sent at their booked slot."""
ROUND_TRIP = 0.1
"""Seconds one API call is assumed to take; sends in flight = rate × ROUND_TRIP (Little's law)."""
CATCH_UP = 2.0
"""A send that starts late (the loop was busy) may follow the previous one at `1 / (CATCH_UP × rate)`:
lost time is made up, within the window above, instead of being lost for good (bench B2)."""


def worker_settings_for(global_limit: float) -> dict[str, Any]:
    """Global pacing for a platform allowing `global_limit` messages/s: `RATE_SHARE` of it, evenly spaced,
    with enough sends in flight to keep that rate at a `ROUND_TRIP` per call. For Telegram (30/s): 28.8/s,
    a burst of 1, 8 in flight."""
    rate = global_limit * RATE_SHARE
    return {"global_rate": rate, "global_burst": max(1.0, global_limit * 0.01), "global_limit": global_limit,
            "concurrency": max(8, math.ceil(rate * ROUND_TRIP))}


DEFAULTS = worker_settings_for(TELEGRAM_GLOBAL_LIMIT)
HOOK_ATTEMPTS = 4


@dataclass(frozen=True)
class SendResult:
    """What one send attempt came to.

    ok: delivered (`message_id` of the message, or the thread id for a created topic).
    retry_after: flood wait in seconds (429); the row is retried exactly then.
    permanent: retrying cannot help; the row fails. `recipient_gone`: the chat refuses the bot for good
    (on_failed runs); `thread_gone`: the forum topic no longer exists.
    Anything else that is not ok is transient and retried with backoff.
    """

    ok: bool
    message_id: int | None = None
    retry_after: float | None = None
    permanent: bool = False
    error: str = ""
    recipient_gone: bool = False
    thread_gone: bool = False

    @classmethod
    def sent(cls, message_id: int | None = None) -> SendResult:
        return cls(ok=True, message_id=message_id)

    @classmethod
    def flood(cls, retry_after: float, error: str = "") -> SendResult:
        return cls(ok=False, retry_after=float(retry_after), error=error or f"flood wait {retry_after}s")

    @classmethod
    def transient(cls, error: str) -> SendResult:
        return cls(ok=False, error=error)

    @classmethod
    def refused(cls, error: str, *, recipient_gone: bool = False, thread_gone: bool = False) -> SendResult:
        return cls(ok=False, permanent=True, error=error, recipient_gone=recipient_gone, thread_gone=thread_gone)


class Sender(Protocol):
    """Delivers one outbox row (anything with id, key, chat_id, kind, case_id, payload) over a channel."""

    async def send(self, item: OutboxMessage) -> SendResult: ...


# ------------------------------------------------------------------------------------------------
# rate limiting
# ------------------------------------------------------------------------------------------------


class TokenBucket:
    """`rate` tokens per second, holding at most `capacity`. A cost above the capacity is allowed once
    the bucket is full and leaves it in debt, so large albums still respect the average rate."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait(self, now: float, cost: float = 1.0) -> float:
        """Seconds until `cost` may be taken (0 when now)."""
        self._refill(now)
        need = min(cost, self.capacity) - self.tokens
        # Epoch clocks carry ~1e-7 s of float resolution: a shortfall below a microsecond's worth is none.
        return 0.0 if need <= self.rate * 1e-6 else need / self.rate

    def available(self, now: float) -> float:
        self._refill(now)
        return self.tokens

    def take(self, now: float, cost: float = 1.0) -> None:
        self._refill(now)
        self.tokens -= cost

    def idle(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.capacity


class SlidingWindow:
    """At most `limit` units in any `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.stamps: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self.stamps and self.stamps[0] <= now - self.window:
            self.stamps.popleft()

    def wait(self, now: float, cost: int = 1) -> float:
        self._trim(now)
        cost = min(cost, self.limit)
        if len(self.stamps) + cost <= self.limit:
            return 0.0
        # The slot that must expire for `cost` more to fit.
        return max(0.0, self.stamps[len(self.stamps) + cost - self.limit - 1] + self.window - now)

    def take(self, now: float, cost: int = 1) -> None:
        self._trim(now)
        self.stamps.extend([now] * cost)

    def idle(self, now: float) -> bool:
        self._trim(now)
        return not self.stamps


class ArrivalWindow:
    """At most `limit` sends reaching the platform in any `window` seconds, whatever the network does.

    When a send reaches Telegram is not known, only that it is between its start and its answer. So a send
    counts from its start until `window` seconds after its answer (or for as long as it is in flight), and
    a send may start only if the count leaves room for it. Then any `window` seconds at Telegram's end hold
    at most `limit`: every send arriving in them was counted when the last of them to start did. Spacing
    sends by their start alone, with an allowance for jitter, drew 429s in bench B2 whenever a send took
    longer than the allowance (the first sends, opening connections), each stopping all sends for a second.
    The cost: a send holds its place for its round trip too, so the window alone would allow
    `limit / (window + round trip)` per second (the bucket's 96% binds first below ~40 ms)."""

    def __init__(self, limit: int, window: float = 1.0) -> None:
        self.limit, self.window = limit, window
        self.in_flight = 0
        self._answered: deque[tuple[float, int]] = deque()  # (answer time, cost), oldest first
        self._answered_cost = 0

    def wait(self, now: float, cost: int = 1) -> float | None:
        """0 if a send of `cost` may start now; else seconds until enough answers leave the window, or None
        when only sends still in flight can make room."""
        while self._answered and self._answered[0][0] <= now - self.window:
            self._answered_cost -= self._answered.popleft()[1]
        excess = self.in_flight + self._answered_cost + min(cost, self.limit) - self.limit
        if excess <= 0:
            return 0.0
        for answered_at, units in self._answered:
            excess -= units
            if excess <= 0:
                return answered_at + self.window - now
        return None

    def start(self, cost: int = 1) -> None:
        self.in_flight += cost

    def finish(self, now: float, cost: int = 1, *, sent: bool = True) -> None:
        self.in_flight -= cost
        if sent:
            self._answered.append((now, cost))
            self._answered_cost += cost


class ChatLimiter:
    """One chat's allowance: a token bucket, plus a per-minute window for groups."""

    def __init__(self, bucket: TokenBucket, window: SlidingWindow | None) -> None:
        self.bucket = bucket
        self.window = window

    def wait(self, now: float, cost: int = 1) -> float:
        wait = self.bucket.wait(now, cost)
        if self.window is not None:
            wait = max(wait, self.window.wait(now, cost))
        return wait

    def take(self, now: float, cost: int = 1) -> None:
        self.bucket.take(now, cost)
        if self.window is not None:
            self.window.take(now, cost)

    def idle(self, now: float) -> bool:
        return self.bucket.idle(now) and (self.window is None or self.window.idle(now))


def message_cost(row: OutboxMessage) -> int:
    """How many messages a row puts into the chat (an album counts each item)."""
    if row.kind == "media":
        items = (row.payload or {}).get("items") or []
        return max(1, len(items))
    return 1


# ------------------------------------------------------------------------------------------------
# the worker
# ------------------------------------------------------------------------------------------------


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        sender: Sender,
        *,
        global_rate: float = DEFAULTS["global_rate"],
        global_burst: float | None = None,
        global_limit: float | None = None,
        private_per_second: float = 1.0,
        private_burst: int = 3,
        group_per_minute: int = 20,
        max_attempts: int = 12,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        concurrency: int = DEFAULTS["concurrency"],
        poll_interval: float = 1.0,
        lease: float = 120.0,
        exclusive: bool | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
        on_sent: OnSent | None = None,
        on_failed: OnRowFailed | None = None,
        on_thread_gone: OnRowFailed | None = None,
    ) -> None:
        """`clock` returns epoch seconds (it also dates rows: due_at, sent_at); `sleep` waits that clock's
        seconds. `exclusive` (default: SQLite) means this is the only worker on the database. `global_limit`
        is the platform's own limit per second (default: `global_rate / RATE_SHARE`), never exceeded."""
        self.db = db
        self.sender = sender
        self.global_rate = global_rate
        self.private_per_second = private_per_second
        self.private_burst = private_burst
        self.group_per_minute = group_per_minute
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.lease = lease
        self.exclusive = db.dialect == "sqlite" if exclusive is None else exclusive
        self.clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.on_sent = on_sent
        self.on_failed = on_failed
        self.on_thread_gone = on_thread_gone
        self.stats: Counter[str] = Counter()
        now = clock()
        # A burst of ~1% of the rate: sends are spread evenly, never bunched above the platform's limit.
        self._global = TokenBucket(global_rate, global_burst or max(1.0, global_rate * 0.01), now)
        self.schedule_ahead = SCHEDULE_AHEAD
        self._next_send = 0.0  # earliest clock time the next send may start (see `_take_turn`)
        self._arrivals = ArrivalWindow(max(1, math.floor((global_limit or global_rate / RATE_SHARE) + 1e-9)))
        self._turns = asyncio.Lock()
        self._outcomes: list[tuple[OutboxMessage, Mark, Hook | None, asyncio.Future[None]]] = []
        self._recorder: asyncio.Task[None] | None = None
        self._chats: dict[int, ChatLimiter] = {}
        self._limited: set[int] = set()  # chats whose limiter said "wait" after their latest send
        self._inflight: dict[int, tuple[int, asyncio.Task[None]]] = {}  # row id -> (chat id, task)
        self._paused_until = 0.0
        self._wake = asyncio.Event()
        self._stopping = False
        self._started = False
        self._next_recovery = 0.0

    # --- control ------------------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the outbox now (call after committing a transaction that enqueued)."""
        self._wake.set()

    def stop(self) -> None:
        """Ask `run()` to return after the sends in flight have been recorded."""
        self._stopping = True
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    async def run(self) -> None:
        """Deliver until `stop()`; wakes on `wake()`, else looks again every `poll_interval` at most."""
        await self._start()
        failing = False
        try:
            while not self._stopping:
                try:
                    delay = await self._step()
                    if failing:
                        failing = False
                        log.warning("delivery resumed")
                except Exception as exc:
                    if not failing:  # one line per outage, not one per second
                        failing = True
                        log.warning("delivery paused: %s: %s; trying again every %.0fs", type(exc).__name__,
                                    str(exc).splitlines()[0][:200] if str(exc) else "", self.poll_interval)
                    delay = self.poll_interval
                if not self._stopping:
                    await self._pause(delay)
            await self._finish_in_flight()
        except asyncio.CancelledError:
            for _, task in self._inflight.values():
                task.cancel()
            if self._recorder is not None:
                self._recorder.cancel()
            await asyncio.gather(*(task for _, task in self._inflight.values()), return_exceptions=True)
            raise

    async def drain(self, timeout: float = 10.0) -> bool:  # noqa: ASYNC109 - the worker's clock, not wall time
        """Deliver everything due now, and retries falling due within `timeout` (clock seconds).

        True when nothing is left sending, nor pending/uncertain and due by the deadline. For tests and
        one-shot runs; do not call it while `run()` is active.
        """
        await self._start()
        deadline = self.clock() + timeout
        while True:
            delay = await self._step()
            if not self._inflight:
                async with self.db.session() as session:
                    left = await outbox.unfinished(session, due_by=_at(deadline))
                if not left:
                    return True
            remaining = deadline - self.clock()
            if remaining <= 0:
                await self._finish_in_flight()
                return False
            # Waiting on sends in flight, it still looks again every poll interval: under a test's clock, a
            # single sleep until the deadline could pass before the send's wake-up arrives.
            await self._pause(min(self.poll_interval if delay is None else delay, remaining))

    # --- the loop -----------------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._started:
            return
        self._started = True
        await self._recover(all_sending=self.exclusive)

    async def _recover(self, *, all_sending: bool) -> None:
        now = self.clock()
        self._next_recovery = now + self.lease / 4
        async with self.db.session() as session:
            rows = await outbox.recover(session, now=_at(now), all_sending=all_sending)
            rows = [row for row in rows if row.id not in self._inflight]
        if rows:
            self.stats["recovered"] += len(rows)
            log.warning(
                "%d outbox row(s) were being sent when a worker stopped; they will be sent again "
                "(edits are harmless, other kinds may arrive twice): ids %s",
                len(rows), [row.id for row in rows][:20],
            )

    async def _step(self) -> float | None:
        """Start the sends allowed now. Returns how long to wait before looking again (None: until a send
        in flight finishes or `wake()`)."""
        now = self.clock()
        if not self.exclusive and now >= self._next_recovery:
            await self._recover_expired(now)
        if now < self._paused_until:
            return self._paused_until - now
        free = self.concurrency - len(self._inflight)
        if free <= 0:
            return None
        # Sends may be booked up to `schedule_ahead` seconds ahead of the global bucket; each waits for its
        # slot in `_deliver`. So rows are claimed in batches, not one claim per token.
        bookable = self._global.available(now) + self._global.rate * self.schedule_ahead
        if bookable < 1:
            return max(MIN_PAUSE, (1 - bookable) / self._global.rate)
        limit = min(free, max(1, int(bookable)))
        limited = self._limited_chats(now)
        busy = {chat for chat, _ in self._inflight.values()}
        async with self.db.session() as session:
            claimed = await outbox.claim(
                session, now=_at(now), limit=limit, lease=timedelta(seconds=self.lease),
                exclude_chats=busy | set(limited),
            )
        for item in claimed:
            self._launch(item, now)
        if claimed and len(claimed) == limit:
            return 0.0
        self._forget_idle_chats(now)
        waits = [self.poll_interval, *limited.values()]
        async with self.db.session() as session:
            due = await outbox.next_due(session, after=_at(now))
        if due is not None:
            waits.append((due - _at(now)).total_seconds())
        return max(MIN_PAUSE, min(waits))

    def _limited_chats(self, now: float) -> dict[int, float]:
        """Chats that must wait before their next send, and how long. Only a send can make a chat wait, so
        only chats noted by `_launch` are looked at (not every chat the worker has sent to lately)."""
        limited = {}
        for chat in list(self._limited):
            limiter = self._chats.get(chat)
            wait = limiter.wait(now) if limiter is not None else 0.0
            if wait > 0:
                limited[chat] = wait
            else:
                self._limited.discard(chat)
        return limited

    async def _recover_expired(self, now: float) -> None:
        try:
            await self._recover(all_sending=False)
        except Exception as exc:
            log.warning("could not recover orphaned outbox rows yet (%s)", type(exc).__name__)
            self._next_recovery = now + self.poll_interval

    def _launch(self, item: outbox.Claimed, now: float) -> None:
        row = item.row
        cost = message_cost(row)
        # This send's slot: when the global bucket holds its tokens (now, or later when booked ahead).
        slot = max(0.0, (min(cost, self._global.capacity) - self._global.available(now)) / self._global.rate)
        self._global.take(now, cost)
        self.stats["claimed"] += 1
        if item.uncertain:
            if row.kind == "edit":
                self.stats["uncertain_edits_resent"] += 1
            else:
                self.stats["uncertain_resent"] += 1
                log.warning("uncertain_resent: outbox row %s (%s, case %s) may already have been delivered "
                            "before a crash; sending it again", row.id, row.kind, row.case_id)
        task = asyncio.create_task(self._deliver(row, slot), name=f"outbox-{row.id}")
        self._inflight[row.id] = (row.chat_id, task)

    def _limiter(self, chat_id: int, now: float) -> ChatLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            bucket = TokenBucket(self.private_per_second, max(1, self.private_burst), now)
            window = SlidingWindow(self.group_per_minute, 60.0) if chat_id < 0 else None
            limiter = self._chats[chat_id] = ChatLimiter(bucket, window)
        return limiter

    def _forget_idle_chats(self, now: float) -> None:
        if len(self._chats) > 1000:
            for chat in [chat for chat, limiter in self._chats.items() if limiter.idle(now)]:
                del self._chats[chat]

    async def _pause(self, delay: float | None) -> None:
        if self._wake.is_set():
            self._wake.clear()
            return
        waiter = asyncio.ensure_future(self._wake.wait())
        pending: set[asyncio.Future[Any]] = {waiter}
        if delay is not None:
            pending.add(asyncio.ensure_future(self._sleep(max(0.0, delay))))
        try:
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in pending:
                future.cancel()
            self._wake.clear()

    async def _finish_in_flight(self) -> None:
        tasks = [task for _, task in self._inflight.values()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # --- one row ------------------------------------------------------------------------------------

    async def _deliver(self, row: OutboxMessage, slot: float = 0.0) -> None:
        try:
            if slot > 0:
                await self._sleep(slot)  # its booked place in the global rate
            cost = message_cost(row)
            await self._take_turn(cost)
            if self.clock() < self._paused_until:
                # A flood wait began while this row waited for its slot: back in line, no attempt used.
                self._arrivals.finish(self.clock(), cost, sent=False)
                self.stats["rescheduled"] += 1
                rid, attempts, due = row.id, row.attempts, _at(self._paused_until)
                outcome: tuple[Mark, Hook | None] = (lambda s: outbox.mark_retry(
                    s, rid, attempts, due_at=due, error="flood wait (not sent)", count_attempt=False), None)
            else:
                self._count_in_chat(row.chat_id, cost)
                try:
                    result = await self.sender.send(row)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a sender bug: treat as transient, the backoff bounds the damage
                    log.exception("sender raised on outbox row %s (%s)", row.id, row.kind)
                    result = SendResult.transient(f"{type(exc).__name__}: {exc}")
                finally:
                    self._arrivals.finish(self.clock(), cost)
                outcome = self._outcome(row, result)
            for attempt in range(3):
                try:
                    await self._record(row, *outcome)
                    break
                except Exception:
                    if attempt == 2:
                        log.exception("could not record the outcome of outbox row %s; it stays 'sending' "
                                      "until recovered", row.id)
                    else:
                        await asyncio.sleep(0.2 * (attempt + 1))
        finally:
            self._inflight.pop(row.id, None)
            self._wake.set()

    def _count_in_chat(self, chat_id: int, cost: int) -> None:
        """Count a send against its chat when it actually starts, not when it was booked: a send started
        late (a busy loop, a queue of earlier slots) counted at its booked time let a group's 21st message
        out 59.6 s after the first. A chat has one send in flight at a time (`_step` leaves busy chats out),
        so counting at the start is exact and nothing is booked against the chat in between."""
        now = self.clock()
        limiter = self._limiter(chat_id, now)
        limiter.take(now, cost)
        if limiter.wait(now) > 0:
            self._limited.add(chat_id)

    async def _take_turn(self, cost: int) -> None:
        """Start sends in the order of their slots, never closer than `1 / (CATCH_UP × rate)` apart and only
        when `ArrivalWindow` has room. Slots are booked on the bucket, but the loop wakes a send late when it
        is busy: strict spacing (each send ≥ 1/rate after the previous) lost that time for good — 85% of the
        limit at 200/s, 94% at 30/s (bench B2) — so a late send may catch up, at up to twice the rate."""
        async with self._turns:
            while True:
                now = self.clock()
                room = self._arrivals.wait(now, cost)
                if room is None:  # only an answer can make room: look again a slot later
                    room = 1 / self._global.rate
                wait = max(self._next_send - now, room)
                if wait <= 1e-6:  # at epoch scale a smaller wait may never pass on a stepped clock
                    break
                await self._sleep(wait)
            self._arrivals.start(cost)
            self._next_send = now + cost / (self._global.rate * CATCH_UP)

    def backoff(self, attempts: int) -> float:
        """Delay before retry number `attempts`: exponential, bounded by max_delay, with equal jitter."""
        delay = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        return delay / 2 + self._rng.random() * delay / 2

    async def _settle(self, row: OutboxMessage, result: SendResult) -> None:
        await self._record(row, *self._outcome(row, result))

    def _outcome(self, row: OutboxMessage, result: SendResult) -> tuple[Mark, Hook | None]:
        """What a send came to: counted and logged here, once; returns how to record it, and the hook."""
        now = self.clock()
        at = _at(now)
        rid, attempts = row.id, row.attempts
        if result.ok:
            self.stats["sent"] += 1
            hook = (lambda s, r: self.on_sent(s, r, result)) if self.on_sent else None  # type: ignore[misc]
            return (lambda s: outbox.mark_sent(s, rid, attempts, message_id=result.message_id, now=at)), hook
        if result.retry_after is not None:
            wait = max(0.0, result.retry_after)
            self.stats["flood_waits"] += 1
            self._paused_until = max(self._paused_until, now + wait)
            log.info("flood wait %.0fs (outbox row %s, %s); pausing all sends", wait, rid, row.kind)
            return (lambda s: outbox.mark_retry(s, rid, attempts, due_at=at + timedelta(seconds=wait),
                                                error=result.error, count_attempt=False)), None
        if result.permanent:
            self.stats["failed"] += 1
            hook = None
            if result.recipient_gone:
                self.stats["recipient_gone"] += 1
                hook = self.on_failed
                log.warning("outbox row %s (%s, case %s): recipient refuses the bot (%s)",
                            rid, row.kind, row.case_id, result.error)
            elif result.thread_gone:
                self.stats["thread_gone"] += 1
                hook = self.on_thread_gone
                log.warning("outbox row %s (%s, case %s): forum topic is gone (%s)",
                            rid, row.kind, row.case_id, result.error)
            else:
                self.stats["refused"] += 1
                log.error("outbox row %s (%s, case %s) refused by the API, a bug in what we sent: %s",
                          rid, row.kind, row.case_id, result.error)
            return (lambda s: outbox.mark_failed(s, rid, attempts, error=result.error)), hook
        if attempts >= self.max_attempts:
            self.stats["failed"] += 1
            self.stats["gave_up"] += 1
            log.error("outbox row %s (%s, case %s): giving up after %d attempts: %s",
                      rid, row.kind, row.case_id, attempts, result.error)
            return (lambda s: outbox.mark_failed(
                s, rid, attempts, error=f"gave up after {attempts} attempts: {result.error}")), None
        delay = self.backoff(attempts)
        self.stats["retried"] += 1
        log.info("outbox row %s (%s) attempt %d failed (%s); retrying in %.1fs",
                 rid, row.kind, attempts, result.error, delay)
        return (lambda s: outbox.mark_retry(s, rid, attempts, due_at=at + timedelta(seconds=delay),
                                            error=result.error)), None

    # --- recording outcomes: group commit -------------------------------------------------------------

    async def _record(self, row: OutboxMessage, mark: Mark, hook: Hook | None = None) -> None:
        """Record the outcome (and run the hook) durably; returns once committed.

        Outcomes are committed in groups: those that arrive while a transaction is being written go
        together into the next one. If anything in a group fails (a hook's bug, a lock conflict), the group
        is rolled back and its rows are recorded one by one (`_record_alone`, which retries a hook that lost
        a lock race and records the outcome without a hook that keeps failing). One transaction per message
        was the worker's bottleneck (bench B2)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outcomes.append((row, mark, hook, future))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_groups(), name="outbox-recorder")
        await future

    async def _record_groups(self) -> None:
        while self._outcomes:
            group, self._outcomes = self._outcomes, []
            if len(group) == 1:
                await self._record_each(group)
                continue
            lost = []
            try:
                async with self.db.session() as session:
                    for row, mark, hook, _ in group:
                        fresh = await mark(session)
                        if fresh is None:
                            lost.append(row)
                        elif hook is not None:
                            await hook(session, fresh)
            except Exception as exc:
                log.info("recording %d outcomes together failed (%r); recording them one by one", len(group), exc)
                await self._record_each(group)
            else:
                self.stats["record_groups"] += 1
                for row in lost:
                    self._lost_claim(row)
                for *_, future in group:
                    _settle_future(future, None)

    def _lost_claim(self, row: OutboxMessage) -> None:
        self.stats["lost_claims"] += 1
        log.warning("outbox row %s was taken over by another worker before its outcome was recorded", row.id)

    async def _record_each(self, group: list[tuple[OutboxMessage, Mark, Hook | None, asyncio.Future[None]]]) -> None:
        """Each outcome in a transaction of its own, its waiter told how that went."""
        for row, mark, hook, future in group:
            try:
                await self._record_alone(row, mark, hook)
            except Exception as exc:
                _settle_future(future, exc)
            else:
                _settle_future(future, None)

    async def _record_alone(self, row: OutboxMessage, mark: Mark, hook: Hook | None = None) -> None:
        """Record the outcome and run the hook in one transaction; without the hook if the hook keeps failing.

        A hook that lost a lock race (deadlock, serialization failure) runs again in a new transaction: its
        work (where a card landed, routing a case onwards) matters, and repeating the whole transaction is
        safe. Any other hook failure is a bug: logged, and the outcome recorded without it."""
        for attempt in range(1, HOOK_ATTEMPTS + 1):
            try:
                async with self.db.session() as session:
                    fresh = await mark(session)
                    if fresh is None:
                        self._lost_claim(row)
                        return
                    if hook is not None:
                        await hook(session, fresh)
                return
            except Exception as exc:
                if hook is None:
                    raise
                if attempt < HOOK_ATTEMPTS and _lock_conflict(exc):
                    self.stats["hook_retries"] += 1
                    log.info("outbox row %s: its hook lost a lock race; trying again", row.id)
                    await asyncio.sleep(0.05 * attempt * (1 + self._rng.random()))
                    continue
                self.stats["hook_errors"] += 1
                log.exception("delivery hook failed for outbox row %s (%s); recording the outcome without it",
                              row.id, row.kind)
                break
        async with self.db.session() as session:
            await mark(session)


def _settle_future(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # its waiter was cancelled
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def _lock_conflict(exc: BaseException) -> bool:
    """A deadlock or serialization failure (PostgreSQL SQLSTATE 40P01/40001), or SQLite's busy database."""
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "sqlstate", None) or getattr(getattr(exc.orig, "__cause__", None), "sqlstate", None)
    return code in ("40P01", "40001") or "database is locked" in str(exc.orig)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def summarize(stats: Counter[str], keys: Iterable[str] | None = None) -> str:
    """`sent=200 retried=57 …` for logs and test output."""
    names = list(keys) if keys is not None else sorted(stats)
    return " ".join(f"{name}={stats.get(name, 0)}" for name in names)
