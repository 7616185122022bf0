"""Fault tests: real `run` processes, loopback only, bounded in time. Each prints its counts.

- Two webhook instances on PostgreSQL + Redis behind a balancer; 50 reporters file reports while one
  instance or the other is SIGKILLed and restarted at random moments.
- The database cut off for a few seconds under a running instance.
- Redis unreachable at start-up, and lost and regained while running.
"""

from __future__ import annotations

import asyncio
import random
import re
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.models import Case, Member, OutboxMessage
from tests.databases import REDIS_URL, PostgresTemplates, unavailable
from tests.e2e import REPORTS, BotProcess, answer_prompt, free_port, labeller, next_prompt, onboard
from tests.factories import make_tree, make_unit
from tests.fakebot import FakeTelegram
from tests.faults import Balancer, TcpProxy

SECRET = "fault-test-secret-0123456789"
SCHOOLS = 10
REPORTERS = 50
FAST_RECOVERY = {"INBOX_LEASE_SECONDS": "3", "OUTBOX_LEASE_SECONDS": "3"}


CODE = re.compile(r"\b[A-Z0-9]+(?:-[A-Z0-9]+)*-\d{2}-\d{4}\b")


def code_in(text: str) -> str:
    found = CODE.search(text)
    assert found, text
    return found.group(0)


async def redis_db(url: str = REDIS_URL) -> str:
    """The test Redis (skip/fail when it is down). Not flushed: tests running alongside use it too, each
    with its own users."""
    from redis.asyncio import Redis

    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        unavailable("Redis", f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    return url


@pytest.fixture
def pg_url(postgres_templates: PostgresTemplates) -> str:  # type: ignore[misc]
    url = postgres_templates.fresh()
    yield url  # type: ignore[misc]
    postgres_templates.drop(url)


def latest_prompt(user):  # type: ignore[no-untyped-def]
    return next((m for m in reversed(user.messages) if m.buttons and any(d for _, d in m.buttons)), None)


async def patient_report(user, answers: dict, label) -> str:  # type: ignore[no-untyped-def]
    """A reporter who, when the bot seems to have gone quiet, presses the latest buttons again (as people
    do). Returns the code in the receipt."""
    await user.send("📝 Báo cáo sự cố")
    prompt = await next_prompt(user, timeout=40)
    for _ in range(60):
        step = await answer_prompt(user, prompt, answers, label)
        if step == "summary":
            for _ in range(4):
                await user.press(prompt, "Gửi báo cáo")
                try:
                    receipt = await user.wait_for_message(lambda m: "Mã báo cáo" in m.text, timeout=15)
                    return code_in(receipt.text)
                except AssertionError:
                    continue
            raise AssertionError(f"no receipt for {user.id}")
        try:
            prompt = await next_prompt(user, timeout=15)
        except AssertionError:
            prompt = latest_prompt(user)
    raise AssertionError(f"report of {user.id} did not finish")


async def chaos(instances: list[BotProcess], stop: asyncio.Event, rng: random.Random, kills: Counter[str]) -> None:
    """SIGKILL one instance at a random moment, restart it a moment later; repeat until told to stop.
    The other instance keeps serving meanwhile (the balancer sends everything there)."""
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(0.3, 1.5))
            return
        except TimeoutError:
            pass
        victim = rng.randrange(len(instances))
        await instances[victim].kill()
        kills[f"instance{victim}"] += 1
        await asyncio.sleep(rng.uniform(0.2, 1.0))
        await instances[victim].start()
        await instances[victim].wait_ready(timeout=60)  # one instance down at a time, as in a rolling failure


async def test_two_webhook_instances_killed_at_random_lose_and_double_nothing(pg_url, tmp_path: Path, catalog):
    redis_url = await redis_db()
    db = Database(pg_url)
    schools = []
    tree = await make_tree(db)
    async with db.session() as session:
        for i in range(SCHOOLS):
            schools.append(await make_unit(db, f"KA-S{i:02d}", f"Trường {i}", "school", tree["ka"]))
        session.add_all(Member(user_id=7000 + i, unit_id=school.id, role="leader", display_name=f"HT {i}")
                        for i, school in enumerate(schools))
    ports = [free_port(), free_port()]
    rng = random.Random(20261123)
    async with FakeTelegram(token="123456:TEST-e2e-token-aaaaaaaaaaaaaaaaaaaa", bot_username="school_safety_bot") \
            as fake, Balancer([f"http://127.0.0.1:{port}" for port in ports]) as balancer:
        leaders = [fake.user(7000 + i, f"HT {i}", started=True) for i in range(SCHOOLS)]
        instances = []
        for n, port in enumerate(ports):
            workdir = tmp_path / f"instance{n}"
            workdir.mkdir()
            instances.append(BotProcess(fake.base_url, pg_url, workdir, WEBHOOK_URL=f"{balancer.url}/telegram",
                                        WEBHOOK_SECRET=SECRET, WEBHOOK_LISTEN=f"127.0.0.1:{port}",
                                        REDIS_URL=redis_url, **FAST_RECOVERY))
        for instance in instances:
            await instance.start()
            await instance.wait_ready(timeout=60)
        stop, kills = asyncio.Event(), Counter[str]()
        chaos_task = asyncio.create_task(chaos(instances, stop, rng, kills))
        label = labeller(catalog)
        answers = {**REPORTS["other"][0], "type": "other"}

        async def reporter(i: int) -> str:
            user = await onboard(fake, 9000 + i, schools[i % SCHOOLS].public_token)
            return await patient_report(user, answers, label)

        try:
            try:
                codes = await asyncio.wait_for(asyncio.gather(*(reporter(i) for i in range(REPORTERS))), 300)
            finally:
                stop.set()
                await chaos_task
            await _wait_for_outbox(db, timeout=90)
            await fake.wait_idle(timeout=20, settle=1.0)
        finally:
            for instance in instances:
                await instance.stop(timeout=40)

        async with db.session() as session:
            stored = list(await session.scalars(select(Case.code)))
            keys = await session.scalar(select(func.count(func.distinct(Case.submission_key))))
            queued = Counter(await session.scalars(select(OutboxMessage.status)))
            cards = list(await session.scalars(select(OutboxMessage.key).where(OutboxMessage.kind == "card")))
        delivered = Counter(code_in(message.text) for leader in leaders for message in leader.messages
                            if message.buttons and CODE.search(message.text))
        duplicates = sum(n - 1 for n in delivered.values())
        print(f"\nfaults: kills={dict(kills)} reports confirmed={len(set(codes))} cases stored={len(stored)} "
              f"(distinct submissions {keys}) notifications queued={sum(queued.values())} {dict(queued)} "
              f"cards queued={len(cards)} delivered={sum(delivered.values())} duplicates={duplicates} "
              f"balancer failovers={balancer.failed_over}", file=sys.stderr)
        await db.dispose()
        assert sum(kills.values()) >= 2, "the chaos did not happen"
        assert len(set(codes)) == REPORTERS and sorted(set(codes)) == sorted(stored) and keys == REPORTERS
        assert queued.get("pending", 0) == queued.get("sending", 0) == queued.get("failed", 0) == 0
        assert set(delivered) == set(stored), "every case's card reached its school's leader"
        assert duplicates <= _uncertain_resends(instances), "only a send cut by SIGKILL mid-call may repeat"


def _uncertain_resends(instances: list[BotProcess]) -> int:
    return sum(instance.log().count("uncertain_resent: outbox row") for instance in instances)


async def _wait_for_outbox(db: Database, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while True:
            async with db.session() as session:
                left = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status.in_(("pending", "sending", "uncertain"))))
            if not left:
                return
            await asyncio.sleep(0.3)


async def test_database_cut_off_for_seconds_loses_no_update(tmp_path: Path, backend_url_through_proxy, catalog):
    """PostgreSQL goes away for a few seconds under a running (polling) instance: the user's messages sent
    meanwhile are answered once it is back, each once."""
    fake, proxy, db, url = backend_url_through_proxy
    tree = await make_tree(db)
    process = await BotProcess(fake.base_url, url, tmp_path).start()
    try:
        await process.wait_ready(timeout=60)
        user = await onboard(fake, 9501, tree["ns"].public_token)
        before = len(user.messages)
        proxy.cut()
        await user.send("/help")
        await user.send("/privacy")
        await asyncio.sleep(4)
        assert len(user.messages) == before  # nothing could be done meanwhile: no half answers
        proxy.restore()
        await user.wait_for_message(lambda m: "Hướng dẫn sử dụng" in m.text, timeout=60)
        await user.wait_for_message(lambda m: "Thông báo về xử lý dữ liệu cá nhân" in m.text, timeout=60)
        await asyncio.sleep(1.5)
        texts = [m.text for m in user.messages[before:]]
        print(f"\ndatabase outage: 4 s; proxy connections={proxy.connections}; answers after it={len(texts)}",
              file=sys.stderr)
        assert sum("Hướng dẫn sử dụng" in t for t in texts) == 1
        assert sum("Thông báo về xử lý dữ liệu cá nhân" in t for t in texts) == 1
    finally:
        assert await process.stop(timeout=40) == 0


@pytest.fixture
async def backend_url_through_proxy(pg_url):  # type: ignore[no-untyped-def]
    url = make_url(pg_url)
    async with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy, \
            FakeTelegram(token="123456:TEST-e2e-token-aaaaaaaaaaaaaaaaaaaa", bot_username="school_safety_bot") as fake:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        db = Database(pg_url)
        yield fake, proxy, db, proxied
        await db.dispose()
