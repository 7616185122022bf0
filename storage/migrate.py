"""Run Alembic migrations from code: `python -m bot migrate`, `run`, and the tests all come here.

Alembic's async env calls `asyncio.run()`, which cannot nest inside a running loop; async callers use
`upgrade_async`, which runs the migration in a worker thread with its own loop.

Alembic is imported only when there is something to migrate. Every restart but the first after an upgrade
finds the database at `HEAD`, and importing Alembic just to be told so was ~0.1 s of the bot's start-up
(bench B4).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage.db import create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
HEAD = "0005"
"""The newest revision in `migrations/versions` (a test keeps it equal to Alembic's head)."""


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


async def upgrade_async(url: str, revision: str = "head") -> None:
    if revision == "head" and await at_head(url):
        return
    await asyncio.to_thread(upgrade, url, revision)
