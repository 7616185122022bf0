"""Application wiring: the Bot, the Dispatcher with its storage and middlewares, and the run loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

from bot.casework import Casework
from bot.delivery import DeliveryWorker
from bot.housekeeping import expire_drafts
from bot.i18n import Catalog, load_catalog
from bot.ratelimit import SlidingWindow
from bot.runtime import InboxPoller, UpdateProcessor
from bot.settings import Settings
from bot.telegram_quirks import ToleratedRefusals
from handlers import build_router
from handlers.evidence import settle_albums
from handlers.keyboards import reporter_menu
from handlers.middlewares import DbSessionMiddleware, FloodMiddleware, I18nMiddleware
from storage.db import Database
from storage.fsm import SqlStorage
from storage.migrate import upgrade_async
from storage.models import utcnow

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 30


async def sweep_deadlines(db: Database, casework: Casework, now: datetime) -> tuple[int, int]:
    """Acknowledgement reminders and overdue escalations due at `now` (also `python -m bot sla sweep`)."""
    async with db.session() as session:
        reminded, escalated = await casework.sweep(session, now)
    if reminded or escalated:
        log.info("deadlines: %d reminder(s), %d escalation(s)", reminded, escalated)
    return reminded, escalated
COMMANDS = ("start", "report", "mycases", "help", "language", "privacy", "cancel")
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


def make_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(ToleratedRefusals())
    return Bot(settings.token(), session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def make_dispatcher(db: Database, catalog: Catalog, settings: Settings, storage: BaseStorage | None = None, *,
                    casework: Casework | None = None, on_commit: Callable[[], None] | None = None) -> Dispatcher:
    """The dispatcher with our storage, per-user event isolation, and middlewares in a fixed order."""
    dp = Dispatcher(
        storage=storage or SqlStorage(db, DefaultKeyBuilder(with_destiny=False)),
        events_isolation=SimpleEventIsolation(),
    )
    dp.update.outer_middleware(DbSessionMiddleware(db, on_commit))
    dp.update.outer_middleware(I18nMiddleware(catalog))
    dp.update.outer_middleware(FloodMiddleware(SlidingWindow(settings.flood_messages, settings.flood_window_seconds)))
    dp["db"], dp["catalog"], dp["settings"] = db, catalog, settings
    dp["casework"] = casework or Casework(settings, catalog)
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
    worker: DeliveryWorker

    @classmethod
    def build(cls, settings: Settings) -> App:
        from bot.telegram_sender import TelegramSender

        db = Database(settings.database_url)
        catalog = load_catalog(default=settings.default_locale)
        bot = make_bot(settings)
        casework = Casework(settings, catalog)
        worker = DeliveryWorker(db, TelegramSender(bot), on_sent=casework.on_sent, on_failed=casework.on_failed)
        dp = make_dispatcher(db, catalog, settings, casework=casework, on_commit=worker.wake)
        processor = UpdateProcessor(dp, bot, db)
        poller = InboxPoller(bot, db, processor, timeout=settings.polling_timeout, allowed_updates=ALLOWED_UPDATES)
        return cls(settings, db, bot, dp, processor, poller, worker)

    @property
    def casework(self) -> Casework:
        return self.dp["casework"]

    async def _notify_expired(self, chat_id: int, locale: str | None) -> None:
        i18n = self.dp["catalog"].translator(locale)
        await self.bot.send_message(chat_id, i18n.t("draft-expired", hours=f"{self.settings.draft_ttl_hours:g}"),
                                    reply_markup=reporter_menu(i18n))

    async def housekeeping(self, interval: float = HOUSEKEEPING_SECONDS) -> None:
        """Chores on a timer; their state lives in the database, so a restart loses nothing but a tick."""
        ttl = timedelta(hours=self.settings.draft_ttl_hours)
        while True:
            try:
                await sweep_deadlines(self.db, self.casework, utcnow())
                self.worker.wake()
                expired = await expire_drafts(self.db, utcnow(), ttl, self._notify_expired)
                if expired:
                    log.info("discarded %d unfinished report(s)", expired)
            except Exception:
                log.exception("housekeeping failed; will retry")
            await asyncio.sleep(interval)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set (SIGINT/SIGTERM), then finish the updates in hand and close cleanly."""
        stopper = asyncio.create_task(self._stop_when(stop))
        try:
            me = await self.bot.get_me()
            log.info("bot @%s started: long polling, database %s", me.username, self.db.dialect)
            await register_commands(self.bot, self.dp["catalog"])
            chores = asyncio.create_task(self.housekeeping(), name="housekeeping")
            delivery = asyncio.create_task(self.worker.run(), name="delivery")
            await self.poller.run()
            chores.cancel()
            log.info("stopping: finishing updates in hand")
            await asyncio.wait_for(self.processor.wait_idle(), timeout=30)
            await asyncio.wait_for(settle_albums(), timeout=10)
            self.worker.stop()
            await asyncio.wait_for(delivery, timeout=30)
        finally:
            stopper.cancel()
            await self.bot.session.close()
            await self.db.dispose()
            log.info("stopped")


    async def _stop_when(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.poller.stop()


async def run(settings: Settings) -> None:
    """`python -m bot run`: signals are handled from the very start, so a SIGTERM during migrations or
    start-up is a clean stop too, never a kill."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await upgrade_async(settings.database_url)
        if not stop.is_set():
            await App.build(settings).run(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
