"""An aiosqlite connection that runs SQLite on the event loop's own thread.

aiosqlite hands every call (execute, fetch, close of each cursor, commit) to a thread of its own and wakes
the loop when it is done. For a local SQLite file each call takes microseconds, and the hand-offs cost
more than the work: bench B1 counted about thirty per intake update, each a round trip through a queue, a
thread switch and the loop's self-pipe, while the update holds the database's only connection, so every
other update waits for them too (at 200 reporters the loop sat idle in epoll half of the time).

Here those calls run at once, in the caller's thread, except COMMIT: its fsync usually takes a fraction of
a millisecond but now and then 50–200 ms on a VM's disk, so it still runs on a thread (one hand-off per
transaction), and the loop keeps serving and keeps time meanwhile.

Durability is chosen per commit. In WAL mode the connection runs at `synchronous=NORMAL` (SQLite then syncs
the WAL only around checkpoints), and a durable commit — the default — is followed, in the same hand-off,
by an fsync of the WAL file: what `synchronous=FULL` does at every commit, and an fsync of the WAL makes
every frame written before it durable too. A commit marked `lazy` skips that fsync: it is in the WAL, so it
survives the process dying, and it reaches the disk with the next durable commit. The group commit
(`storage.group_commit`) commits every group so and makes the fsync itself, once the connection is free.
SQLite itself cannot do this: it refuses to change `synchronous` inside a transaction, and whether a group
of transactions needs the fsync is known only when its last member commits.

Another *process* holding SQLite's write lock (a CLI import, a backup) is not waited for inside SQLite,
which would block the loop: the busy timeout is zero, and a call refused with "database is locked" is
retried after an `asyncio` sleep, up to `BUSY_TIMEOUT` as before. SQLite allows retrying the refused
statement (a refused COMMIT leaves the transaction open).

SQLAlchemy's aiosqlite dialect is unchanged: it gets this connection through `async_creator`.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite

BUSY_TIMEOUT = 15.0
BUSY_SLEEPS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05)


def _locked(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        "database is locked" in str(exc))


class _RunNow:
    """In place of aiosqlite's queue to its thread (SQLAlchemy's dialect uses it directly for one setter)."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


def sync_file(path: str) -> None:
    """fsync `path`, failing as SQLite fails on a broken disk (so outage detection knows it)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError as exc:
        raise sqlite3.OperationalError(f"disk I/O error: could not sync {path}: {exc}") from exc


class InlineConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)
        self._tx = _RunNow()  # type: ignore[assignment]
        self.wal: str | None = None
        """The WAL file to fsync after a durable commit; None when SQLite syncs at every commit itself
        (`synchronous=FULL`, as outside WAL mode). Set by `storage.db` once the journal mode is known."""
        self.lazy = False  # the next commit only: no fsync (reset by it)

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no thread to start

    async def _connect(self) -> aiosqlite.Connection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self._call(partial(fn, *args, **kwargs), off_loop=False)

    async def commit(self) -> None:
        """On a thread: a commit waits for its fsync, which on a VM's disk now and then takes 50–200 ms. The
        loop keeps time meanwhile: it paces the delivery worker's sends, and a send held up behind a stalled
        commit would reach Telegram bunched with the next ones (bench B2: a 429, a second of silence).
        Durable unless `lazy` was set for this commit (module doc)."""
        wal = None if self.lazy else self.wal
        self.lazy = False
        await self._call(partial(self._commit, wal), off_loop=True)

    def _commit(self, wal: str | None) -> None:
        self._conn.commit()
        if wal is not None:
            sync_file(wal)

    async def _call(self, function: Callable[[], Any], *, off_loop: bool) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        deadline: float | None = None
        attempt = 0
        while True:
            try:
                if off_loop:
                    return await asyncio.get_running_loop().run_in_executor(None, function)
                return function()
            except sqlite3.OperationalError as exc:
                if not _locked(exc):
                    raise
                now = time.monotonic()
                deadline = deadline or now + BUSY_TIMEOUT
                if now >= deadline:
                    raise
                await asyncio.sleep(BUSY_SLEEPS[min(attempt, len(BUSY_SLEEPS) - 1)])
                attempt += 1

    def stop(self) -> None:  # type: ignore[override]
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


async def connect(database: str, **kwargs: Any) -> InlineConnection:
    """Open `database`; `kwargs` go to `sqlite3.connect`."""
    kwargs = {**kwargs, "timeout": 0, "check_same_thread": False}
    return await InlineConnection(partial(sqlite3.connect, database, **kwargs))
