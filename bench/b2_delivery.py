"""B2 — delivery rate: 10,000 notifications to distinct chats through the outbox worker, against the fake
Bot API enforcing a global rate limit with 429 + retry_after.

Telegram allows a bot about 30 messages per second overall. The benchmark scales that limit up (LIMIT per
second, so 10,000 messages take under a minute) and gives the worker the same settings relative to the
limit as in production (`bot.delivery.worker_settings_for`), so the ratio is what is measured: accepted
messages per second as a fraction of the limit, 429 answers, and chats that got no message or two.

The fake runs in its own process (`bench.fake_process`); the worker is the production one — `make_bot`'s
aiohttp session, `TelegramSender`, the casework hooks, `DeliveryWorker.run()` — on a fresh SQLite (and
PostgreSQL) database. A last run uses Telegram's own limit (30/s) and the worker's production settings.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from sqlalchemy import insert

from bench.common import ROOT, Scale, database, postgres_available, publish, table, targets_table
from bench.profiling import Load
from bot import delivery
from bot.app import make_bot
from bot.casework import Casework
from bot.delivery import DeliveryWorker
from bot.i18n import load_catalog
from bot.settings import Settings
from bot.telegram_sender import TelegramSender
from storage import outbox
from storage.db import Database
from storage.models import OutboxMessage, utcnow

NAME = "b2_delivery"
TOKEN = "123456:TEST-bench-delivery-aaaaaaaaaaaa"
FIRST_CHAT = 1_000_000
TARGET_RATIO = 0.95
TARGET_429_SHARE = 0.01


def worker_settings(limit: float) -> dict[str, Any]:
    """The production worker's global pacing, scaled from Telegram's limit to the fake's."""
    scaled = getattr(delivery, "worker_settings_for", None)
    if scaled is not None:
        return dict(scaled(limit))
    return {"global_rate": 25.0 * limit / 30.0}  # the defaults before the B2 fix: 25/s against ~30/s


class FakeProcess:
    """`bench.fake_process` as a child process, driven over its stdin/stdout."""

    def __init__(self, first: int, last: int, rate: int | None) -> None:
        self.args = ["--token", TOKEN, "--users", f"{first}:{last}", "--rate", str(rate or 0)]
        self.process: asyncio.subprocess.Process | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeProcess:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.fake_process", *self.args, cwd=ROOT, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        self.base_url = (await self._read())["base_url"]
        return self

    async def _read(self) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 120)
        if not line:
            raise RuntimeError("the fake Bot API process exited")
        return json.loads(line)

    async def command(self, command: str) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")
        await self.process.stdin.drain()
        return await self._read()

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


class InProcessFake:
    """The same interface over a FakeTelegram in this process (for the smoke test: no process start-up)."""

    def __init__(self, fake: Any, first: int, last: int, rate: int | None) -> None:
        self.fake, self.first, self.last, self.rate = fake, first, last, rate
        self.base_url = fake.base_url
        for chat in range(first, last):
            fake.user(chat, started=True)
        if rate:
            fake.rate_limit(per_second=rate)

    async def command(self, command: str) -> dict[str, Any]:
        from bench.fake_process import delivery_stats

        if command == "reset":
            self.fake.stats.reset()
            self.fake.calls.clear()
            return {"ok": True}
        return delivery_stats(self.fake, self.first, self.last, self.rate)


async def _enqueue(db: Database, chats: range) -> None:
    """The rows `outbox.enqueue` writes, inserted in bulk (queueing is not what B2 measures)."""
    now = utcnow()
    rows = [{"key": f"bench:{chat}", "chat_id": chat, "kind": "notice", "case_id": None,
             "payload": {"text": f"Thông báo <b>{chat}</b>: vụ việc đã được tiếp nhận."},
             "status": outbox.PENDING, "attempts": 0, "due_at": now, "created_at": now} for chat in chats]
    async with db.session() as session:
        for start in range(0, len(rows), 2000):
            await session.execute(insert(OutboxMessage), rows[start:start + 2000])


async def deliver(backend: str, url: str, *, messages: int, limit: int, fake: Any) -> dict[str, Any]:
    chats = range(FIRST_CHAT, FIRST_CHAT + messages)
    db = Database(url)
    settings = Settings(_env_file=None, bot_token=TOKEN, database_url=url,  # type: ignore[call-arg]
                        telegram_api_url=fake.base_url)
    bot = make_bot(settings)
    try:
        await _enqueue(db, chats)
        await fake.command("reset")
        config = worker_settings(limit)
        casework = Casework(settings, load_catalog())  # the production hooks, as App.build wires them
        worker = DeliveryWorker(db, TelegramSender(bot), on_sent=casework.on_sent, on_failed=casework.on_failed,
                                on_thread_gone=casework.on_thread_gone, **config)
        load = Load()
        started = time.perf_counter()
        task = asyncio.create_task(worker.run())
        deadline = started + max(120.0, messages / limit * 4)
        # Watching the worker's counters: there is no event to wait on.
        while worker.stats["sent"] + worker.stats["failed"] < messages and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        wall = time.perf_counter() - started
        worker.stop()
        await asyncio.wait_for(task, 60)
        used = load.finish()
        async with db.session() as session:
            statuses = await outbox.counts(session)
        seen = await fake.command("stats")
    finally:
        await bot.session.close()
        await db.dispose()
    rate = seen["accepted_rate"] or 0.0
    return {
        "backend": backend, "messages": messages, "limit_per_s": limit, "worker": config,
        "wall_s": round(wall, 3), "worker_rate": round(worker.stats["sent"] / wall, 2),
        "accepted_rate": rate, "ratio": round(rate / limit, 4),
        "answered_429": seen["answered_429"], "send_requests": seen["send_requests"],
        "share_429": round(seen["answered_429"] / max(1, seen["send_requests"]), 5),
        "lost": seen["lost"], "duplicates": seen["duplicates"], "busiest_second": seen["busiest_second"],
        "outbox": statuses, "worker_stats": dict(worker.stats), "load": used,
    }


async def run(scale: Scale) -> dict[str, Any]:
    messages = scale.pick(10_000, 600)
    limit = scale.pick(200, 100)
    runs = []
    skipped = {}
    async with FakeProcess(FIRST_CHAT, FIRST_CHAT + messages, limit) as fake:
        for backend in ("sqlite", "postgresql"):
            if backend == "postgresql" and (why := await postgres_available()):
                skipped[backend] = why
                continue
            async with database(backend, "b2") as url:
                runs.append(await deliver(backend, url, messages=messages, limit=limit, fake=fake))
    # The same worker at Telegram's own limit (30/s, its production settings): is pacing what bounds it there?
    telegram = int(delivery.TELEGRAM_GLOBAL_LIMIT) if hasattr(delivery, "TELEGRAM_GLOBAL_LIMIT") else 30
    small = scale.pick(1_200, 60)
    async with FakeProcess(FIRST_CHAT, FIRST_CHAT + small, telegram) as fake:
        async with database("sqlite", "b2t") as url:
            runs.append(await deliver("sqlite", url, messages=small, limit=telegram, fake=fake))
    main = runs[0]
    targets = {
        "rate_ratio": {"target": f">= {TARGET_RATIO:.0%} of the limit", "measured": main["ratio"],
                       "met": main["ratio"] >= TARGET_RATIO},
        "share_429": {"target": f"< {TARGET_429_SHARE:.0%} of sends", "measured": main["share_429"],
                      "met": main["share_429"] < TARGET_429_SHARE},
        "lost_or_doubled": {"target": "0", "measured": main["lost"] + main["duplicates"],
                            "met": main["lost"] + main["duplicates"] == 0},
    }
    return {"runs": runs, "targets": targets, "skipped": skipped}


def render(result: dict[str, Any]) -> str:
    rows = [(r["backend"], r["messages"], r["limit_per_s"], r["worker"]["global_rate"], r["accepted_rate"],
             f"{r['ratio']:.1%}", r["answered_429"], f"{r['share_429']:.2%}", r["lost"], r["duplicates"],
             r["busiest_second"], r["wall_s"], r["load"]["own_process_cores"], r["load"]["foreign_cores"])
            for r in result["runs"]]
    text = table("B2 delivery: distinct chats through the outbox worker, fake Bot API enforcing a global limit",
                 ["db", "messages", "limit/s", "worker rate/s", "accepted/s", "of limit", "429s", "429 share",
                  "lost", "doubled", "busiest 1 s", "wall s", "worker CPU (cores)", "other load (cores)"], rows)
    text += targets_table("B2 targets (SQLite run)", result)
    return text


async def main(scale: Scale) -> dict[str, Any]:
    return publish(NAME, await run(scale), render)
