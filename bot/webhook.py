"""Webhook mode and the operations endpoints, served by aiohttp.

POST WEBHOOK_PATH (Telegram's deliveries)
- the `X-Telegram-Bot-Api-Secret-Token` header must equal WEBHOOK_SECRET (constant-time compare), else 403
  and nothing is read or stored; bodies over `MAX_BODY` are refused (413) before they are read;
- the update is stored in the durable inbox (keyed by update id, so a redelivery is a no-op) and claimed
  by this instance, and only then is 200 answered; the update is handed to the UpdateProcessor at once,
  which handles it after the answer is on its way;
- if it cannot be stored (the database is unreachable) the answer is 503, so Telegram delivers it again
  later: 200 is never answered for an update that is not stored.
Behind a reverse proxy, X-Forwarded-For is used for log lines only; the secret header is the only thing
that authenticates a request.

GET /healthz: 200 `{"database": "ok", "redis": "ok"|"disabled"}`, or 503 naming what is "down".
GET /metrics: Prometheus text format (see bot/metrics.py).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.types import Update
from aiohttp import web

from bot.health import Outages, describe, health
from bot.metrics import CONTENT_TYPE, Metrics
from bot.runtime import UpdateProcessor
from storage import inbox
from storage.db import Database

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # Telegram's updates are a few kB; a message is at most 4096 characters
REFUSED_LOG_EVERY = 60.0


class WebhookEndpoint:
    """The handler of Telegram's POSTs: authenticate, store, answer, then hand over."""

    def __init__(self, *, secret: str, db: Database, bot: Bot, processor: UpdateProcessor, instance: str,
                 lease: timedelta, outages: Outages | None = None, metrics: Metrics | None = None) -> None:
        self._secret = secret.encode()
        self.db, self.bot, self.processor = db, bot, processor
        self.instance, self.lease = instance, lease
        self.outages, self.metrics = outages, metrics
        self.closing = False
        self.refused = 0
        self._refused_logged_at: float | None = None
        self._refused_since_log = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.closing:
            return web.Response(status=503, text="stopping")
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            self._note_refused(request)
            return web.Response(status=403, text="forbidden")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413, text="too large")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text="too large")
        try:
            payload = json.loads(body)
        except ValueError:
            return web.Response(status=400, text="not JSON")
        update_id = payload.get("update_id") if isinstance(payload, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return web.Response(status=400, text="not an update")
        try:
            async with self.db.session() as session:
                fresh = await inbox.store(session, [payload], claimed_by=self.instance, lease=self.lease)
        except Exception as exc:
            down = await self.outages.suspect(exc) if self.outages is not None else None
            if down is None:  # an outage is logged once by Outages; anything else here, every time
                log.warning("could not store update %s (%s); answered 503 so Telegram sends it again",
                            update_id, describe(exc))
            return web.Response(status=503, text="try again later")
        if not fresh:
            if self.metrics is not None:
                self.metrics.handled("duplicate")
            return web.Response(text="ok")
        try:
            update = Update.model_validate(payload, context={"bot": self.bot})
        except Exception as exc:
            async with self.db.session() as session:
                await inbox.record_failure(session, update_id, f"unreadable update: {exc!r}", give_up=True)
            log.warning("update %s is not a readable Telegram update; parked (see `inbox list`)", update_id)
            return web.Response(text="ok")
        self.processor.submit(update)  # queues only: the handling runs after this answer
        return web.Response(text="ok")

    def _note_refused(self, request: web.Request) -> None:
        """Log refused requests at most once a minute, with where they came from (never what they sent)."""
        self.refused += 1
        self._refused_since_log += 1
        now = time.monotonic()
        if self._refused_logged_at is None or now - self._refused_logged_at >= REFUSED_LOG_EVERY:
            log.warning("webhook: refused %d request(s) without the right secret token (last from %s)",
                        self._refused_since_log, client_address(request))
            self._refused_logged_at, self._refused_since_log = now, 0


def client_address(request: web.Request) -> str:
    """The peer, plus what X-Forwarded-For claims: for log lines only, never to decide anything."""
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[0].strip()
    peer = request.remote or "?"
    return f"{forwarded[:64]} via {peer}" if forwarded else peer


class Ops:
    """/healthz and /metrics."""

    def __init__(self, db: Database, redis: Any | None, metrics: Metrics) -> None:
        self.db, self.redis, self.metrics = db, redis, metrics

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        ok, report = await health(self.db, self.redis)
        return web.json_response(report, status=200 if ok else 503)

    async def metrics_page(self, request: web.Request) -> web.StreamResponse:
        await self.metrics.refresh(self.db)
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


class HttpServer:
    """One listening aiohttp server with the given routes."""

    def __init__(self, host: str, port: int, routes: list[Route], *, setting: str) -> None:
        self.host, self.port, self.setting = host, port, setting
        self.app = web.Application(client_max_size=MAX_BODY)
        for method, path, handler in routes:
            self.app.router.add_route(method, path, handler)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        from bot.health import ServiceUnavailable

        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=10.0, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port, reuse_address=True).start()
        except OSError as exc:
            await runner.cleanup()
            raise ServiceUnavailable(f"cannot listen on {self.setting} {self.host}:{self.port}: {describe(exc)}") \
                from None
        self._runner = runner

    async def stop(self) -> None:
        """Stop accepting connections; requests in progress are finished first."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def ops_routes(ops: Ops) -> list[Route]:
    return [("GET", "/healthz", ops.healthz), ("GET", "/metrics", ops.metrics_page)]
