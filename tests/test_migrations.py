"""Migrations on both backends: up from nothing, all the way down, up again, and the result matches the models.

An operator upgrades a live database with `python -m bot migrate`; a migration that works on the developer's
SQLite but not on the province's PostgreSQL, or a model change nobody wrote a migration for, shows up here.
"""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import create_engine
from storage.migrate import downgrade, upgrade
from storage.models import Base


async def _schema(url: str) -> tuple[set[str], list[object]]:
    """The tables present, and what differs between the database and the models."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            def inspect_sync(sync_connection):  # type: ignore[no-untyped-def]
                tables = set(inspect(sync_connection).get_table_names())
                diff = compare_metadata(MigrationContext.configure(sync_connection), Base.metadata)
                return tables, diff

            return await connection.run_sync(inspect_sync)
    finally:
        await engine.dispose()


def test_upgrade_downgrade_upgrade_leaves_the_schema_the_models_describe(empty_url: str) -> None:
    upgrade(empty_url)
    tables, diff = asyncio.run(_schema(empty_url))
    assert {"cases", "case_events", "outbox", "inbox_updates", "units", "members"} <= tables
    assert diff == [], f"models and migrations disagree: {diff}"

    downgrade(empty_url, "base")
    tables, _ = asyncio.run(_schema(empty_url))
    assert tables <= {"alembic_version"}, f"left behind after downgrade: {tables}"

    upgrade(empty_url)
    _, diff = asyncio.run(_schema(empty_url))
    assert diff == []
