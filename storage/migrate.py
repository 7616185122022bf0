"""Run Alembic migrations from code: `python -m bot migrate`, `run`, and the tests all come here.

Alembic's async env calls `asyncio.run()`, which cannot nest inside a running loop; async callers use
`upgrade_async`, which runs the migration in a worker thread with its own loop.

Alembic is imported only when there is something to migrate. Every restart but the first after an upgrade
finds the database at `HEAD`, and importing Alembic just to be told so was ~0.1 s of the bot's start-up
(bench B4). A database with nothing in it yet (the first start of a new school's bot) is not walked through
every migration either: it gets the models' schema in one `create_all` and is stamped `HEAD`, 0.03 s where
Alembic took 0.08 s for the five migrations on SQLite, after 0.08 s to import it (bench B4). A test keeps
the two schemas identical, object by object, on both backends, and another that no migration does what the
models cannot (SQL of its own, seeded rows), so nothing is skipped.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from storage.db import create_engine
from storage.models import Base

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
HEAD = "0005"
"""The newest revision in `migrations/versions` (a test keeps it equal to Alembic's head)."""

# Alembic's own bookkeeping table, as `alembic.runtime.migration` creates it.
_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


async def at_head(url: str) -> bool:
    """Whether the database's schema is already the newest: read from Alembic's table, without Alembic."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except DBAPIError:
        return False  # no such table: a new database (a real failure to connect is Alembic's to report)
    finally:
        await engine.dispose()
    return list(versions) == [HEAD]


def _create_if_empty(connection: Connection) -> bool:
    """On a database without a single table, create the schema at `HEAD`; whether it did."""
    if inspect(connection).get_table_names():
        return False
    Base.metadata.create_all(connection)
    _VERSION_TABLE.create(connection)
    connection.execute(_VERSION_TABLE.insert().values(version_num=HEAD))
    return True


async def create_if_empty(url: str) -> bool:
    """`_create_if_empty` in one transaction (on SQLite `BEGIN IMMEDIATE`: a second process starting on the
    same new file waits, then finds the tables and leaves them alone)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(_create_if_empty)
    finally:
        await engine.dispose()


async def upgrade_async(url: str, revision: str = "head") -> None:
    if revision == "head" and (await at_head(url) or await create_if_empty(url)):
        return
    await asyncio.to_thread(upgrade, url, revision)
