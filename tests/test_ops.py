"""Operations: settings for scale-out, start-up checks and exit codes, Redis (FSM, isolation, outage while
running), the inbox's claims and TTL across instances, the 0003 migration on both dialects, /healthz,
metrics and JSON logs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from bot.health import Outages, dependency_of, health, make_redis, ping_database
from bot.logs import setup_logging
from bot.metrics import Metrics
from bot.settings import SettingsError, load_settings
from bot.webhook import SECRET_HEADER, WebhookEndpoint
from storage import inbox, outbox
from storage.db import Database
from storage.migrate import downgrade, upgrade
from storage.models import FsmRecord, InboxUpdate, utcnow
from tests.e2e import ROOT, TOKEN, BotProcess, free_port, labeller, next_prompt, onboard, step_of
from tests.factories import make_tree
from tests.fakebot import FakeTelegram
from tests.faults import TcpProxy

SECRET = "ops-secret-" + "q" * 30
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
LEASE = timedelta(seconds=60)


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/bot.db", **extra}


def run_cli(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=cli_env(tmp_path, **extra),
                          capture_output=True, text=True, timeout=90)


# ---------------------------------------------------------------------------------------------------
# settings


@pytest.mark.parametrize(("env", "named"), [
    ({"WEBHOOK_URL": "https://bot.example.org/telegram"}, "WEBHOOK_SECRET"),
    ({"WEBHOOK_URL": "https://bot.example.org/telegram", "WEBHOOK_SECRET": "short"}, "WEBHOOK_SECRET"),
    ({"WEBHOOK_URL": "https://bot.example.org/telegram", "WEBHOOK_SECRET": "has spaces in it, not ok!!"},
     "WEBHOOK_SECRET"),
    ({"WEBHOOK_URL": "ftp://bot.example.org/telegram", "WEBHOOK_SECRET": SECRET}, "WEBHOOK_URL"),
    ({"WEBHOOK_URL": "http://bot.example.org/telegram", "WEBHOOK_SECRET": SECRET}, "https://"),
    ({"WEBHOOK_LISTEN": "8080"}, "WEBHOOK_LISTEN"),
    ({"WEBHOOK_LISTEN": "0.0.0.0:99999"}, "WEBHOOK_LISTEN"),
    ({"WEBHOOK_PATH": "telegram"}, "WEBHOOK_PATH"),
    ({"HTTP_LISTEN": "localhost"}, "HTTP_LISTEN"),
    ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ({"INBOX_TTL_HOURS": "2"}, "INBOX_TTL_HOURS"),
    ({"INBOX_LEASE_SECONDS": "0"}, "INBOX_LEASE_SECONDS"),
])
def test_invalid_scale_out_settings_are_one_clear_paragraph(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                             named: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    message = str(info.value)
    assert named in message and ".env.example" in message
    if "WEBHOOK_SECRET" in env:
        assert env["WEBHOOK_SECRET"] not in message


def test_scale_out_defaults_and_empty_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REDIS_URL", "WEBHOOK_URL", "WEBHOOK_SECRET", "HTTP_LISTEN"):
        monkeypatch.setenv(name, "")  # as .env.example ships them
    settings = load_settings(_env_file=None)
    assert settings.redis() is None and not settings.webhook_mode and settings.http_listen is None
    assert (settings.webhook_listen, settings.webhook_path, settings.log_format) == ("127.0.0.1:8080", "/telegram",
                                                                                     "text")
    assert settings.inbox_ttl_hours == 48
    monkeypatch.setenv("WEBHOOK_URL", "http://127.0.0.1:8443/tg")  # http is fine with a local Bot API server
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081")
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2hunter2@127.0.0.1:6379/0")
    settings = load_settings(_env_file=None)
    assert settings.webhook_mode and SECRET in settings.secrets() and "hunter2hunter2" in settings.secrets()
    assert "hunter2" not in repr(settings)


def test_run_without_webhook_secret_exits_2_naming_it(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "run", WEBHOOK_URL="https://bot.example.org/telegram")
    assert result.returncode == 2
    assert "WEBHOOK_SECRET is required when WEBHOOK_URL is set" in result.stderr
    assert "Traceback" not in result.stderr and TOKEN not in result.stderr


# ---------------------------------------------------------------------------------------------------
# start-up checks


def test_redis_unreachable_at_start_up_is_one_line_and_exit_3(tmp_path: Path) -> None:
    url = f"redis://:redis-password-xyz@127.0.0.1:{free_port()}/0"
    result = run_cli(tmp_path, "run", REDIS_URL=url)
    assert result.returncode == 3, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip() and "alembic" not in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Cannot start: Redis at REDIS_URL (redis://:***@127.0.0.1:")
    assert "Traceback" not in result.stderr
    assert "redis-password-xyz" not in result.stderr + result.stdout and TOKEN.split(":")[1] not in result.stderr


def test_database_unreachable_at_start_up_is_one_line_and_exit_3(tmp_path: Path) -> None:
    url = f"postgresql://bot:db-password-xyz@127.0.0.1:{free_port()}/bot"
    result = run_cli(tmp_path, "run", DATABASE_URL=url)
    assert result.returncode == 3, result.stderr
    assert "Cannot start: the database at DATABASE_URL (postgresql+asyncpg://bot:***@127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr and "db-password-xyz" not in result.stderr


# ---------------------------------------------------------------------------------------------------
# the inbox across instances


def payload(update_id: int, user_id: int = 4242) -> dict[str, object]:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1_700_000_000,
                                                "chat": {"id": user_id, "type": "private"}, "text": "/help"}}


async def rows(db: Database) -> dict[int, InboxUpdate]:
    async with db.session() as session:
        return {row.update_id: row for row in await session.scalars(select(InboxUpdate))}


async def test_store_claims_and_ignores_redeliveries(db: Database):
    async with db.session() as session:
        assert await inbox.store(session, [payload(1), payload(2)], claimed_by="a", lease=LEASE) == [1, 2]
    async with db.session() as session:  # the same ids again, from another instance: no-ops
        assert await inbox.store(session, [payload(2), payload(3)], claimed_by="b", lease=LEASE) == [3]
    stored = await rows(db)
    assert {k: v.claimed_by for k, v in stored.items()} == {1: "a", 2: "a", 3: "b"}
    assert all(v.claimed_until is not None and v.claimed_until > utcnow() for v in stored.values())


async def test_expired_leases_are_taken_over_in_update_order_and_live_ones_are_not(db: Database):
    now = utcnow()
    async with db.session() as session:
        await inbox.store(session, [payload(12), payload(10)], claimed_by="dead", lease=LEASE,
                          now=now - timedelta(minutes=5))
        await inbox.store(session, [payload(11)], claimed_by="alive", lease=LEASE, now=now)
        await inbox.store(session, [payload(13)])  # stored before claims existed (or replayed)
    async with db.session() as session:
        taken = await inbox.claim_expired(session, instance="me", now=now, lease=LEASE)
        assert [row.update_id for row in taken] == [10, 12, 13]
    async with db.session() as session:  # claimed now: nobody else takes them
        assert await inbox.claim_expired(session, instance="other", now=now, lease=LEASE) == []
        assert await inbox.renew(session, [10, 11], instance="me", until=now + 2 * LEASE) == 1
        # a restarted "alive" takes back its own rows at once
        own = await inbox.claim_expired(session, instance="alive", now=now, lease=LEASE, take_own=True)
        assert [row.update_id for row in own] == [11]
        assert await inbox.release(session, [12], instance="me") == 1
    async with db.session() as session:
        assert [r.update_id for r in await inbox.claim_expired(session, instance="x", now=now, lease=LEASE)] == [12]


async def test_two_instances_claiming_at_once_never_take_the_same_row(db: Database):
    async with db.session() as session:
        await inbox.store(session, [payload(i) for i in range(100, 160)])
    other = Database(db.url)
    try:
        async def claim(database: Database, name: str) -> list[int]:
            taken: list[int] = []
            while True:
                async with database.session() as session:
                    batch = await inbox.claim_expired(session, instance=name, now=utcnow(), lease=LEASE, limit=7)
                    taken += [row.update_id for row in batch]
                if not batch:
                    return taken
                await asyncio.sleep(0)

        first, second = await asyncio.gather(claim(db, "a"), claim(other, "b"))
    finally:
        await other.dispose()
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(100, 160))


async def test_done_is_once_and_old_done_rows_are_pruned(db: Database):
    now = utcnow()
    async with db.session() as session:
        await inbox.store(session, [payload(1), payload(2), payload(3)])
        assert await inbox.mark_done(session, 1) is True
        assert await inbox.mark_done(session, 2) is True
    async with db.session() as session:
        assert await inbox.mark_done(session, 1) is False  # a second handling must roll back
        assert await inbox.mark_done(session, 999) is True  # unknown ids: nothing to protect
        row = await session.get(InboxUpdate, 1)
        assert row is not None
        row.handled_at = now - timedelta(hours=49)
    async with db.session() as session:
        assert await inbox.prune(session, handled_before=now - timedelta(hours=48)) == 1
    assert sorted(await rows(db)) == [2, 3]  # a recent done row and a pending one stay
    async with db.session() as session:  # forgotten only after the TTL: a redelivery of 2 is still a no-op
        assert await inbox.store(session, [payload(2)]) == []


async def test_housekeeping_forgets_handled_updates_after_the_ttl(db: Database, settings):  # type: ignore[no-untyped-def]
    from bot.app import App

    app = App.build(settings)
    try:
        async with db.session() as session:
            await inbox.store(session, [payload(1), payload(2), payload(3)])
            for update_id in (1, 2):
                await inbox.mark_done(session, update_id)
            row = await session.get(InboxUpdate, 1)
            assert row is not None
            row.handled_at = utcnow() - timedelta(hours=settings.inbox_ttl_hours + 1)
        assert await app.prune_inbox() == 1
        assert sorted(await rows(db)) == [2, 3]
    finally:
        await app.bot.session.close()
        await app.db.dispose()


# ---------------------------------------------------------------------------------------------------
# the 0003 migration on both dialects


def _columns(url: str) -> set[str]:
    async def read() -> set[str]:
        db = Database(url)
        try:
            async with db.engine.connect() as connection:
                return await connection.run_sync(
                    lambda c: {col["name"] for col in inspect(c).get_columns("inbox_updates")})
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_migration_0003_upgrades_and_downgrades(empty_url: str) -> None:
    upgrade(empty_url, "0002")
    assert "claimed_by" not in _columns(empty_url)
    upgrade(empty_url)
    assert {"claimed_by", "claimed_until"} <= _columns(empty_url)
    downgrade(empty_url, "0002")
    assert not {"claimed_by", "claimed_until"} & _columns(empty_url)
    upgrade(empty_url)
    assert {"claimed_by", "claimed_until"} <= _columns(empty_url)


# ---------------------------------------------------------------------------------------------------
# health, metrics, logs


async def test_health_names_what_is_down(db: Database):
    assert await health(db, None) == (True, {"database": "ok", "redis": "disabled"})
    redis = make_redis(f"redis://127.0.0.1:{free_port()}/0")
    try:
        assert await health(db, redis) == (False, {"database": "ok", "redis": "down"})
    finally:
        await redis.aclose()
    gone = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing")
    try:
        assert (await health(gone, None))[1]["database"] == "down"
    finally:
        await gone.dispose()


async def test_metrics_registries_are_per_app_and_gauges_come_from_storage(db: Database):
    from collections import Counter

    deliveries: Counter[str] = Counter(sent=3, retried=1)
    first, second = Metrics(deliveries), Metrics()
    first.handled("ok")
    first.handler_time(0.2)
    async with db.session() as session:
        await outbox.enqueue(session, key="k1", chat_id=1, kind="message", payload={"text": "x"},
                             due_at=utcnow() - timedelta(seconds=30))
    await first.refresh(db)
    page = first.render().decode()
    assert 'bot_updates_handled_total{result="ok"} 1.0' in page
    assert 'bot_deliveries_total{result="sent"} 3.0' in page
    assert "bot_outbox_backlog 1.0" in page and 'bot_outbox_messages{status="pending"} 1.0' in page
    assert 'bot_cases{status="new"} 0.0' in page
    assert 'bot_updates_handled_total{result="ok"} 0.0' in second.render().decode()


def test_json_logs_are_one_object_per_line_and_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", [SECRET], "json")
    try:
        log = logging.getLogger("bot.test")
        log.info("GET /bot%s/getMe with %s", TOKEN, SECRET, extra={"update_id": 7, "header": SECRET})
        try:
            raise RuntimeError(f"boom at /bot{TOKEN}/sendMessage")
        except RuntimeError:
            log.exception("failed")
    finally:
        setup_logging("INFO")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert [entry["level"] for entry in lines] == ["INFO", "ERROR"]
    assert {"time", "level", "logger", "message"} <= set(lines[0]) and lines[0]["update_id"] == 7
    text = json.dumps(lines)
    assert TOKEN.split(":")[1] not in text and SECRET not in text and "RuntimeError" in lines[1]["message"]


async def test_json_logs_of_a_running_bot_carry_no_token_and_no_reporter_identity(fake: FakeTelegram, db: Database,
                                                                                   db_url: str, tmp_path: Path):
    tree = await make_tree(db)
    process = await BotProcess(fake.base_url, db_url, tmp_path, LOG_FORMAT="json").start()
    try:
        await process.wait_ready()
        user = fake.user(7301, "Nguyễn Thị Bí Mật", username="bimat_phuhuynh", language_code="vi")
        await user.send(f"/start s_{tree['ns'].public_token}")
        notice = await user.wait_for_message(lambda m: "91/2025/QH15" in m.text, timeout=20)
        await user.press(notice, "Tôi đồng ý")
        await user.wait_for_message(lambda m: "Đã ghi nhận trường" in m.text, timeout=20)
        await user.send("Số của tôi là 0912 345 678")
        assert await process.stop() == 0
    finally:
        await process.kill()
    entries = [json.loads(line) for line in process.log().splitlines() if line.strip()]
    assert entries and all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    assert any("started: long polling" in entry["message"] for entry in entries)
    text = process.log()
    for private in (TOKEN.split(":")[1], "Bí Mật", "bimat_phuhuynh", "0912 345 678", "912345678"):
        assert private not in text


def test_outage_classification() -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from sqlalchemy.exc import OperationalError

    assert dependency_of(RedisConnectionError("gone")) == "redis"
    assert dependency_of(OperationalError("SELECT 1", {}, ConnectionRefusedError())) == "database"
    assert dependency_of(ValueError("a bug")) is None
    wrapped = RuntimeError("handler")
    wrapped.__cause__ = RedisConnectionError("gone")
    assert dependency_of(wrapped) == "redis"


async def test_outage_is_suspected_only_when_the_probe_fails():
    state = {"up": True}

    async def probe() -> None:
        if not state["up"]:
            raise ConnectionRefusedError("refused")

    outages = Outages({"database": probe}, min_delay=0.05, max_delay=0.1)
    try:
        from sqlalchemy.exc import OperationalError

        error = OperationalError("x", {}, Exception("database is locked"))
        assert await outages.suspect(error) is None  # the database answers: an ordinary failure
        state["up"] = False
        assert await outages.suspect(error) == "database"
        stop = asyncio.Event()
        waiter = asyncio.create_task(outages.wait_back("database", stop))
        await asyncio.sleep(0.2)
        assert not waiter.done()
        state["up"] = True
        assert await asyncio.wait_for(waiter, 5) is True
        assert not outages.down
    finally:
        await outages.close()


class _Recorder:
    def __init__(self) -> None:
        self.submitted: list[int] = []
        self.metrics = None

    def submit(self, update) -> bool:  # type: ignore[no-untyped-def]
        self.submitted.append(update.update_id)
        return True


async def _endpoint_client(db: Database, outages: Outages | None) -> tuple[TestClient, _Recorder]:
    from aiogram import Bot

    recorder = _Recorder()
    endpoint = WebhookEndpoint(secret=SECRET, db=db, bot=Bot(TOKEN), processor=recorder,  # type: ignore[arg-type]
                               instance="test", lease=LEASE, outages=outages)
    app = web.Application()
    app.router.add_post("/telegram", endpoint.handle)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client, recorder


async def test_webhook_answers_503_when_the_update_cannot_be_stored(caplog: pytest.LogCaptureFixture):
    gone = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing")
    outages = Outages({"database": lambda: ping_database(gone)})
    client, recorder = await _endpoint_client(gone, outages)
    try:
        with caplog.at_level(logging.ERROR, logger="bot.health"):
            for update_id in (1, 2):
                response = await client.post("/telegram", json=payload(update_id), headers={SECRET_HEADER: SECRET})
                assert response.status == 503  # Telegram delivers it again later; never 200 for an unstored one
        assert recorder.submitted == []
        assert len([r for r in caplog.records if "is unreachable" in r.getMessage()]) == 1
    finally:
        await client.close()
        await outages.close()
        await gone.dispose()


async def test_webhook_stores_before_answering_and_hands_over_once(db: Database):
    client, recorder = await _endpoint_client(db, None)
    try:
        for _ in range(2):
            response = await client.post("/telegram", json=payload(5), headers={SECRET_HEADER: SECRET})
            assert response.status == 200
        assert recorder.submitted == [5]
        stored = await rows(db)
        assert stored[5].status == "pending" and stored[5].claimed_by == "test"
        response = await client.post("/telegram", json=payload(6), headers={SECRET_HEADER: SECRET.upper()})
        assert response.status == 403 and 6 not in await rows(db)
    finally:
        await client.close()


# ---------------------------------------------------------------------------------------------------
# Redis: conversation state (FSM_STORAGE=redis), isolation, and an outage while running (through a TCP proxy we can cut)


@pytest.fixture
async def redis_proxy() -> AsyncIterator[TcpProxy]:
    url = make_url(REDIS_URL.replace("redis://", "redis+x://"))
    client = make_redis(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 3)
    except Exception as exc:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is not reachable ({exc})")
        pytest.skip(f"Redis is not reachable ({exc})")
    finally:
        await client.aclose()
    async with TcpProxy(url.host or "127.0.0.1", url.port or 6379) as proxy:
        yield proxy


async def wait_for_log(process: BotProcess, text: str, timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while text not in process.log():
            assert process.process is not None and process.process.returncode is None, process.log()[-2000:]
            await asyncio.sleep(0.1)


def _proxied(proxy: TcpProxy) -> str:
    database = REDIS_URL.rsplit("/", 1)[1] if REDIS_URL.count("/") >= 3 else "0"
    return f"redis://127.0.0.1:{proxy.port}/{database}"


async def test_redis_holds_the_conversation_and_an_outage_delays_but_loses_nothing(
        fake: FakeTelegram, db: Database, db_url: str, tmp_path: Path, catalog, redis_proxy: TcpProxy):
    from tests.test_webhook import webhook_env

    tree = await make_tree(db)
    label = labeller(catalog)
    user_id = 1_000_000_000 + uuid.uuid4().int % 1_000_000_000  # unique: the Redis database may be shared
    port = free_port()
    process = await BotProcess(fake.base_url, db_url, tmp_path, REDIS_URL=_proxied(redis_proxy),
                               FSM_STORAGE="redis", **webhook_env(port)).start()
    redis = make_redis(REDIS_URL)
    try:
        await process.wait_ready()
        assert "redis" in process.log().split("started:")[1].splitlines()[0]
        user = await onboard(fake, user_id, tree["ns"].public_token)
        await user.send("📝 Báo cáo sự cố")
        role_prompt = await next_prompt(user)
        assert step_of(role_prompt.buttons) == "role"
        # The conversation lives in Redis (shared by instances), not in the SQL table.
        assert await redis.get(f"fsm:{user_id}:{user_id}:state")
        async with db.session() as session:
            assert await session.get(FsmRecord, f"fsm:{user_id}:{user_id}") is None

        redis_proxy.cut()
        await user.press(role_prompt, label("role", "parent"))
        await wait_for_log(process, "Redis (REDIS_URL) is unreachable")
        await user.send("/help")  # more updates during the outage: no new log line, nothing lost
        await user.assert_no_message(within=2.0)
        async with db.session() as session:
            waiting = list(await session.scalars(select(InboxUpdate).where(InboxUpdate.status == "pending")))
        assert len(waiting) == 2

        redis_proxy.restore()
        type_prompt = await user.wait_for_message(lambda m: step_of(m.buttons) == "type", timeout=30)
        assert type_prompt is not None
        await user.wait_for_message(lambda m: "Hướng dẫn sử dụng" in m.text, timeout=30)
        log = process.log()
        assert log.count("is unreachable") == 1 and "Redis (REDIS_URL) is reachable again" in log
        assert "Traceback" not in log
        assert f"{user_id}" not in log.replace(f"fsm:{user_id}", "")  # no reporter identity in the log
        assert await process.stop() == 0  # finishes the updates in hand
        async with db.session() as session:
            statuses = set(await session.scalars(select(InboxUpdate.status)))
        assert statuses == {"done"}
    finally:
        await process.kill()
        keys = await redis.keys(f"fsm:{user_id}:*")
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
