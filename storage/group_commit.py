"""Group commit for SQLite: transactions waiting for the only connection join the one in progress.

SQLite has one writer, so the engine has one connection (`storage.db`) and transactions take turns on
it. Each used to end with its own COMMIT, whose fsync (`synchronous=FULL`) takes 0.3–1.5 ms on the VMs
of BENCHMARKS.md and now and then 50 ms; the connection, and with it every other update, waited for
each one. Under load that wait was a third of the time (bench B1: the event loop idle 35% of a
saturated run).

Here a transaction that finds others waiting for the connection does not commit: it releases its own
SAVEPOINT and hands the connection to the next, and the last of the group commits them all with one
COMMIT. Each member still commits or rolls back on its own: a member that fails rolls back to its
savepoint and the others are untouched. A member's `commit()` returns only once the group's COMMIT is
durable, so nothing is announced that is not on disk, as before; if that COMMIT fails, every member
of the group sees the error and its work is retried as a whole, as a failed commit always was.

A group takes at most `MAX_MEMBERS`, which bounds how long its first member waits for the last.

A member may commit *lazily* (`durable=False`): its work is committed (the WAL has it, a process that dies
keeps it) but not yet synced to disk. A group with no durable member commits without an fsync, and the
next durable group's fsync covers it too. The inbox's store of each batch, the steps of a reporter's own
conversation and forgetting a sent reply commit so (see their modules for why a power cut may lose them).

No group holds the connection through its fsync: the COMMIT is made without one (`storage.sqlite_inline`),
the connection goes to the next group, and then, if a member asked for the disk, the WAL is synced on a
thread (`until_durable()`, which needs no turn) before the members' commits return. A second-long fsync
(bench B1 saw them) delays those members, not everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from storage import sqlite_inline
from storage.direct import Direct

MAX_MEMBERS = 64
TURN_TIMEOUT = 30.0
"""Seconds a transaction waits for the connection before failing, as SQLAlchemy's pool did (its `TimeoutError`,
which outage detection knows): a transaction that waits on another inside it would otherwise hang for ever."""


class _Group:
    """One transaction on the connection, shared by its members."""

    def __init__(self, owner: GroupCommit, connection: AsyncConnection, direct: Direct) -> None:
        self.owner, self.connection, self.direct = owner, connection, direct
        self.members = 0  # members that committed into it
        self.started = 0  # members that began in it (names their savepoints)
        self.void = False  # its first member rolled it back: nobody else may join it
        self.fsync = False  # a member committed durably: `settle` syncs the WAL after the COMMIT
        self.durable: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Done when the group is over: committed (and on disk, if `fsync`), or failed."""

    async def finish(self) -> None:
        """COMMIT (ROLLBACK when no member committed), then the connection goes back to the pool. Our driver
        commits without its fsync here: `settle` makes it once the connection is free for the next group."""
        owner = self.owner
        try:
            if self.members:
                driver = self.direct.driver
                if driver is not None:
                    driver.lazy = True
                await self.connection.commit()
                owner.commits += 1
                if driver is None or driver.wal is None:  # SQLite synced it itself (no WAL: FULL)
                    owner.synced = owner.commits
            else:
                await self.connection.rollback()
        except BaseException as exc:
            self.durable.set_exception(exc)
            self.durable.exception()  # retrieved: members that never wait for it do not warn
            self._abandon()
            await _close_quietly(self.connection)
            raise
        await self.connection.close()

    async def settle(self) -> None:
        """Sync the WAL if a member asked for the disk, then tell the members their commit is over. The
        fsync runs on a thread while the next group already has the connection: a slow disk (an fsync of
        up to a second on the VM of bench B1) holds up only the members that wait for it."""
        try:
            if self.fsync:
                await self.owner.until_durable()
        except BaseException as exc:
            self.durable.set_exception(exc)
            self.durable.exception()
            raise
        self.durable.set_result(None)

    def _abandon(self) -> None:
        """A refused COMMIT (a full or failing disk) may leave SQLite's transaction open, and SQLAlchemy,
        which saw its commit fail, does not roll back what it thinks is over: the next BEGIN would fail."""
        raw = self.direct.raw
        if raw is not None and raw.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                raw.execute("ROLLBACK")


async def _close_quietly(connection: AsyncConnection) -> None:
    with contextlib.suppress(Exception):  # the commit's own error is what the members see
        await connection.close()  # the pool rolls back whatever is left


class Member:
    """One transaction of the group, and the session that runs in it.

    The group's first member has the transaction to itself: nobody else's work is in it yet, so if it fails
    it rolls the whole transaction back and the next member begins a new one. It needs no savepoint, and its
    session joins the transaction as it is. Every later member has a savepoint: SQLite's own statement on
    the driver (microseconds), and, only if its session is used (the handlers that need the ORM), one of
    SQLAlchemy's inside it, ~0.5 ms of CPU on the slow VM: an update that only touches the conversation and
    its replies never pays for SQLAlchemy's transaction machinery (bench B1), a lone transaction never
    pays for a savepoint at all (bench B2: the delivery worker's)."""

    def __init__(self, owner: GroupCommit, group: _Group, session_options: dict[str, Any], *,
                 durable: bool = True) -> None:
        self._owner, self._group = owner, group
        self.durable = durable
        group.started += 1
        self._savepoint = f"member_{group.started}" if group.started > 1 else None
        if self._savepoint is not None:
            group.direct.run(f"SAVEPOINT {self._savepoint}")
        # "rollback_only": the session's commit leaves the transaction to the group, its rollback ends it.
        mode = "rollback_only" if self._savepoint is None else "create_savepoint"
        self.session = AsyncSession(bind=group.connection, join_transaction_mode=mode, **session_options)
        Direct.bind(self.session, group.direct)
        self.done = False

    async def commit(self) -> None:
        """Keep this member's work, and wait until the group's COMMIT has kept it (and synced it to disk,
        unless the member is lazy)."""
        if self.session.in_transaction():
            await self.session.commit()  # flush (then RELEASE SQLAlchemy's savepoint, if it has one)
        if self._savepoint is not None:
            self._group.direct.run(f"RELEASE {self._savepoint}")
        self._group.members += 1
        self._group.fsync |= self.durable
        await self._leave()
        await asyncio.shield(self._group.durable)

    async def rollback(self) -> None:
        """Drop this member's work; the group's other members keep theirs."""
        group = self._group
        try:
            if self.session.in_transaction():
                await self.session.rollback()  # to SQLAlchemy's savepoint, or the first member's whole transaction
            if self._savepoint is None:
                group.void = True
                if group.connection.in_transaction():
                    await group.connection.rollback()
            else:
                group.direct.run(f"ROLLBACK TO {self._savepoint}")
                group.direct.run(f"RELEASE {self._savepoint}")
        finally:
            await self._leave()

    async def _leave(self) -> None:
        """Hand the connection to whoever waits for it, or, the last one out, commit the group."""
        self.done = True
        await self.session.close()
        owner, group = self._owner, self._group
        if owner.waiting and group.members < MAX_MEMBERS and not group.void:
            owner.turn.release()  # the next member joins this group
            return
        owner.open = None
        try:
            await group.finish()
        finally:
            owner.turn.release()
        await group.settle()


class GroupCommit:
    """Hands out members of the transaction in progress, one at a time on the connection."""

    def __init__(self, engine: AsyncEngine, **session_options: Any) -> None:
        self.engine = engine
        self.session_options = session_options
        self.turn = asyncio.Lock()  # whoever holds it uses the connection; FIFO
        self.waiting = 0  # members queued for the turn: they will join the open group
        self.open: _Group | None = None
        self.wal: str | None = None  # the WAL file that lazy commits leave to sync (`sqlite_inline`)
        self.commits = 0  # groups committed so far
        self.synced = 0  # of those, how many are on disk (a sync covers every commit before it)

    async def until_durable(self) -> None:
        """Return once everything committed so far is on disk, lazy members included. The fsync runs on a
        thread beside whatever transaction has the connection now: it needs no turn of its own."""
        target = self.commits
        if self.synced >= target or self.wal is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(None, sqlite_inline.sync_file, self.wal)
        except sqlite3.Error as exc:  # as SQLAlchemy raises it: outage detection knows it (`bot.health`)
            raise sa_exc.DBAPIError.instance("fsync", (), exc, sqlite3.Error) from exc
        self.synced = max(self.synced, target)

    @asynccontextmanager
    async def member(self, *, durable: bool = True) -> AsyncIterator[Member]:
        """A member; the block must end it with `commit()` or `rollback()`, or it rolls back on leaving."""
        self.waiting += 1
        try:
            if self.turn.locked():
                await asyncio.wait_for(self.turn.acquire(), TURN_TIMEOUT)
            else:
                await self.turn.acquire()
        except TimeoutError:
            raise sa_exc.TimeoutError(f"the database connection stayed busy for {TURN_TIMEOUT:g}s") from None
        finally:
            self.waiting -= 1
        try:
            if self.open is None:
                connection = await self.engine.connect()
                try:
                    await connection.begin()  # BEGIN IMMEDIATE (storage.db)
                    direct = await Direct.on(connection)
                except BaseException:
                    await _close_quietly(connection)
                    raise
                self.open = _Group(self, connection, direct)
                self.wal = direct.driver.wal if direct.driver is not None else None
            member = Member(self, self.open, self.session_options, durable=durable)
        except BaseException:
            self.turn.release()
            raise
        try:
            yield member
        finally:
            if not member.done:
                await member.rollback()
