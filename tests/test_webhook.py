"""Webhook mode end to end: the real `python -m bot run` with WEBHOOK_URL set, the fake Bot API pushing updates.

What an operator and a user would notice: /start answered through the webhook; a request without the
secret refused and never handled; a redelivered update handled once; an update left by a dead instance
handled by the live one; /healthz and /metrics; a clean SIGTERM that leaves the webhook in place.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import InboxUpdate, utcnow
from tests.e2e import TOKEN, BotProcess, free_port
from tests.fakebot import FakeTelegram

SECRET = "wh-secret-" + "k" * 30
PROMPT = 20.0


def webhook_env(port: int, **extra: str) -> dict[str, str]:
    return {"WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram", "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": f"127.0.0.1:{port}", "INBOX_LEASE_SECONDS": "4", **extra}


class WebhookBot:
    def __init__(self, process: BotProcess, port: int) -> None:
        self.process, self.port = process, port
        self.base = f"http://127.0.0.1:{port}"

    async def post(self, payload: object, secret: str | None = SECRET, *, raw: bytes | None = None) -> int:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        body = raw if raw is not None else json.dumps(payload).encode()
        async with aiohttp.ClientSession() as http, http.post(f"{self.base}/telegram", data=body,
                                                              headers=headers) as response:
            return response.status

    async def get(self, path: str) -> tuple[int, str, str]:
        async with aiohttp.ClientSession() as http, http.get(f"{self.base}{path}") as response:
            return response.status, response.headers.get("Content-Type", ""), await response.text()


@pytest.fixture
async def webhook_bot(fake: FakeTelegram, db_url: str, tmp_path: Path) -> AsyncIterator[WebhookBot]:
    port = free_port()
    process = await BotProcess(fake.base_url, db_url, tmp_path, **webhook_env(port)).start()
    try:
        await process.wait_ready()
        yield WebhookBot(process, port)
    finally:
        await process.kill()


def help_update(update_id: int, user_id: int) -> dict[str, object]:
    """A private /help message as Telegram would post it."""
    user = {"id": user_id, "is_bot": False, "first_name": "Phụ huynh", "language_code": "vi"}
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "chat": {"id": user_id, "type": "private",
                                                                     "first_name": "Phụ huynh"},
        "from": user, "text": "/help", "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}


async def inbox_row(db: Database, update_id: int) -> InboxUpdate | None:
    async with db.session() as session:
        return await session.scalar(select(InboxUpdate).where(InboxUpdate.update_id == update_id))


async def wait_handled(db: Database, update_id: int, timeout: float = 10) -> InboxUpdate:
    """The inbox row once it is `done` (the reply is sent just before the handler's transaction commits)."""
    async with asyncio.timeout(timeout):
        while True:
            row = await inbox_row(db, update_id)
            assert row is None or row.status != "failed", row.last_error
            if row is not None and row.status == "done":
                return row
            await asyncio.sleep(0.05)


def helps(user) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.text for m in user.messages if "Hướng dẫn sử dụng" in m.text]


async def test_start_is_answered_through_the_webhook(fake: FakeTelegram, webhook_bot: WebhookBot):
    assert fake.webhook.url == f"http://127.0.0.1:{webhook_bot.port}/telegram"
    assert fake.webhook.secret_token == SECRET
    assert set(fake.webhook.allowed_updates or []) == {"message", "callback_query", "my_chat_member"}
    assert fake.calls_to("setWebhook")[-1].params.get("drop_pending_updates") in (None, False, "false")

    parent = fake.user(6101, "Lan", language_code="vi")
    await parent.send("/start")
    await parent.wait_for_message(lambda m: "91/2025/QH15" in m.text, timeout=PROMPT)
    log = webhook_bot.process.log()
    assert f"started: webhook at http://127.0.0.1:{webhook_bot.port}/telegram" in log
    assert SECRET not in log and TOKEN.split(":")[1] not in log
    assert not fake.calls_to("getUpdates")  # no polling in webhook mode


async def test_requests_without_the_secret_are_refused_and_never_handled(fake: FakeTelegram, db: Database,
                                                                         webhook_bot: WebhookBot):
    intruder = fake.user(6201, "Kẻ lạ", started=True)
    assert await webhook_bot.post(help_update(800001, intruder.id), secret=None) == 403
    assert await webhook_bot.post(help_update(800002, intruder.id), secret="wrong-" + "x" * 30) == 403
    assert await webhook_bot.post(help_update(800003, intruder.id), secret=SECRET[:-1]) == 403
    # Malformed or oversized bodies with the right secret are refused too, and nothing is stored.
    assert await webhook_bot.post(None, raw=b"{not json") == 400
    assert await webhook_bot.post({"message": {}}) == 400
    assert await webhook_bot.post(None, raw=b"{" + b" " * (2 * 1024 * 1024) + b"}") == 413

    # A genuine update from Telegram still goes through, and the refused ones left no trace.
    user = fake.user(6202, "Minh")
    await user.send("/help")
    await user.wait_for_message(lambda m: "Hướng dẫn sử dụng" in m.text, timeout=PROMPT)
    for update_id in (800001, 800002, 800003):
        assert await inbox_row(db, update_id) is None
    assert intruder.messages == []
    assert "refused 1 request(s) without the right secret token" in webhook_bot.process.log()
    assert SECRET not in webhook_bot.process.log()


async def test_a_redelivered_update_is_handled_once(fake: FakeTelegram, db: Database, webhook_bot: WebhookBot):
    user = fake.user(6301, "An")
    sent = await user.send("/help")
    fake.deliver_twice(sent)  # Telegram delivers it again with the same update_id
    await user.wait_for_message(lambda m: "Hướng dẫn sử dụng" in m.text, timeout=PROMPT)
    # And a third copy posted directly, as a retry after a lost answer would be.
    assert await webhook_bot.post(sent.update, secret=SECRET) == 200
    await user.send("/language")  # a later update of the same chat: handled after any duplicate would be
    await user.wait_for_message(lambda m: "English" in m.text or bool(m.buttons), timeout=PROMPT)
    assert len(helps(user)) == 1
    await wait_handled(db, sent.update_id)
    _, _, metrics = await webhook_bot.get("/metrics")
    assert _sample(metrics, 'bot_updates_handled_total{result="duplicate"}') >= 2


async def test_an_update_left_by_a_dead_instance_is_handled_by_the_live_one(fake: FakeTelegram, db: Database,
                                                                            webhook_bot: WebhookBot):
    user = fake.user(6401, "Hoa", started=True)
    payload = help_update(900001, user.id)
    async with db.session() as session:
        session.add(InboxUpdate(update_id=900001, payload=payload, status="pending", attempts=0,
                                claimed_by="dead-host:webhook-8080", claimed_until=utcnow() - timedelta(minutes=1)))
    await user.wait_for_message(lambda m: "Hướng dẫn sử dụng" in m.text, timeout=PROMPT)
    await wait_handled(db, 900001)
    assert "resuming 1 update(s) left pending" in webhook_bot.process.log()

    # A row another instance still holds a live lease on is left alone.
    other = fake.user(6402, "Bình", started=True)
    async with db.session() as session:
        session.add(InboxUpdate(update_id=900002, payload=help_update(900002, other.id), status="pending",
                                attempts=0, claimed_by="busy-host:webhook-8080",
                                claimed_until=utcnow() + timedelta(minutes=10)))
    await other.assert_no_message(within=3.0)
    row = await inbox_row(db, 900002)
    assert row is not None and row.status == "pending"


async def test_healthz_and_metrics(fake: FakeTelegram, webhook_bot: WebhookBot):
    user = fake.user(6501, "Quang")
    await user.send("/help")
    await user.wait_for_message(lambda m: "Hướng dẫn sử dụng" in m.text, timeout=PROMPT)

    status, content_type, body = await webhook_bot.get("/healthz")
    assert status == 200 and content_type.startswith("application/json")
    assert json.loads(body) == {"database": "ok", "redis": "disabled"}

    status, content_type, body = await webhook_bot.get("/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    assert _sample(body, 'bot_updates_handled_total{result="ok"}') >= 1
    assert _sample(body, "bot_handler_seconds_count") >= 1
    assert _sample(body, "bot_outbox_backlog") == 0
    assert "bot_outbox_oldest_pending_age_seconds" in body
    assert 'bot_cases{status="new"}' in body
    assert 'bot_deliveries_total{result="sent"}' in body
    assert _sample(body, 'bot_inbox_updates{status="done"}') >= 1
    assert SECRET not in body


async def test_sigterm_finishes_and_leaves_the_webhook_in_place(fake: FakeTelegram, webhook_bot: WebhookBot):
    user = fake.user(6601, "Tâm")
    await user.send("/help")
    await user.wait_for_message(lambda m: "Hướng dẫn sử dụng" in m.text, timeout=PROMPT)
    assert await webhook_bot.process.stop() == 0
    assert "stopped" in webhook_bot.process.log()
    assert fake.webhook.url  # other instances keep receiving; Telegram queues updates meanwhile
    assert not fake.calls_to("deleteWebhook")


async def test_a_busy_webhook_port_is_one_line_and_exit_3(fake: FakeTelegram, db_url: str, tmp_path: Path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = await BotProcess(fake.base_url, db_url, tmp_path, **webhook_env(port)).start()
        assert process.process is not None
        assert await asyncio.wait_for(process.process.wait(), 60) == 3
    log = process.log()
    assert f"Cannot start: cannot listen on WEBHOOK_LISTEN 127.0.0.1:{port}" in log
    assert "Traceback" not in log and SECRET not in log


async def test_polling_mode_removes_a_webhook_and_serves_health_on_http_listen(fake: FakeTelegram, db_url: str,
                                                                               tmp_path: Path):
    await fake.execute("setWebhook", _params({"url": "https://old.example.org/telegram"}))
    port = free_port()
    process = await BotProcess(fake.base_url, db_url, tmp_path, HTTP_LISTEN=f"127.0.0.1:{port}").start()
    try:
        await process.wait_ready()
        assert "started: long polling" in process.log()
        user = fake.user(6701, "Nam")
        await user.send("/help")  # getUpdates works: the webhook was deleted, pending updates kept
        await user.wait_for_message(lambda m: "Hướng dẫn sử dụng" in m.text, timeout=PROMPT)
        assert fake.webhook.url == ""
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
            assert await response.json() == {"database": "ok", "redis": "disabled"}
        async with aiohttp.ClientSession() as http, http.post(f"http://127.0.0.1:{port}/telegram") as response:
            assert response.status in (404, 405)  # no webhook endpoint in polling mode
    finally:
        await process.kill()


def _params(values: dict[str, object]):  # type: ignore[no-untyped-def]
    from tests.fakebot.params import Params

    return Params(values)


def _sample(text: str, name: str) -> float:
    """The value of one sample line of a Prometheus text page (`name value`)."""
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match, f"{name} not in metrics:\n{text[:2000]}"
    return float(match.group(1))
