"""The durable inbox: handled once, retried on failure, parked for an operator, resumed after a crash."""

from __future__ import annotations

from sqlalchemy import select

from bot import runtime
from bot.runtime import InboxPoller
from handlers.callbacks import ConsentCb
from storage import inbox
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


async def test_a_batch_is_confirmed_to_telegram_only_once_it_is_on_disk(harness, db, monkeypatch):
    """The batch is stored without waiting for the disk, and handed to its handlers at once; the next
    getUpdates, whose offset confirms the batch to Telegram, is asked only after it was synced."""
    update = harness.message_update(harness.user(), "/start")
    events: list[object] = []

    async def get_updates(bot, *, offset=None, **kwargs):  # type: ignore[no-untyped-def]
        events.append(("getUpdates", offset))
        if offset is None:
            return [update], [update.model_dump(mode="json", exclude_none=True, by_alias=True)]
        poller.stop()
        return [], []

    original_store, original_sync = inbox.store, db.until_durable

    async def store(session, payloads, **kwargs):  # type: ignore[no-untyped-def]
        events.append("stored")
        return await original_store(session, payloads, **kwargs)

    async def until_durable() -> None:
        events.append("synced")
        await original_sync()

    monkeypatch.setattr(runtime.raw_updates, "get_updates", get_updates)
    monkeypatch.setattr(runtime.inbox, "store", store)
    monkeypatch.setattr(db, "until_durable", until_durable)
    poller = InboxPoller(harness.bot, db, harness.processor)
    await poller.run()
    await harness.processor.wait_idle()
    assert events == [("getUpdates", None), "stored", "synced", ("getUpdates", update.update_id + 1)]
    assert [r.status for r in await _rows(db)] == ["done"]
