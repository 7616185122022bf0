"""The services the bot depends on (the database, Redis): start-up checks, /healthz, and outages.

Start-up: a service that cannot be reached is a `ServiceUnavailable` with one line naming its setting
(the CLI prints it and exits with code 3), never a traceback, never a password.

While running: an update whose handling fails because a service went away is not a handler failure.
`Outages` confirms the suspicion with a probe (so a "database is locked" or a disk error is still treated
as an ordinary failure), logs ONE line when the service goes down and one when it is back, and makes the
update wait and retry instead of using up its attempts: the inbox row stays pending meanwhile, so even a
stop during the outage loses nothing.

No aiogram here: the same checks serve any channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from storage.db import Database

log = logging.getLogger(__name__)
Probe = Callable[[], Awaitable[Any]]
PROBE_TIMEOUT = 3.0
DATABASE, REDIS = "database", "redis"
LABELS = {DATABASE: "The database (DATABASE_URL)", REDIS: "Redis (REDIS_URL)"}


class ServiceUnavailable(Exception):
    """A service the bot needs cannot be reached at start-up; the CLI prints it and exits with code 3."""


async def ping_database(db: Database) -> None:
    async with db.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def make_redis(url: str) -> Any:
    """A Redis client that fails fast (5 s) instead of hanging when the server is gone."""
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=15)


async def ping_redis(redis: Any) -> None:
    await redis.ping()


async def probe(check: Probe, timeout: float = PROBE_TIMEOUT) -> str | None:  # noqa: ASYNC109
    """None when the service answers within `timeout`, else a short description of what went wrong."""
    try:
        await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except Exception as exc:
        return describe(exc)
    return None


def describe(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def dependency_of(exc: BaseException) -> str | None:
    """Which service an exception suggests is gone ("database", "redis"), or None for anything else."""
    from sqlalchemy import exc as sa_exc

    try:
        from redis import exceptions as redis_exc
    except ImportError:  # pragma: no cover - redis is a dependency
        redis_exc = None  # type: ignore[assignment]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if redis_exc is not None and isinstance(current, redis_exc.ConnectionError | redis_exc.TimeoutError):
            return REDIS
        if isinstance(current, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
            return DATABASE
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return DATABASE
        if isinstance(current, OSError) or type(current).__module__.startswith("asyncpg"):
            return DATABASE
        current = current.__cause__ or current.__context__
    return None


class Outages:
    """Tracks which services are down; one log line when one goes down, one when it is back."""

    def __init__(self, probes: dict[str, Probe], *, min_delay: float = 0.5, max_delay: float = 5.0) -> None:
        self.probes = probes
        self.min_delay, self.max_delay = min_delay, max_delay
        self._back: dict[str, asyncio.Event] = {}
        self._since: dict[str, float] = {}
        self._waiting: dict[str, int] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}

    def is_down(self, name: str) -> bool:
        return name in self._back

    @property
    def down(self) -> list[str]:
        return sorted(self._back)

    async def suspect(self, exc: BaseException) -> str | None:
        """The service `exc` points to if a probe confirms it is down (logged once per outage), else None."""
        name = dependency_of(exc)
        if name is None or name not in self.probes:
            return None
        if self.is_down(name):
            return name
        problem = await probe(self.probes[name])
        if problem is None:
            return None  # it answers: the failure was something else (a lock, a bug), handled as such
        if not self.is_down(name):
            self._back[name] = asyncio.Event()
            self._since[name] = time.monotonic()
            self._waiting[name] = 0
            log.error("%s is unreachable (%s); updates stay in the inbox and are retried when it is back",
                      LABELS.get(name, name), problem)
            self._watchers[name] = asyncio.create_task(self._watch(name), name=f"outage-{name}")
        return name

    async def wait_back(self, name: str, stop: asyncio.Event) -> bool:
        """Until `name` answers again (True), or `stop` is set first (False)."""
        back = self._back.get(name)
        if back is None:
            return True
        self._waiting[name] = self._waiting.get(name, 0) + 1
        waiters = {asyncio.ensure_future(back.wait()), asyncio.ensure_future(stop.wait())}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return back.is_set()

    async def _watch(self, name: str) -> None:
        delay = self.min_delay
        while True:
            await asyncio.sleep(delay)
            if await probe(self.probes[name]) is None:
                break
            delay = min(self.max_delay, delay * 2)
        back = self._back.pop(name)
        took = time.monotonic() - self._since.pop(name)
        waiting = self._waiting.pop(name, 0)
        self._watchers.pop(name, None)
        log.warning("%s is reachable again after %.0fs; resuming (%d update(s) were waiting)",
                    LABELS.get(name, name), took, waiting)
        back.set()

    async def close(self) -> None:
        for task in list(self._watchers.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._watchers.clear()


async def health(db: Database, redis: Any | None) -> tuple[bool, dict[str, str]]:
    """What /healthz answers: every service "ok", "down" or "disabled", and whether all are usable."""
    report = {DATABASE: "ok" if await probe(lambda: ping_database(db)) is None else "down"}
    if redis is None:
        report[REDIS] = "disabled"
    else:
        report[REDIS] = "ok" if await probe(lambda: ping_redis(redis)) is None else "down"
    return all(v != "down" for v in report.values()), report
