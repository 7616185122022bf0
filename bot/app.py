"""Application wiring: the Bot, the Dispatcher with its storage and middlewares, and the run loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

from bot.housekeeping import expire_drafts
from bot.i18n import Catalog, load_catalog
from bot.ratelimit import SlidingWindow
from bot.runtime import InboxPoller, UpdateProcessor
from bot.settings import Settings
from bot.telegram_quirks import ToleratedRefusals
from handlers import build_router
from handlers.keyboards import reporter_menu
from handlers.middlewares import DbSessionMiddleware, FloodMiddleware, I18nMiddleware
from storage.db import Database
from storage.fsm import SqlStorage
from storage.migrate import upgrade_async
from storage.models import utcnow

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 300
COMMANDS = ("start", "report", "mycases", "help", "language", "privacy", "cancel")
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


def make_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(ToleratedRefusals())
    return Bot(settings.token(), session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def make_dispatcher(db: Database, catalog: Catalog, settings: Settings,
                    storage: BaseStorage | None = None) -> Dispatcher:
    """The dispatcher with our storage, per-user event isolation, and middlewares in a fixed order."""
    dp = Dispatcher(
        storage=storage or SqlStorage(db, DefaultKeyBuilder(with_destiny=False)),
        events_isolation=SimpleEventIsolation(),
    )
    dp.update.outer_middleware(DbSessionMiddleware(db))
    dp.update.outer_middleware(I18nMiddleware(catalog))
    dp.update.outer_middleware(FloodMiddleware(SlidingWindow(settings.flood_messages, settings.flood_window_seconds)))
    dp["db"], dp["catalog"], dp["settings"] = db, catalog, settings
    dp.include_router(build_router())
    return dp


async def register_commands(bot: Bot, catalog: Catalog) -> None:
    """Command menus in both languages; a failure is logged, never fatal."""
    for code in catalog.bundles:
        i18n = catalog.translator(code)
        commands = [BotCommand(command=c, description=i18n.plain(f"cmd-{c}")) for c in COMMANDS]
        for language in (None, code) if code == catalog.default else (code,):
            try:
                await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats(), language_code=language)
            except Exception as exc:
                log.warning("could not register commands (%s): %r", language or "default", exc)


@dataclass
class App:
    settings: Settings
    db: Database
    bot: Bot
    dp: Dispatcher
    processor: UpdateProcessor
    poller: InboxPoller

    @classmethod
    def build(cls, settings: Settings) -> App:
        db = Database(settings.database_url)
        catalog = load_catalog(default=settings.default_locale)
        bot = make_bot(settings)
        dp = make_dispatcher(db, catalog, settings)
        processor = UpdateProcessor(dp, bot, db)
        poller = InboxPoller(bot, db, processor, timeout=settings.polling_timeout, allowed_updates=ALLOWED_UPDATES)
        return cls(settings, db, bot, dp, processor, poller)

    async def _notify_expired(self, chat_id: int, locale: str | None) -> None:
        i18n = self.dp["catalog"].translator(locale)
        await self.bot.send_message(chat_id, i18n.t("draft-expired", hours=f"{self.settings.draft_ttl_hours:g}"),
                                    reply_markup=reporter_menu(i18n))

    async def housekeeping(self, interval: float = HOUSEKEEPING_SECONDS) -> None:
        """Chores on a timer; state lives in the database, so a restart loses nothing but a tick."""
        ttl = timedelta(hours=self.settings.draft_ttl_hours)
        while True:
            try:
                expired = await expire_drafts(self.db, utcnow(), ttl, self._notify_expired)
                if expired:
                    log.info("discarded %d unfinished report(s)", expired)
            except Exception:
                log.exception("housekeeping failed; will retry")
            await asyncio.sleep(interval)

    async def run(self) -> None:
        """Poll until SIGINT/SIGTERM, then finish the updates in hand and close cleanly."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.poller.stop)
        try:
            me = await self.bot.get_me()
            log.info("bot @%s started: long polling, database %s", me.username, self.db.dialect)
            await register_commands(self.bot, self.dp["catalog"])
            chores = asyncio.create_task(self.housekeeping(), name="housekeeping")
            await self.poller.run()
            chores.cancel()
            log.info("stopping: finishing updates in hand")
            await asyncio.wait_for(self.processor.wait_idle(), timeout=30)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await self.bot.session.close()
            await self.db.dispose()
            log.info("stopped")


async def run(settings: Settings) -> None:
    await upgrade_async(settings.database_url)
    await App.build(settings).run()
