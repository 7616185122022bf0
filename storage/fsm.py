"""aiogram FSM storage in the database, so a restart in the middle of a report resumes it.

Reads and writes go through the update's own session when there is one (`storage.db.current_session`),
so a handler's domain changes and its conversation step commit or roll back together. A conversation is
read once per transaction and written back once, just before the commit (`storage.db.before_commit`),
however many times the handler set its state and data; the read brings the person's chosen language too,
which every update asks for next (`storage.reporters.read_along`). Both statements go straight to the driver
(`storage.direct`). Through the ORM the read and the write cost about a millisecond of CPU per update on
the slow VM (bench B1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import bot  # noqa: F401  (installs the deferred loading of aiogram's models first)

# isort: split
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import reporters
from storage.db import Database, before_commit
from storage.direct import Direct, Sql
from storage.models import FsmRecord, utcnow

_HELD = "tx.fsm.conversations"  # session.info: the conversations this transaction read, by key
_TABLE = FsmRecord.__tablename__
_READ = Sql.numbered(f"SELECT f.state, f.data, f.key IS NOT NULL, {reporters.LOCALE_SUBQUERY} "
                     f"FROM (SELECT 1) AS one LEFT JOIN {_TABLE} AS f ON f.key = ?")
"""The conversation, and its person's chosen language, which the update asks for next (`reporters.read_along`)."""
_WRITE = Sql.numbered(f"INSERT INTO {_TABLE} (key, state, data, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) "
                      "DO UPDATE SET state = excluded.state, data = excluded.data, updated_at = excluded.updated_at")
_DELETE = Sql.numbered(f"DELETE FROM {_TABLE} WHERE key = ?")


def _state_name(state: StateType) -> str | None:
    return state.state if isinstance(state, State) else state


@dataclass
class _Conversation:
    """One key's row as this transaction sees it."""

    state: str | None
    data: dict[str, Any]
    stored: bool  # a row exists in the database
    changed: bool = False

    @property
    def empty(self) -> bool:
        return self.state is None and not self.data


class SqlStorage(BaseStorage):
    """One row per key holding the state name and the JSON data dict."""

    def __init__(self, db: Database, key_builder: KeyBuilder | None = None) -> None:
        self.db = db
        self.key_builder = key_builder or DefaultKeyBuilder()

    async def _conversation(self, session: AsyncSession, storage_key: StorageKey) -> _Conversation:
        held: dict[str, _Conversation] = session.info.setdefault(_HELD, {})
        key = self.key_builder.build(storage_key)
        conversation = held.get(key)
        if conversation is None:
            direct = await Direct.of(session)
            # one row always: the LEFT JOIN keeps it when the conversation has none
            state, raw, stored, locale = await direct.row(_READ, (storage_key.user_id, key))  # type: ignore[misc]
            reporters.read_along(session, storage_key.user_id, locale)
            data = direct.json_out(raw) if raw is not None else None
            conversation = _Conversation(state, dict(data or {}), stored=bool(stored))
            held[key] = conversation
        return conversation

    def _changed(self, session: AsyncSession, conversation: _Conversation) -> None:
        if not conversation.changed:
            conversation.changed = True
            before_commit(session, _HELD, write_back)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        async with self.db.current_or_new() as session:
            conversation = await self._conversation(session, key)
            conversation.state = _state_name(state)
            self._changed(session, conversation)

    async def get_state(self, key: StorageKey) -> str | None:
        async with self.db.current_or_new() as session:
            return (await self._conversation(session, key)).state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        async with self.db.current_or_new() as session:
            conversation = await self._conversation(session, key)
            conversation.data = dict(data)
            self._changed(session, conversation)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self.db.current_or_new() as session:
            return dict((await self._conversation(session, key)).data)

    async def close(self) -> None:
        """The database is owned by the application, which disposes of it."""


async def write_back(session: AsyncSession) -> None:
    """Just before the commit: each changed conversation written once. A cleared conversation leaves no row
    behind: nothing is kept about a person without need."""
    held: dict[str, _Conversation] = session.info.get(_HELD, {})
    direct = await Direct.of(session)
    for key, conversation in held.items():
        if not conversation.changed:
            continue
        if conversation.empty:
            if conversation.stored:
                await direct.execute(_DELETE, (key,))
            conversation.stored = False
        else:
            await direct.execute(_WRITE, (key, conversation.state, direct.json_in(conversation.data),
                                          direct.time_in(utcnow())))
            conversation.stored = True
        conversation.changed = False


async def stale_records(db: Database, older_than: datetime, states_prefix: str) -> list[FsmRecord]:
    """Conversations in a state under `states_prefix` untouched since `older_than` (abandoned drafts)."""
    async with db.current_or_new() as session:
        rows = await session.scalars(
            select(FsmRecord).where(FsmRecord.updated_at < older_than, FsmRecord.state.like(f"{states_prefix}%"))
        )
        return list(rows)
