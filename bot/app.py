"""Application wiring: the Bot, the Dispatcher with its storage and middlewares, and the run loop.

`run` serves in one of two modes, chosen by the settings and logged at start-up:
- long polling (default; one instance): getUpdates into the durable inbox (bot/runtime.py); any webhook
  set before is deleted first. /healthz and /metrics are served on HTTP_LISTEN when it is set.
- webhook (WEBHOOK_URL set; any number of instances behind a reverse proxy): an aiohttp server on
  WEBHOOK_LISTEN stores each update in the inbox before answering 200 (bot/webhook.py); setWebhook is
  called at start-up and the webhook is left in place at shutdown (other instances keep receiving).
With REDIS_URL, conversation state and per-user event isolation live in Redis, shared by the instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest, TelegramUnauthorizedError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

from bot import aiogram_loading, replies
from bot.casework import Casework
from bot.delivery import DeliveryWorker
from bot.evidence_copies import EvidenceCopier
from bot.health import DATABASE, REDIS, Outages, ServiceUnavailable, describe, make_redis, ping_database, ping_redis
from bot.housekeeping import expire_drafts
from bot.i18n import Catalog, load_catalog
from bot.isolation import ReleasingEventIsolation
from bot.metrics import Metrics
from bot.ratelimit import SlidingWindow
from bot.runtime import InboxKeeper, InboxPoller, UpdateProcessor, instance_id
from bot.settings import Settings, SettingsError, masked_url, parse_listen
from bot.telegram_quirks import ToleratedRefusals
from handlers import build_router
from handlers.evidence import settle_albums
from handlers.keyboards import reporter_menu
from handlers.middlewares import DbSessionMiddleware, FloodMiddleware, I18nMiddleware, LazyCommitMiddleware
from storage import inbox
from storage.db import Database
from storage.fsm import SqlStorage
from storage.migrate import upgrade_async
from storage.models import utcnow

if TYPE_CHECKING:
    from bot.webhook import HttpServer, WebhookEndpoint

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 30
ISOLATION_LOCK_SECONDS = 10
PRUNE_EVERY = 600.0
# A transaction-scoped PostgreSQL advisory lock: one instance at a time runs the deadline sweep.
SWEEP_LOCK = 0x5C0_0001
MIGRATION_LOCK = 0x5C0_0002  # session-scoped: held while one instance applies the migrations
# FSM keys `fsm:<chat>:<user>`, the same layout in SQL and in Redis (see SqlStorage / housekeeping.chat_of).
KEY_BUILDER = DefaultKeyBuilder(with_destiny=False)


async def sweep_deadlines(db: Database, casework: Casework, now: datetime) -> tuple[int, int]:
    """Acknowledgement reminders and overdue escalations due at `now` (also `python -m bot sla sweep`).

    With several instances on PostgreSQL only one sweeps at a time (the others skip this round), so a
    reminder is not sent twice by two instances that saw the same due case."""
    from sqlalchemy import text

    async with db.session() as session:
        if db.dialect == "postgresql":
            if not await session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK}):
                return 0, 0
        reminded, escalated = await casework.sweep(session, now)
    if reminded or escalated:
        log.info("deadlines: %d reminder(s), %d escalation(s)", reminded, escalated)
    return reminded, escalated
COMMANDS = ("start", "report", "mycases", "help", "language", "privacy", "cancel")
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


def make_redis_fsm(redis: Any, settings: Settings) -> tuple[BaseStorage, BaseEventIsolation]:
    """Per-user locks in Redis, shared by every instance; and conversation state there if FSM_STORAGE=redis.

    The default keeps conversation state in the database even with Redis: it commits in the update's own
    transaction, so an instance killed mid-update leaves state and data consistent, and the redelivered
    update finds the conversation where it was (the fault tests kill instances and rely on that). Redis
    state is written as the handler runs, before the database commits: a crash in between leaves the
    conversation one step ahead of the data and the redelivered tap is taken for a stale one. Its keys
    expire after DRAFT_TTL_HOURS without a change, so an abandoned report is discarded silently."""
    from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

    ttl = timedelta(hours=settings.draft_ttl_hours)
    storage = RedisStorage(redis, KEY_BUILDER, state_ttl=ttl, data_ttl=ttl)
    # The per-user lock expires on its own: an instance killed mid-update must not hold that user's next
    # messages for aiogram's default minute. Handlers take milliseconds; the longest (an album) a second or two.
    return storage, RedisEventIsolation(redis, KEY_BUILDER, lock_kwargs={"timeout": ISOLATION_LOCK_SECONDS})


def make_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(ToleratedRefusals())
    return Bot(settings.token(), session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def make_dispatcher(db: Database, catalog: Catalog, settings: Settings, storage: BaseStorage | None = None, *,
                    casework: Casework | None = None, on_commit: Callable[[], None] | None = None,
                    events_isolation: BaseEventIsolation | None = None, instance: str | None = None) -> Dispatcher:
    """The dispatcher with our storage, per-user event isolation, and middlewares in a fixed order.
    `instance`: this process's name in the inbox (`InboxKeeper`), which also owns its unsent replies."""
    dp = Dispatcher(
        storage=storage or SqlStorage(db, KEY_BUILDER),
        events_isolation=events_isolation or ReleasingEventIsolation(),
        disable_fsm=True,  # registered below, inside the update's session
    )
    dp.update.outer_middleware(DbSessionMiddleware(db, on_commit, instance=instance or instance_id()))
    # aiogram's FSM middleware takes the per-user lock and reads the state. Registered by the Dispatcher it
    # would run before our session exists and read the state in a transaction of its own (bench B1).
    # Taking the lock inside the session cannot deadlock: one chat's updates reach the dispatcher one at a
    # time (`UpdateProcessor`), so the lock never makes a session wait here.
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(I18nMiddleware(catalog))
    dp.update.outer_middleware(FloodMiddleware(SlidingWindow(settings.flood_messages, settings.flood_window_seconds)))
    lazy = LazyCommitMiddleware()  # inner middlewares of the root apply to every router's handlers
    dp.message.middleware(lazy)
    dp.callback_query.middleware(lazy)
    dp["db"], dp["catalog"], dp["settings"] = db, catalog, settings
    dp["casework"] = casework or Casework(settings, catalog)
    dp.include_router(build_router())
    return dp


SETTLE_AFTER = 3.0
"""Seconds after start-up before `settle_memory`: its full collection (~0.1 s on the slow VM) would
otherwise stand between the updates waiting at start-up and their answers (bench B4)."""


def resume_collection() -> None:
    """`python -m bot run` imports and builds with the collector off (bot/__main__.py). What exists by now
    lives as long as the process, so it is set aside (frozen) rather than walked, and collection resumes for
    what the updates create; `settle_memory` gathers start-up's own garbage later."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


YOUNG_COLLECTION_AFTER = 3_000
"""Objects allocated (net) before the collector walks the young ones; CPython's default is 700. Handling
one update allocates hundreds at once (its models, the handler data, rows), so at 700 a young collection
came every few updates, mostly walking objects about to be freed anyway, and every tenth of them an older
one: 6.3% of the loop under load on SQLite (bench B1, saturated: 2,800 + 260 + 24 collections in 20 s, 1.27 s).
At 3,000: 530 + 48 + 4, 0.6 s, young pauses ~2 ms. At 10,000 SQLite spent 0.1 s, but each young pause took
8–10 ms and the updates were no measurably cheaper; PostgreSQL, whose 200 open sessions keep more objects
alive, saved nothing there: its young collections took up to 13 ms and its middle ones 60 ms. Cycles are
still gathered by themselves, a little later."""


def settle_memory() -> None:
    """Once started: what exists now (aiogram, SQLAlchemy, the locales, ~a million objects) lives as long
    as the process, so the garbage collector stops walking it in every full collection. Measured in
    bench B1: +12% updates per second, the cycles of per-update objects being collected as before. From
    then on it collects less often (`YOUNG_COLLECTION_AFTER`)."""
    gc.unfreeze()  # what `resume_collection` set aside is collected too
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_AFTER, *gc.get_threshold()[1:])


COMMANDS_AFTER = 1.0
"""Seconds after start-up before the command menus are set: they are cosmetic, and their requests would
otherwise go out ahead of the first poll (bench B4)."""


async def register_commands(bot: Bot, catalog: Catalog) -> None:
    """Command menus in both languages, `COMMANDS_AFTER` seconds after start; a failure is logged, never fatal."""
    await asyncio.sleep(COMMANDS_AFTER)
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
    keeper: InboxKeeper | None = None
    metrics: Metrics = field(default_factory=Metrics)
    outages: Outages | None = None
    redis: Any | None = None
    copier: EvidenceCopier | None = None  # EVIDENCE_DIR set

    @classmethod
    def build(cls, settings: Settings) -> App:
        from bot.telegram_sender import TelegramSender, file_fetcher

        aiogram_loading.build_shared()
        db = Database(settings.database_url)
        catalog = load_catalog(default=settings.default_locale)
        bot = make_bot(settings)
        casework = Casework(settings, catalog)
        worker = DeliveryWorker(db, TelegramSender(bot), on_sent=casework.on_sent, on_failed=casework.on_failed,
                                on_thread_gone=casework.on_thread_gone, lease=settings.outbox_lease_seconds)
        metrics = Metrics(worker.stats)
        probes = {DATABASE: lambda: ping_database(db)}
        redis = storage = isolation = None
        if settings.redis() is not None:
            redis = make_redis(settings.redis())  # type: ignore[arg-type]
            redis_storage, isolation = make_redis_fsm(redis, settings)
            if settings.fsm_storage == "redis":
                storage = redis_storage
            probes[REDIS] = lambda: ping_redis(redis)
        outages = Outages(probes)
        role = f"webhook-{parse_listen(settings.webhook_listen)[1]}" if settings.webhook_mode else "polling"
        instance = instance_id(role)
        copier = None if settings.evidence_dir is None else \
            EvidenceCopier(db, file_fetcher(bot), settings.evidence_dir)

        def queued() -> None:  # the commit queued messages: a case saved, or a status changed
            worker.wake()
            if copier is not None:
                copier.wake()

        dp = make_dispatcher(db, catalog, settings, storage, casework=casework, on_commit=queued,
                             events_isolation=isolation, instance=instance)
        processor = UpdateProcessor(dp, bot, db, outages=outages, metrics=metrics)
        keeper = InboxKeeper(bot, db, processor, instance=instance, lease=settings.inbox_lease_seconds,
                             outages=outages)
        poller = InboxPoller(bot, db, processor, timeout=settings.polling_timeout, allowed_updates=ALLOWED_UPDATES,
                             keeper=keeper, outages=outages)
        return cls(settings, db, bot, dp, processor, poller, worker, keeper, metrics, outages, redis, copier)

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
        pruned_at = 0.0
        while True:
            try:
                await sweep_deadlines(self.db, self.casework, utcnow())
                self.worker.wake()
                expired = await expire_drafts(self.db, utcnow(), ttl, self._notify_expired)
                if expired:
                    log.info("discarded %d unfinished report(s)", expired)
                loop_time = asyncio.get_running_loop().time()
                if loop_time - pruned_at >= PRUNE_EVERY:
                    await self.prune_inbox()
                    pruned_at = loop_time
            except Exception as exc:
                if self.outages is None or await self.outages.suspect(exc) is None:
                    log.exception("housekeeping failed; will retry")
            await asyncio.sleep(interval)

    async def prune_inbox(self) -> int:
        """Forget handled update ids after INBOX_TTL_HOURS (Telegram redelivers for 24 hours at most)."""
        cutoff = utcnow() - timedelta(hours=self.settings.inbox_ttl_hours)
        async with self.db.session() as session:
            pruned = await inbox.prune(session, handled_before=cutoff)
        if pruned:
            log.info("inbox: forgot %d handled update(s) older than %g h", pruned, self.settings.inbox_ttl_hours)
        return pruned

    # --- serving --------------------------------------------------------------------------------------

    def _servers(self) -> tuple[list[HttpServer], WebhookEndpoint | None]:
        """The HTTP servers of this mode: the webhook (webhook mode), /healthz and /metrics (see settings)."""
        from bot.webhook import HttpServer, Ops, WebhookEndpoint, ops_routes

        settings = self.settings
        ops = ops_routes(Ops(self.db, self.redis, self.metrics))
        servers: list[HttpServer] = []
        endpoint = None
        if settings.webhook_mode:
            assert self.keeper is not None and settings.webhook_secret is not None
            endpoint = WebhookEndpoint(secret=settings.webhook_secret.get_secret_value(), db=self.db, bot=self.bot,
                                       processor=self.processor, instance=self.keeper.instance,
                                       lease=self.keeper.lease, outages=self.outages, metrics=self.metrics)
            shared = settings.http_listen is None or parse_listen(settings.http_listen) == \
                parse_listen(settings.webhook_listen)
            routes = [("POST", settings.webhook_path, endpoint.handle), *(ops if shared else [])]
            servers.append(HttpServer(*parse_listen(settings.webhook_listen), routes, setting="WEBHOOK_LISTEN"))
            if not shared:
                servers.append(HttpServer(*parse_listen(settings.http_listen), ops,  # type: ignore[arg-type]
                                          setting="HTTP_LISTEN"))
        elif settings.http_listen is not None:
            servers.append(HttpServer(*parse_listen(settings.http_listen), ops, setting="HTTP_LISTEN"))
        return servers, endpoint

    async def _set_webhook(self) -> None:
        """Point Telegram at WEBHOOK_URL (every instance does it; it is idempotent). Pending updates are kept."""
        settings = self.settings
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        for attempt in range(1, 4):
            try:
                await self.bot.set_webhook(settings.webhook_url,
                                           secret_token=settings.webhook_secret.get_secret_value(),
                                           allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)
                return
            except TelegramBadRequest as exc:
                raise SettingsError(f"Telegram refused WEBHOOK_URL {settings.webhook_url}: {exc.message}. "
                                    "It must be a public https:// URL (ports 443, 80, 88 or 8443).") from None
            except Exception as exc:
                if attempt == 3:
                    log.warning("could not set the webhook (%s); Telegram keeps delivering to the one set before",
                                describe(exc))
                    return
                await asyncio.sleep(attempt)

    async def _delete_webhook(self) -> None:
        """Long polling cannot work while a webhook is set (Telegram answers 409): remove it, keeping updates."""
        try:
            await self.bot.delete_webhook(drop_pending_updates=False)
        except Exception as exc:
            log.warning("could not delete the webhook (%s)", describe(exc))

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set (SIGINT/SIGTERM), then finish the updates in hand and close cleanly."""
        stopper = asyncio.create_task(self._stop_when(stop))
        servers, endpoint = self._servers()
        started: list[HttpServer] = []
        tasks: list[asyncio.Task[Any]] = []
        keeper_stop = asyncio.Event()
        delivery: asyncio.Task[None] | None = None
        try:
            try:
                me = await self.bot.get_me()
            except TelegramUnauthorizedError:
                raise SettingsError("Telegram does not accept BOT_TOKEN (401 Unauthorized): the bot was deleted "
                                    "or the token revoked. Copy the current token from @BotFather.") from None
            tasks.append(asyncio.create_task(register_commands(self.bot, self.dp["catalog"]), name="commands"))
            if endpoint is not None:
                assert self.keeper is not None
                await self.keeper.recover()  # our previous run's leftovers first, in update id order
            for server in servers:
                await server.start()
                started.append(server)
            if endpoint is not None:
                await self._set_webhook()
                mode = f"webhook at {self.settings.webhook_url} (listening on {self.settings.webhook_listen})"
            else:
                await self._delete_webhook()
                mode = "long polling"
            extras = "".join([", redis" if self.redis is not None else "",
                              f", health and metrics on {self.settings.http_listen}" if self.settings.http_listen
                              else "",
                              f", evidence copies in {self.settings.evidence_dir}" if self.copier is not None else ""])
            log.info("bot @%s started: %s, database %s%s", me.username, mode, self.db.dialect, extras)
            asyncio.get_running_loop().call_later(SETTLE_AFTER, settle_memory)
            chores = asyncio.create_task(self.housekeeping(), name="housekeeping")
            tasks.append(chores)
            delivery = asyncio.create_task(self.worker.run(), name="delivery")
            if self.copier is not None:
                tasks.append(asyncio.create_task(self.copier.run(), name="evidence-copies"))
            if self.keeper is not None:
                tasks.append(asyncio.create_task(self.keeper.run(keeper_stop), name="inbox-keeper"))
            if endpoint is None:
                await self.poller.run()
            else:
                await stop.wait()
                endpoint.closing = True  # answer 503 from now on: Telegram delivers to another instance
            chores.cancel()
            log.info("stopping: finishing updates in hand")
            await self._shutdown(started, delivery)
        finally:
            stopper.cancel()
            keeper_stop.set()
            for task in tasks:
                task.cancel()
            if delivery is not None and not delivery.done():
                delivery.cancel()
            await asyncio.gather(*tasks, *([delivery] if delivery else []), return_exceptions=True)
            for server in started:
                await server.stop()
            if self.outages is not None:
                await self.outages.close()
            if self.redis is not None:
                with contextlib.suppress(Exception):
                    await self.redis.aclose()
            await self.bot.session.close()
            await self.db.dispose()
            log.info("stopped")

    async def _shutdown(self, servers: list[HttpServer], delivery: asyncio.Task[None]) -> None:
        """Stop taking updates, finish those in hand, release what cannot be finished, stop delivering."""
        if self.settings.webhook_mode:
            for server in servers:
                await server.stop()  # requests already received are answered first
        self.processor.stop()  # updates waiting out an outage stay pending instead of holding the stop
        try:
            await asyncio.wait_for(self.processor.wait_idle(), timeout=30)
            await asyncio.wait_for(settle_albums(), timeout=10)
            await asyncio.wait_for(replies.settle(), timeout=10)
        except TimeoutError:
            log.warning("stopping: some updates were still being handled after 30s; they stay pending")
        if self.keeper is not None:
            try:
                released = await self.keeper.release()
                if released:
                    log.info("stopping: %d claimed update(s) left for the other instances", released)
            except Exception as exc:
                log.warning("stopping: could not release claimed updates (%s); their lease runs out", describe(exc))
        self.worker.stop()
        try:
            await asyncio.wait_for(asyncio.shield(delivery), timeout=30)
        except TimeoutError:
            log.warning("stopping: deliveries still in flight after 30s")

    async def _stop_when(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.poller.stop()


async def migrate_once(url: str) -> None:
    """Apply migrations at start-up. On PostgreSQL instances starting together take turns (an advisory
    lock), so only the first one migrates and the others find the schema up to date."""
    if not url.startswith("postgresql"):
        await upgrade_async(url)
        return
    from sqlalchemy import text

    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                await upgrade_async(url)
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
    finally:
        await db.dispose()


async def check_services(settings: Settings) -> None:
    """Start-up: every service the bot needs answers, or one clear `ServiceUnavailable` naming its setting."""
    from bot.health import probe

    db = Database(settings.database_url)
    try:
        problem = await probe(lambda: ping_database(db), timeout=10)
    finally:
        await db.dispose()
    if problem is not None:
        raise ServiceUnavailable(f"the database at DATABASE_URL ({masked_url(settings.database_url)}) cannot be "
                                 f"reached: {problem}")
    url = settings.redis()
    if url is not None:
        redis = make_redis(url)
        try:
            problem = await probe(lambda: ping_redis(redis), timeout=10)
        finally:
            with contextlib.suppress(Exception):
                await redis.aclose()
        if problem is not None:
            raise ServiceUnavailable(f"Redis at REDIS_URL ({masked_url(url)}) cannot be reached: {problem}")


async def run(settings: Settings) -> None:
    """`python -m bot run`: signals are handled from the very start, so a SIGTERM during migrations or
    start-up is a clean stop too, never a kill."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await check_services(settings)
        await migrate_once(settings.database_url)
        if not stop.is_set():
            app = App.build(settings)
            resume_collection()
            await app.run(stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
