"""Replies go out after the commit (`bot.replies`): nobody waits for another user's round trip to Telegram,
nothing is said that the commit did not keep, and a reply Telegram keeps refusing is delivered later."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.methods import DeleteMessage, SendMessage, TelegramMethod
from aiogram.types import Message
from sqlalchemy import select

from bot import replies
from bot.delivery import DeliveryWorker
from bot.runtime import UpdateProcessor
from bot.telegram_sender import TelegramSender
from handlers.middlewares import DbSessionMiddleware
from storage import inbox, outbox
from storage.db import Database
from storage.models import OutboxMessage, utcnow
from tests.fakebot import FakeTelegram
from tests.harness import Harness
from tests.test_delivery import FAST

HELP = "Hướng dẫn sử dụng"


def on_send(harness: Harness, monkeypatch: pytest.MonkeyPatch,
            before: Callable[[TelegramMethod[Any]], Awaitable[None]]) -> None:
    """Run `before(method)` as each call reaches the (mocked) network."""
    session = harness.bot.session
    make_request = session.make_request

    async def slowed(bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        await before(method)
        return await make_request(bot, method, timeout)

    monkeypatch.setattr(session, "make_request", slowed)


async def leftover_replies(db: Database) -> list[OutboxMessage]:
    await replies.settle()
    async with db.session() as session:
        return list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == replies.KIND)))


async def test_a_reply_leaves_after_its_update_is_committed(harness: Harness, db: Database,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """When the answer reaches Telegram, the update is already handled in the database, and the database is
    free (on SQLite, a second session gets the only connection at once)."""
    parent = harness.user()
    seen: list[str | None] = []

    async def check(method: TelegramMethod[Any]) -> None:
        if isinstance(method, SendMessage):
            async with asyncio.timeout(2), db.session() as session:
                seen.append(await inbox.status_of(session, update.update_id))

    on_send(harness, monkeypatch, check)
    update = harness.message_update(parent, "/help")
    await harness.feed(update)

    assert HELP in harness.texts(harness.requests)[-1]
    assert seen and set(seen) == {inbox.DONE}
    assert await leftover_replies(db) == []


async def test_one_users_slow_answer_does_not_hold_up_the_others(harness: Harness,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram takes its time answering for one chat; another parent is answered meanwhile."""
    slow, quick = harness.user(2001), harness.user(2002)
    reached, release = asyncio.Event(), asyncio.Event()

    async def hold_slow_chat(method: TelegramMethod[Any]) -> None:
        if getattr(method, "chat_id", None) == slow.id:
            reached.set()
            await release.wait()

    on_send(harness, monkeypatch, hold_slow_chat)
    first = asyncio.create_task(harness.send(slow, "/help"))
    async with asyncio.timeout(5):
        await reached.wait()
        answered = await harness.send(quick, "/help")
    assert not first.done()
    assert [m.chat_id for m in answered if isinstance(m, SendMessage)] == [quick.id]
    release.set()
    assert HELP in harness.texts(await first)[-1]


def failing_dispatcher(db: Database, failures: int) -> Dispatcher:
    """Our session middleware around one handler that answers, then fails `failures` times."""
    dp = Dispatcher(disable_fsm=True)
    dp.update.outer_middleware(DbSessionMiddleware(db, instance="test"))
    router = Router()
    calls = {"n": 0}

    @router.message()
    async def answer_then_fail(message: Message) -> None:
        calls["n"] += 1
        await message.answer(f"lần {calls['n']}")
        if calls["n"] <= failures:
            raise RuntimeError("the handler failed after answering")

    dp.include_router(router)
    return dp


async def test_a_rolled_back_update_says_nothing_and_its_retry_answers_once(
        harness: Harness, db: Database, fast_retries: None) -> None:
    processor = UpdateProcessor(failing_dispatcher(db, failures=1), harness.bot, db)
    update = harness.message_update(harness.user(), "xin chào")
    async with db.session() as session:
        await inbox.store(session, [update.model_dump(mode="json", exclude_none=True, by_alias=True)])

    await processor.handle(update)

    assert harness.texts(harness.requests) == ["lần 2"]
    assert await leftover_replies(db) == []


async def fake_dispatch(harness: Harness, bot: Bot, fake: FakeTelegram, user_id: int, text: str) -> int:
    """`text` from a started user of the fake Bot API, handled by the real dispatcher talking to it."""
    fake.user(user_id, started=True)
    processor = UpdateProcessor(harness.dp, bot, harness.db)
    update = harness.message_update(harness.user(user_id), text)
    async with harness.db.session() as session:
        await inbox.store(session, [update.model_dump(mode="json", exclude_none=True, by_alias=True)])
    await processor.handle(update)
    return update.update_id


async def test_an_answer_telegram_keeps_failing_is_delivered_by_the_worker_once(
        harness: Harness, db: Database, bot: Bot, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replies, "BACKOFF", 0.01)
    fake.fail_next("sendMessage", n=replies.ATTEMPTS, status=502)
    handling = fake.create_bot(default=DefaultBotProperties(parse_mode=ParseMode.HTML))  # as production's

    await fake_dispatch(harness, handling, fake, 3001, "/help")
    await handling.session.close()

    assert fake.user(3001).messages == []
    [row] = await leftover_replies(db)
    assert row.status == outbox.PENDING and row.due_at < utcnow() + replies.GRACE / 10  # now, not after the grace
    assert await DeliveryWorker(db, TelegramSender(bot), **FAST).drain(timeout=10)
    [message] = fake.user(3001).messages
    assert HELP in message.text and "<b>" not in message.text  # HTML, as the handling bot's default said
    assert (await leftover_replies(db))[0].status == outbox.SENT


async def test_a_passing_fault_is_ridden_out_without_the_worker(
        harness: Harness, db: Database, bot: Bot, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replies, "BACKOFF", 0.01)
    fake.fail_next("sendMessage", n=replies.ATTEMPTS - 1, status=500)

    await fake_dispatch(harness, bot, fake, 3002, "/help")

    [message] = fake.user(3002).messages
    assert HELP in message.text
    assert await leftover_replies(db) == []


async def test_a_user_who_blocked_the_bot_is_not_pursued(
        harness: Harness, db: Database, bot: Bot, fake: FakeTelegram) -> None:
    fake.user(3003, started=True)
    fake.block(3003)

    update_id = await fake_dispatch(harness, bot, fake, 3003, "/help")

    assert len(fake.calls_to("sendMessage")) == 1
    assert await leftover_replies(db) == []
    async with db.session() as session:
        assert await inbox.status_of(session, update_id) == inbox.DONE


async def test_a_restarted_instance_resends_only_each_chats_last_reply(
        db: Database, bot: Bot, fake: FakeTelegram) -> None:
    """What the previous process of this instance left: per chat, the newest row may not have been sent and
    goes out again at once; older ones were sent before the chat's next update began and would repeat old
    questions; a row handed to the worker stays; another instance's rows are not touched."""
    later = utcnow() + replies.GRACE
    rows = [("host:polling", 3007, "Câu 2", False), ("host:polling", 3007, "Câu 3", False),
            ("host:polling", 3008, "Một", True), ("host:polling", 3008, "Hai", False),
            ("host:webhook-8080", 3007, "Khác", False)]
    for chat_id in (3007, 3008):
        fake.user(chat_id, started=True)
    async with db.session() as session:
        for index, (instance, chat_id, text, handed_over) in enumerate(rows):
            payload = {"calls": [replies.encode(SendMessage(chat_id=chat_id, text=text), bot)],
                       **({"handed_over": True} if handed_over else {})}
            await outbox.enqueue(session, key=f"{replies.key_prefix(instance)}{index}:abc", chat_id=chat_id,
                                 kind=replies.KIND, payload=payload, due_at=later, wake=False)

    assert await replies.resend_leftovers(db, bot, "host:polling") == (2, 1)

    assert [m.text for m in fake.user(3007).messages] == ["Câu 3"]
    assert [m.text for m in fake.user(3008).messages] == ["Hai"]
    async with db.session() as session:
        left = [row.payload["calls"][0]["params"]["text"] for row in await session.scalars(select(OutboxMessage))]
    assert sorted(left) == ["Khác", "Một"]


async def held_replies(db: Database, bot: Bot, *calls: TelegramMethod[Any]) -> replies.Replies:
    """`calls` held for an update and recorded with its commit, as the session middleware does."""
    held = replies.Replies(update_id=77, instance="test")
    for call in calls:
        assert held.hold(bot, call)
    async with db.session() as session:
        await held.record(session)
    return held


async def test_only_the_calls_telegram_refused_are_left_to_the_worker(
        db: Database, bot: Bot, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replies, "BACKOFF", 0.01)
    fake.user(3004, started=True)
    held = await held_replies(db, bot, DeleteMessage(chat_id=3004, message_id=1),
                              SendMessage(chat_id=3004, text="Câu hỏi tiếp theo"))
    fake.fail_next("sendMessage", n=replies.ATTEMPTS, status=500)

    await held.send(replies.Ledger(db))
    assert await DeliveryWorker(db, TelegramSender(bot), **FAST).drain(timeout=10)

    assert [m.text for m in fake.user(3004).messages] == ["Câu hỏi tiếp theo"]
    assert len(fake.calls_to("deleteMessage")) == 1  # made once, by the handler's process; not again


async def test_the_worker_resumes_a_replies_row_at_the_call_that_failed(
        db: Database, bot: Bot, fake: FakeTelegram) -> None:
    """A process died before sending; the worker's first try is cut short after the first call."""
    fake.user(3005, started=True)
    await held_replies(db, bot, DeleteMessage(chat_id=3005, message_id=1), SendMessage(chat_id=3005, text="Một"),
                       SendMessage(chat_id=3005, text="Hai"))
    async with db.session() as session:
        row = await session.scalar(select(OutboxMessage))
        row.due_at = utcnow()  # another instance's worker, after the grace
    fake.fail_next("sendMessage", n=1, status=502)

    assert await DeliveryWorker(db, TelegramSender(bot), **FAST).drain(timeout=10)

    assert [m.text for m in fake.user(3005).messages] == ["Một", "Hai"]
    assert len(fake.calls_to("deleteMessage")) == 1


async def test_a_slow_telegram_leaves_the_rest_to_the_worker_within_the_budget(
        db: Database, bot: Bot, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    """The handling process stops well within the worker's grace, so the two never send the same call."""
    monkeypatch.setattr(replies, "BUDGET", 0.1)
    fake.user(3006, started=True)
    held = await held_replies(db, bot, SendMessage(chat_id=3006, text="Một"), SendMessage(chat_id=3006, text="Hai"))
    fake.slow(0.3)

    await held.send(replies.Ledger(db))
    fake.slow(0)

    assert [m.text for m in fake.user(3006).messages] == ["Một"]
    assert await DeliveryWorker(db, TelegramSender(bot), **FAST).drain(timeout=10)
    assert [m.text for m in fake.user(3006).messages] == ["Một", "Hai"]
