"""The durable inbox: handled once, retried on failure, parked for an operator, resumed after a crash."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import runtime
from bot.runtime import InboxPoller
from handlers.callbacks import ConsentCb
from handlers.middlewares import CONVERSATION_STEP
from storage import inbox, outbox, sqlite_inline
from storage.models import InboxUpdate
from tests.factories import make_tree


async def _rows(db) -> list[InboxUpdate]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return list(await session.scalars(select(InboxUpdate).order_by(InboxUpdate.update_id)))


async def test_handled_updates_are_marked_done(harness, db):
    await harness.send(harness.user(), "/start")
    rows = await _rows(db)
    assert [(r.status, r.attempts) for r in rows] == [("done", 0)]


async def test_a_failing_handler_is_retried_then_parked_and_the_user_told_once(harness, db, monkeypatch):
    monkeypatch.setattr(runtime, "RETRY_DELAY", 0)
    await make_tree(db)
    parent = harness.user()
    await harness.send(parent, "/start")
    await harness.press(parent, ConsentCb(action="agree").pack())

    async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr("storage.units.search_schools", broken)
    calls = await harness.send(parent, "ngoc son")
    apology = "Xin lỗi, đã có lỗi khi xử lý yêu cầu của Anh/Chị. Xin Anh/Chị thử lại sau ít phút."
    assert harness.texts(calls) == [apology]
    last = (await _rows(db))[-1]
    assert (last.status, last.attempts) == ("failed", runtime.MAX_ATTEMPTS)
    assert "database went away" in (last.last_error or "")

    async with db.session() as session:
        assert await inbox.requeue(session, [last.update_id]) == 1
    monkeypatch.undo()
    poller = InboxPoller(harness.bot, db, harness.processor)
    assert await poller.recover() == 1
    await harness.processor.wait_idle()
    assert (await _rows(db))[-1].status == "done"


async def test_pending_updates_from_a_crashed_run_are_resumed_in_order(harness, db):
    parent = harness.user()
    updates = [harness.message_update(parent, "/start"), harness.message_update(parent, "/help")]
    async with db.session() as session:
        fresh = await inbox.store(session, [u.model_dump(mode="json", exclude_none=True, by_alias=True)
                                            for u in updates])
        assert await inbox.store(session, [updates[0].model_dump(mode="json", by_alias=True)]) == []
    assert fresh == [u.update_id for u in updates]
    poller = InboxPoller(harness.bot, db, harness.processor)
    assert await poller.recover() == 2
    await harness.processor.wait_idle()
    texts = harness.texts(harness.requests)
    assert "91/2025/QH15" in texts[1] and "Hướng dẫn sử dụng" in texts[-1]
    assert {r.status for r in await _rows(db)} == {"done"}


def test_chat_key_groups_a_users_updates(harness):
    user = harness.user(77)
    assert runtime.chat_key(harness.message_update(user, "hi")) == "c77"


async def test_an_update_already_handled_is_not_answered_again(harness, db):
    """A redelivery (or another instance that took the update over) must not make the user see a reply twice."""
    parent = harness.user()
    update = harness.message_update(parent, "/start")
    async with db.session() as session:
        await inbox.store(session, [update.model_dump(mode="json", exclude_none=True, by_alias=True)])
        assert await inbox.mark_done(session, update.update_id)
    await harness.processor.handle(update)
    assert harness.requests == []
    assert [r.status for r in await _rows(db)] == ["done"]


async def test_an_update_is_handled_in_one_transaction(harness, db):
    """Conversation state, the handlers' work, the inbox mark and the reply's safety copy commit together, in
    one transaction (bench B1 counted four per update before: a separate "already handled?" read, and the
    state read by aiogram's FSM middleware before the update's session existed). Once the reply is sent its
    copy is deleted in a transaction of its own, shared by all the replies sent meanwhile."""
    from sqlalchemy import event

    from bot import replies

    parent = harness.user()
    await harness.send(parent, "/start")  # a first update: the reporter and the conversation now exist
    await replies.settle()
    update = harness.message_update(parent, "/help")
    async with db.session() as session:
        await inbox.store(session, [update.model_dump(mode="json", exclude_none=True, by_alias=True)])
    begins: list[str] = []
    listener = lambda connection: begins.append("handled" if replies.current.get() else "settled")  # noqa: E731
    event.listen(db.engine.sync_engine, "begin", listener)
    try:
        await harness.processor.handle(update)
        await replies.settle()
    finally:
        event.remove(db.engine.sync_engine, "begin", listener)
    assert "Hướng dẫn sử dụng" in harness.texts(harness.requests)[-1]
    assert begins == ["handled", "settled"]


async def test_updates_are_stored_as_telegram_sent_them():
    """The inbox keeps each update's JSON as received, not a re-serialisation of the parsed models (which
    cost 8% of the loop under load); a session that does not decode JSON still gets the dump."""
    import json

    from aiogram.methods import GetUpdates

    from bot import raw_updates
    from tests.mocked_bot import MockedBot, MockedSession

    sent = [{"update_id": 7, "message": {"message_id": 1, "date": 1700000000, "chat": {"id": 5, "type": "private"},
                                         "from": {"id": 5, "is_bot": False, "first_name": "Lan"},
                                         "text": "Chào <b>", "a_field_from_the_future": {"x": 1}}}]

    class JsonSession(MockedSession):
        async def make_request(self, bot, method, timeout=None):  # type: ignore[no-untyped-def]
            if isinstance(method, GetUpdates):
                return self.check_response(bot, method, 200, json.dumps({"ok": True, "result": sent})).result
            return await super().make_request(bot, method, timeout)

    bot = MockedBot()
    bot.session = JsonSession()
    updates, payloads = await raw_updates.get_updates(bot, timeout=0)
    assert [u.message.text for u in updates] == ["Chào <b>"]
    assert payloads == sent
    sent.append({**sent[0], "update_id": 8})
    again, payloads = await raw_updates.get_updates(bot, timeout=0, skip_below=8)  # 7 is stored already
    assert [u.update_id for u in again] == [8] and payloads == sent[1:]
    sent.pop()

    class Silent(MockedSession):
        async def make_request(self, bot, method, timeout=None):  # type: ignore[no-untyped-def]
            return [u.model_copy() for u in updates] if isinstance(method, GetUpdates) else True

    bot.session = Silent()
    _, dumped = await raw_updates.get_updates(bot, timeout=0)
    assert dumped[0]["update_id"] == 7 and dumped[0]["message"]["text"] == "Chào <b>"


async def test_conversation_state_is_written_once_per_update_and_survives_clear_then_set(db):
    """A handler that sets the state and then the data writes the row once, at the commit; a conversation
    cleared and started again in the same update keeps the new state (not a row deleted meanwhile)."""
    from aiogram.fsm.storage.base import StorageKey

    from storage.db import current_session
    from storage.fsm import SqlStorage
    from storage.models import FsmRecord
    from tests.databases import SentStatements

    storage = SqlStorage(db)
    key = StorageKey(bot_id=42, chat_id=5, user_id=5)
    await storage.set_state(key, "Intake:role")
    async with SentStatements(db) as sent:
        async with db.session() as session:
            token = current_session.set(session)
            try:
                await storage.set_state(key, "Intake:type")
                await storage.set_data(key, {"role": "parent"})
            finally:
                current_session.reset(token)
        assert len(sent.starting("UPDATE FSM", "INSERT INTO FSM", "DELETE FROM FSM")) == 1
        async with db.session() as session:
            token = current_session.set(session)
            try:
                await storage.set_state(key, None)
                await storage.set_data(key, {})
                await storage.set_state(key, "Intake:role")
                await storage.set_data(key, {"locale": "vi"})
            finally:
                current_session.reset(token)
        assert len(sent.starting("UPDATE FSM", "INSERT INTO FSM", "DELETE FROM FSM")) == 2
    assert (await storage.get_state(key), await storage.get_data(key)) == ("Intake:role", {"locale": "vi"})
    async with db.session() as session:
        assert len(list(await session.scalars(select(FsmRecord)))) == 1


async def test_a_language_read_along_is_taken_once_and_never_over_a_change_of_the_profile(db):
    """What the conversation's read brought is the person's language until the ORM changes the profile:
    then the change is what `locale_of` answers; it answers for that person only, and once (a profile
    changed and flushed afterwards is read back)."""
    from aiogram.fsm.storage.base import StorageKey

    from storage import reporters
    from storage.db import current_session
    from storage.fsm import SqlStorage

    async with db.session() as session:
        (await reporters.upsert(session, 5)).locale = "vi"
        await session.commit()
    storage = SqlStorage(db)
    async with db.session() as session:
        token = current_session.set(session)
        try:
            await storage.get_state(StorageKey(bot_id=42, chat_id=5, user_id=5))
            assert await reporters.locale_of(session, 6) is None
            await storage.get_state(StorageKey(bot_id=42, chat_id=-100, user_id=5))  # a group: read again
            (await reporters.get(session, 5)).locale = "en"
            assert await reporters.locale_of(session, 5) == "en"
            await storage.get_state(StorageKey(bot_id=42, chat_id=-200, user_id=5))
            assert await reporters.locale_of(session, 5) == "en"  # taken, then...
            (await reporters.get(session, 5)).locale = "vi"
            await session.flush()  # ...changed and written: no change left pending to tell it by
            assert await reporters.locale_of(session, 5) == "vi"
        finally:
            current_session.reset(token)


def test_no_filter_or_handler_of_the_tree_runs_in_a_thread() -> None:
    """aiogram runs a filter or handler that is not a coroutine function (a magic filter, a `State`, a
    plain function) through `asyncio.to_thread` at every check: the routers use asynchronous ones only."""
    from handlers import build_router

    def walk(router):  # type: ignore[no-untyped-def]
        yield router
        for child in router.sub_routers:
            yield from walk(child)

    threaded = []
    for router in walk(build_router()):
        for name, observer in router.observers.items():
            for filter_ in observer._handler.filters or []:
                if not filter_.awaitable:
                    threaded.append(f"{router.name}.{name} root filter {filter_.callback!r}")
            for handler in observer.handlers:
                if not handler.awaitable:
                    threaded.append(f"{router.name}.{name} handler {handler.callback!r}")
                threaded += [f"{router.name}.{name} {handler.callback.__name__}: {f.callback!r}"
                             for f in handler.filters or [] if not f.awaitable]
    assert threaded == []


async def test_updates_are_confirmed_only_once_on_disk_and_a_slow_disk_delays_no_ones_answer(harness, db,
                                                                                            monkeypatch):
    """Batches are stored without waiting for the disk and handled at once. The getUpdates offset, which
    confirms updates to Telegram (it then forgets them), passes an update only once it was synced; while a
    sync is slow, getUpdates is asked again with the offset the disk allows: what arrives meanwhile is
    answered at once, and what Telegram sends again is neither stored nor handled twice."""
    first = harness.message_update(harness.user(1001), "/start")
    second = harness.message_update(harness.user(1002), "/start")
    telegram = [first]  # what Telegram has not been told to forget
    offsets: list[int | None] = []
    disk = asyncio.Event()
    answered_before_the_disk: list[str] = []

    async def get_updates(bot, *, offset=None, **kwargs):  # type: ignore[no-untyped-def]
        offsets.append(offset)
        telegram[:] = [u for u in telegram if offset is None or u.update_id >= offset]
        if len(offsets) == 3:
            telegram.append(second)  # arrives while the first one's sync hangs
        if not disk.is_set() and any(r.chat_id == 1002 for r in harness.requests if hasattr(r, "chat_id")):
            answered_before_the_disk.append("second")
            disk.set()
        if not telegram:
            poller.stop()
        await asyncio.sleep(0.001)
        return list(telegram), [u.model_dump(mode="json", exclude_none=True, by_alias=True) for u in telegram]

    sync = db.until_durable

    async def slow_disk() -> None:
        await disk.wait()
        await sync()

    monkeypatch.setattr(runtime.raw_updates, "get_updates", get_updates)
    handled: list[int] = []
    handle = harness.processor.handle

    async def counted(update):  # type: ignore[no-untyped-def]
        handled.append(update.update_id)
        await handle(update)

    monkeypatch.setattr(db, "until_durable", slow_disk)
    monkeypatch.setattr(harness.processor, "handle", counted)
    poller = InboxPoller(harness.bot, db, harness.processor)
    await asyncio.wait_for(poller.run(), 10)
    await harness.processor.wait_idle()
    assert answered_before_the_disk == ["second"]
    before_the_disk = offsets[:offsets.index(next(o for o in offsets if o is not None))]
    assert len(before_the_disk) >= 3 and set(before_the_disk) == {None}  # nothing confirmed before the sync
    assert offsets[-1] == second.update_id + 1
    assert set(offsets) <= {None, first.update_id + 1, second.update_id + 1}
    assert [r.status for r in await _rows(db)] == ["done", "done"]
    assert handled == [first.update_id, second.update_id]  # each once
    chats = [r.chat_id for r in harness.requests if hasattr(r, "chat_id")]
    assert chats.count(1001) == chats.count(1002) > 0


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL commits every transaction durably
async def test_a_conversation_step_that_tells_someone_else_waits_for_the_disk(harness, db, monkeypatch):
    """The flag only lowers the commit of what concerns the user answered: a notification queued for
    someone else (the outbox) is on disk before the handler's reply goes out."""
    synced: list[int] = []
    sync_file = sqlite_inline.sync_file

    def counted(path: str) -> None:
        sync_file(path)
        synced.append(len(harness.requests))

    async def tell(message: Message, session: AsyncSession) -> None:
        if message.text == "/tell":
            await outbox.enqueue(session, key=f"t:{message.message_id}", chat_id=42, kind="relay",
                                 payload={"text": "x"})
        await message.answer("ok")

    harness.dp.message.register(tell, Command("tell", "keep"), flags=CONVERSATION_STEP)  # ahead of every router
    user = harness.user()
    kept = harness.message_update(user, "/keep")
    told = harness.message_update(user, "/tell")
    for update in (kept, told):
        async with db.session(durable=False) as session:
            await inbox.store(session, [update.model_dump(mode="json", exclude_none=True, by_alias=True)])
    monkeypatch.setattr(sqlite_inline, "sync_file", counted)
    await harness.processor.handle(kept)
    assert synced == [] and harness.texts(harness.requests) == ["ok"]
    await harness.processor.handle(told)
    assert synced == [1] and harness.texts(harness.requests) == ["ok", "ok"]  # synced, then answered
