"""Triage at the dispatcher level: who may press what, what the others are told, what gets queued."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select

from bot import cards
from bot.casework import Casework
from bot.drafts import Draft
from bot.reports import submit
from handlers.callbacks import CloseCb, TriageCb
from storage import cases, outbox
from storage.models import CaseRecipient, Member, OutboxMessage, utcnow
from tests.factories import make_tree

SCAM = {"platform": "zalo", "pretended": "school", "asked_for": ["money"], "phones": ["+84912345678"],
        "money_sent": "yes", "amount": 5_000_000, "money_when": {"period": "today", "date": None},
        "when": {"period": "today", "date": None}, "details": "<b>gọi</b> & đòi tiền"}


@pytest.fixture
async def world(db, settings, catalog):  # type: ignore[no-untyped-def]
    tree = await make_tree(db)
    async with db.session() as session:
        session.add_all([Member(user_id=5001, unit_id=tree["ns"].id, role="leader", display_name="Cô Lan"),
                         Member(user_id=5002, unit_id=tree["ka"].id, role="police", display_name="Anh Minh"),
                         Member(user_id=5003, unit_id=tree["ts"].id, role="leader", display_name="Thầy Tư"),
                         Member(user_id=5004, unit_id=tree["hp"].id, role="officer", display_name="Chị Sở")])
        draft = Draft.new(tree["ns"].id, tree["ns"].name, utcnow(), role="parent")
        draft.type, draft.answers = "scam", dict(SCAM)
        submitted = await submit(session, draft, 6001, locale="vi", now=utcnow(), tz=settings.tz, leak_threshold=50)
        await Casework(settings, catalog).dispatch(session, submitted.case, utcnow())
    return tree, submitted.case


async def _outbox(db) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_money_lost_goes_to_the_leader_and_the_nearest_police(db, world):
    _, case = world
    async with db.session() as session:
        recipients = list(await session.scalars(select(CaseRecipient).order_by(CaseRecipient.id)))
    assert [(r.chat_id, r.reason) for r in recipients] == [(5001, "school_leader"), (5002, "police_money_lost")]
    queued = [(row.chat_id, row.kind) for row in await _outbox(db)]
    assert queued == [(5001, "card"), (5002, "card")]
    card = (await _outbox(db))[0].payload
    assert "&lt;b&gt;gọi&lt;/b&gt; &amp; đòi tiền" in card["text"] and len(card["text"]) <= 4096
    assert all(len(button["data"].encode()) <= 64 for row in card["buttons"] for button in row)


async def test_outsiders_are_refused_and_audited(harness, db, world):
    _, case = world
    for outsider in (6001, 5003, 9999):  # the reporter, another school's leader, a stranger
        calls = await harness.press(harness.user(outsider), TriageCb(a="ack", c=case.id).pack())
        assert harness.alerts(calls) == ["Anh/Chị không có quyền xử lý hồ sơ này."]
    async with db.session() as session:
        fresh = await cases.by_code(session, case.code)
        kinds = [e.kind for e in await cases.timeline(session, case.id, public_only=False)]
    assert fresh.status == "new" and kinds.count("denied") == 3


async def test_the_second_presser_is_told_who_already_did_it(harness, db, world):
    _, case = world
    calls = await harness.press(harness.user(5001), TriageCb(a="ack", c=case.id).pack())
    assert harness.alerts(calls) == ["Đã cập nhật: Đang xử lý"]
    calls = await harness.press(harness.user(5002), TriageCb(a="ack", c=case.id).pack())
    assert "Lãnh đạo đơn vị Cô Lan" in harness.alerts(calls)[0]
    status = [row for row in await _outbox(db) if row.kind == "status"]
    assert [(row.chat_id, "tiếp nhận" in row.payload["text"]) for row in status] == [(6001, True)]


async def test_a_province_officer_may_act_on_a_school_case(harness, db, world):
    _, case = world
    calls = await harness.press(harness.user(5004), TriageCb(a="ack", c=case.id).pack())
    assert harness.alerts(calls) == ["Đã cập nhật: Đang xử lý"]


async def test_close_with_outcome_and_note_then_stale_buttons_show_the_state(harness, db, world):
    _, case = world
    leader = harness.user(5001)
    calls = await harness.press(leader, TriageCb(a="close", c=case.id).pack())
    assert ("Đã chuyển Công an", CloseCb(c=case.id, o="referred").pack()) in harness.buttons(calls)
    await harness.press(leader, CloseCb(c=case.id, o="referred").pack())
    calls = await harness.send(leader, "Đã báo <b>Công an</b> phường")
    assert "Đã cập nhật: Đã đóng" in harness.texts(calls)[0]
    calls = await harness.press(leader, TriageCb(a="ack", c=case.id).pack())
    assert "Trạng thái hiện tại: Đã đóng" in harness.alerts(calls)[0]
    async with db.session() as session:
        closed = [e for e in await cases.timeline(session, case.id, public_only=True) if e.kind == "closed"]
    assert closed[0].data == {"outcome": "referred", "note": "Đã báo <b>Công an</b> phường"}
    reporter = [row.payload["text"] for row in await _outbox(db) if row.chat_id == 6001]
    assert any("chuyển cho cơ quan Công an" in text for text in reporter)


async def test_case_command_shows_card_and_timeline_only_to_responders(harness, db, world):
    _, case = world
    calls = await harness.send(harness.user(5003), f"/case {case.code}")
    assert harness.texts(calls) == ["Không tìm thấy hồ sơ, hoặc Anh/Chị không có quyền xem hồ sơ này."]
    calls = await harness.send(harness.user(5001), f"/case {case.code.lower()}")
    texts = harness.texts(calls)
    assert case.code in texts[0] and "Lịch sử hồ sơ" in texts[1]
    calls = await harness.send(harness.user(5001), "/cases")
    assert case.code in harness.texts(calls)[0]
    async with db.session() as session:
        kinds = [e.kind for e in await cases.timeline(session, case.id, public_only=False)]
    assert "viewed" in kinds


async def test_sweepers_running_at_once_remind_and_escalate_each_case_once(db, settings, catalog, world):
    """Several instances each run the SLA sweeper; a case is still reminded once and escalated once."""
    import asyncio
    from datetime import timedelta

    from bot.app import sweep_deadlines

    _, case = world
    casework = Casework(settings, catalog)
    due = case.ack_due_at
    reminded = await asyncio.gather(*(sweep_deadlines(db, casework, due + timedelta(seconds=1)) for _ in range(4)))
    escalated = await asyncio.gather(*(sweep_deadlines(db, casework, due + timedelta(hours=2)) for _ in range(4)))
    assert sum(r for r, _ in reminded) == 1 and sum(e for _, e in escalated) == 1
    async with db.session() as session:
        kinds = [e.kind for e in await cases.timeline(session, case.id, public_only=False)]
    assert kinds.count("reminded") == 1 and kinds.count("escalated_overdue") == 1
    reminders = [row for row in await _outbox(db) if row.kind == "reminder"]
    assert sorted(row.chat_id for row in reminders) == [5001, 5002]


async def test_a_deleted_forum_topic_is_recreated_and_the_card_sent_there_again(db, settings, catalog):
    """The school's case desk is a forum group; someone deletes the case's topic; the next message to it
    finds the topic gone. A new topic is opened and the card (and that message) land in it."""
    from bot.delivery import SendResult
    from storage import groups

    tree = await make_tree(db)
    desk = -100777
    casework = Casework(settings, catalog)
    async with db.session() as session:
        session.add(Member(user_id=5001, unit_id=tree["ns"].id, role="leader", display_name="Cô Lan"))
        await groups.bind(session, unit_id=tree["ns"].id, chat_id=desk, title="Bàn hồ sơ", is_forum=True,
                          bound_by=5001)
        draft = Draft.new(tree["ns"].id, tree["ns"].name, utcnow(), role="parent")
        draft.type, draft.answers = "scam", dict(SCAM)
        submitted = await submit(session, draft, 6001, locale="vi", now=utcnow(), tz=settings.tz, leak_threshold=50)
        await casework.dispatch(session, submitted.case, utcnow())

    async def deliver(kind: str, message_id: int) -> OutboxMessage:
        """What the delivery worker does with the oldest pending row of the desk."""
        async with db.session() as session:
            row = (await session.scalars(select(OutboxMessage).where(
                OutboxMessage.chat_id == desk, OutboxMessage.status == "pending").order_by(OutboxMessage.id))).first()
            assert row is not None and row.kind == kind, (kind, row and row.kind)
            row.status = "sent"
            await casework.on_sent(session, row, SendResult.sent(message_id))
        return row

    await deliver("topic", 11)
    card = await deliver("card", 500)
    assert card.payload["thread_id"] == 11 and submitted.case.code in card.payload["text"]
    async with db.session() as session:
        relay = await outbox.enqueue(session, key="relay:x", chat_id=desk, kind="relay", case_id=submitted.case.id,
                                     payload={"text": "Người báo cáo trả lời", "thread_id": 11})
        assert relay
        row = (await session.scalars(select(OutboxMessage).where(OutboxMessage.key == "relay:x"))).one()
        row.status = "failed"
        await casework.on_thread_gone(session, row)
        await casework.on_thread_gone(session, row)  # a second failure of the same topic: nothing more

    topic = await deliver("topic", 12)
    assert submitted.case.code in topic.payload["title"]
    again = await deliver("card", 501)
    resent = await deliver("relay", 502)
    assert again.payload["thread_id"] == 12 and resent.payload["thread_id"] == 12
    assert resent.payload["text"] == "Người báo cáo trả lời"
    async with db.session() as session:
        kinds = [e.kind for e in await cases.timeline(session, submitted.case.id, public_only=False)]
        pending = await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == desk,
                                                                    OutboxMessage.status == "pending"))
        assert list(pending) == []
    assert kinds.count("topic_recreated") == 1


async def test_a_confirmed_report_is_routed_without_reading_back_what_it_just_wrote(db, settings, catalog):
    """Confirming a report creates the case and queues its cards in one transaction: the recipients, evidence
    and indicators it just wrote are not queried again, and the card shows the same as one rendered later."""
    from bot.drafts import EvidenceItem
    from tests.databases import SentStatements

    tree = await make_tree(db)
    casework = Casework(settings, catalog)
    async with db.session() as session:
        session.add(Member(user_id=5001, unit_id=tree["ns"].id, role="leader", display_name="Cô Lan"))
        session.add(Member(user_id=5002, unit_id=tree["ka"].id, role="police", display_name="Anh Hùng"))
    draft = Draft.new(tree["ns"].id, tree["ns"].name, utcnow(), role="parent")
    draft.type, draft.answers = "scam", dict(SCAM)
    draft.evidence = [EvidenceItem(kind="photo", file_id="ph-1", file_unique_id="u1"),
                      EvidenceItem(kind="link", text="https://lua-dao.example/nop-tien")]
    flushes: list[int] = []
    async with SentStatements(db) as sent:
        async with db.session() as session:
            event.listen(session.sync_session, "after_flush", lambda *_: flushes.append(1))
            submitted = await submit(session, draft, 6001, locale="vi", now=utcnow(), tz=settings.tz,
                                     leak_threshold=50, ack_window=casework.ack_window)
            recipients = await casework.dispatch(session, submitted.case, utcnow(), new=submitted)
    reads = [s for s in sent.starting("SELECT") if any(f"FROM {table}" in s for table in
                                                       ("case_recipients", "evidence", "indicators"))]
    assert reads == []
    assert len([s for s in sent.starting("SELECT") if s.startswith("SELECT id, code, name FROM units")]) == 1
    # the case (for its id), then its evidence, indicators, recipients and their events: not one flush each
    assert len(recipients) == 2 and len(flushes) == 2
    assert sent.starting("UPDATE cases") == []  # created with its deadline, not updated once routed
    assert submitted.case.ack_due_at is not None
    card = next(row for row in await _outbox(db) if row.kind == "card")
    async with db.session() as session:
        case = await cases.by_code(session, submitted.case.code)
        later = cards.render(await casework.view(session, case), catalog.translator("vi"), settings.tz)
    assert card.chat_id == 5001 and card.payload["text"].startswith(later)
    assert submitted.indicators and len(submitted.evidence) == 2  # so the two renderings had them to show
    assert [(row.kind, row.chat_id) for row in await _outbox(db)] == [
        ("card", 5001), ("media", 5001), ("card", 5002), ("media", 5002)]
