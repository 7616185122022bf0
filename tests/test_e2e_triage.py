"""The real `run` over HTTP: cases reach the right people, who act on them in chat; the reporter hears back.

Responders join with real invites; reporters file real reports through the intake; every message goes
through the outbox and the delivery worker to the fake Bot API.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot import invites
from storage import cases
from storage.db import Database
from storage.models import Case, CaseEvent
from tests.e2e import PROMPT_TIMEOUT, REPORTS, BotProcess, cases_in, labeller, onboard, report
from tests.factories import make_tree
from tests.fakebot import FakeTelegram

CARD = "KA-NS-26-0001"


async def join(fake: FakeTelegram, db: Database, user_id: int, unit: str, role: str, name: str):  # type: ignore[no-untyped-def]
    async with db.session() as session:
        invite, _ = await invites.create(session, unit, role)
    user = fake.user(user_id, name, language_code="vi")
    await user.send(f"/start i_{invite.token}")
    await user.wait_for_message(lambda m: "đã được xác nhận" in m.text, timeout=PROMPT_TIMEOUT)
    return user


async def card_in(chat, code: str = CARD, timeout: float = PROMPT_TIMEOUT):  # type: ignore[no-untyped-def]
    return await chat.wait_for_message(lambda m: code in m.text and any(d for _, d in m.buttons), timeout)


async def timeline(db: Database, code: str) -> list[str]:
    async with db.session() as session:
        case = await cases.by_code(session, code)
        assert case is not None
        return [e.kind for e in await cases.timeline(session, case.id, public_only=False)]


async def test_scam_with_money_lost_reaches_leader_and_police_and_is_worked_to_closure(
        fake, db, bot_process, catalog):
    await make_tree(db)
    leader = await join(fake, db, 5001, "KA-NS", "leader", "Cô Hiệu trưởng")
    police = await join(fake, db, 5002, "KA", "police", "Anh Công an")
    parent = await onboard(fake, 6001, (await _school_token(db)))
    await report(fake, parent, {**REPORTS["scam"][0], "type": "scam"}, labeller(catalog))

    leader_card = await card_in(leader)
    police_card = await card_in(police)
    assert "5.000.000 đ" in leader_card.text and "+84912345678" in leader_card.text
    assert "lãnh đạo" in leader_card.text and "mất tiền" in police_card.text  # why each one got it
    assert "&lt;b&gt;con tôi&lt;/b&gt;" in leader_card.html or "con tôi" in leader_card.text

    await leader.press(leader_card, "Tiếp nhận")
    await parent.wait_for_message(lambda m: "đã được nhà trường tiếp nhận" in m.text, timeout=PROMPT_TIMEOUT)
    await police.wait_for_message(lambda m: m.message_id == police_card.message_id and "Đang xử lý" in m.text,
                                  timeout=PROMPT_TIMEOUT)

    await leader.press(leader_card, "Hỏi người báo cáo")
    await leader.wait_for_message(lambda m: "nhập câu hỏi" in m.text)
    await leader.send("Con anh/chị học lớp nào? <b>&</b>")
    question = await parent.wait_for_message(lambda m: "câu hỏi về phản ánh" in m.text, timeout=PROMPT_TIMEOUT)
    assert "Con anh/chị học lớp nào? <b>&</b>" in question.text and "Cô Hiệu trưởng" not in question.text
    await parent.press(question, "Trả lời")
    await parent.wait_for_message(lambda m: "nhập câu trả lời" in m.text)
    await parent.send("Lớp 7A ạ")
    answer = await leader.wait_for_message(lambda m: "Người báo cáo trả lời" in m.text, timeout=PROMPT_TIMEOUT)
    assert "Lớp 7A ạ" in answer.text and "6001" not in answer.text

    await police.press(police_card, "Đóng hồ sơ")
    outcomes = await police.wait_for_message(lambda m: "kết quả xử lý" in m.text)
    await police.press(outcomes, "Đã chuyển Công an")
    await police.wait_for_message(lambda m: "ghi chú" in m.text)
    await police.send("Đã lập biên bản tại Công an phường")
    await parent.wait_for_message(lambda m: "chuyển cho cơ quan Công an giải quyết" in m.text, timeout=PROMPT_TIMEOUT)
    await leader.wait_for_message(lambda m: m.message_id == leader_card.message_id and "Đã đóng" in m.text,
                                  timeout=PROMPT_TIMEOUT)

    steps = await timeline(db, CARD)
    for kind in ("created", "routed", "acknowledged", "asked", "answered", "closed"):
        assert kind in steps, steps
    assert steps.count("routed") == 2
    async with db.session() as session:
        case = await cases.by_code(session, CARD)
        assert case is not None and case.status == "closed" and case.outcome == "referred"
    mine = [m.text for m in parent.messages]
    assert sum("đã được nhà trường tiếp nhận" in t for t in mine) == 1


async def _school_token(db: Database) -> str:
    from storage import units

    async with db.session() as session:
        school = await units.by_code(session, "KA-NS")
        assert school is not None
        return school.public_token


async def test_buttons_pressed_by_outsiders_change_nothing_and_are_audited(fake, db, bot_process, catalog):
    await make_tree(db)
    leader = await join(fake, db, 5101, "KA-NS", "leader", "Hiệu trưởng")
    other_leader = await join(fake, db, 5102, "KA-TS", "leader", "Hiệu trưởng trường khác")
    parent = await onboard(fake, 6101, await _school_token(db))
    await report(fake, parent, {**REPORTS["other"][0], "type": "other"}, labeller(catalog))
    card = await card_in(leader)
    ack = next(data for text, data in card.buttons if "Tiếp nhận" in text)

    for outsider in (parent, other_leader):
        # The copied callback data goes out on a message of the outsider's own chat.
        own = outsider.messages[-1]
        query = await outsider.press_data(own, ack)
        answer = await outsider.wait_for_callback_answer(query, timeout=PROMPT_TIMEOUT)
        assert answer.show_alert and "không có quyền" in (answer.text or "")
    forged = await parent.press_data(parent.messages[-1], "t:close:999999")
    assert (await parent.wait_for_callback_answer(forged, timeout=PROMPT_TIMEOUT)).show_alert

    assert await bot_process.stop() == 0
    assert (await cases_in(db))[0].status == "new"
    assert (await timeline(db, CARD)).count("denied") == 2


async def test_a_leader_who_blocked_the_bot_does_not_stop_the_case(fake, db, bot_process, catalog):
    await make_tree(db)
    leader = await join(fake, db, 5201, "KA-NS", "leader", "Hiệu trưởng")
    officer = await join(fake, db, 5202, "KA", "officer", "Chuyên viên Phòng")
    fake.block(leader.id)
    parent = await onboard(fake, 6201, await _school_token(db))
    await report(fake, parent, {**REPORTS["other"][0], "type": "other"}, labeller(catalog))
    card = await card_in(officer, timeout=PROMPT_TIMEOUT)
    assert "chưa có người xử lý nhận được" in card.text
    assert await bot_process.stop() == 0
    assert "recipient_unreachable" in await timeline(db, CARD)


async def test_notifications_survive_5xx_and_429_and_a_crash_before_sending(fake, db, db_url, tmp_path, catalog,
                                                                            settings):
    """Cases saved while the bot is down (killed between saving and sending) are delivered on restart,
    each card exactly once, through 30% server errors and 429 bursts."""
    from bot.casework import Casework
    from bot.drafts import Draft
    from bot.reports import submit
    from storage.models import utcnow

    tree = await make_tree(db)
    leaders = [await _member(db, 5300 + i, tree["ns"].id) for i in range(3)]
    for user_id in leaders:
        fake.user(user_id, started=True)
    casework = Casework(settings, catalog)
    async with db.session() as session:
        for i in range(12):
            draft = Draft.new(tree["ns"].id, tree["ns"].name, utcnow(), role="parent")
            draft.type, draft.answers = "other", {"details": f"Sự việc {i}", "platform": "facebook",
                                                  "affected": "school", "when": {"period": "today", "date": None}}
            submitted = await submit(session, draft, 7000 + i, locale="vi", now=utcnow(), tz=settings.tz,
                                     leak_threshold=50)
            await casework.dispatch(session, submitted.case, utcnow())
    fake.seed(7)
    fake.failure_rate = 0.3
    # The worker keeps under Telegram's rate by itself, so a 429 burst has to be provoked.
    fake.fail_next("sendMessage", n=4, status=429, retry_after=1)
    process = await BotProcess(fake.base_url, db_url, tmp_path).start()
    try:
        for user_id in leaders:
            chat = fake.user(user_id)
            for i in range(1, 13):
                await chat.wait_for_message(lambda m, i=i: f"KA-NS-26-{i:04d}" in m.text, timeout=60)
    finally:
        assert await process.stop() == 0
    fake.failure_rate = 0
    restarted = await BotProcess(fake.base_url, db_url, tmp_path).start()
    await restarted.wait_ready()
    await fake.wait_idle(timeout=10, settle=1.0)
    assert await restarted.stop() == 0
    delivered = {user_id: [m.text for m in fake.user(user_id).messages if "KA-NS-26-" in m.text] for user_id in leaders}
    duplicates = sum(len(texts) - len(set(texts)) for texts in delivered.values())
    print(f"\ncards queued={12 * len(leaders)} delivered={sum(len(t) for t in delivered.values())} "
          f"duplicates={duplicates} 429s={fake.stats.too_many_requests} 5xx={fake.stats.server_errors}",
          file=sys.stderr)
    assert all(len(texts) == 12 for texts in delivered.values()) and duplicates == 0
    assert fake.stats.server_errors > 0 and fake.stats.too_many_requests > 0


async def _member(db: Database, user_id: int, unit_id: int) -> int:
    from storage.models import Member

    async with db.session() as session:
        session.add(Member(user_id=user_id, unit_id=unit_id, role="leader", display_name=f"L{user_id}"))
    return user_id


async def test_unacknowledged_critical_case_reminds_then_escalates(fake, db, db_url, bot_process, catalog,
                                                                   tmp_path):
    await make_tree(db)
    leader = await join(fake, db, 5401, "KA-NS", "leader", "Hiệu trưởng")
    officer = await join(fake, db, 5402, "KA", "officer", "Chuyên viên Phòng")
    province = await join(fake, db, 5403, "HP", "officer", "Chuyên viên Sở")
    parent = await onboard(fake, 6401, await _school_token(db))
    await report(fake, parent, {**REPORTS["bullying"][0], "type": "bullying"}, labeller(catalog))
    await card_in(leader)
    officer_card = await card_in(officer)  # critical: the officer gets it from the start
    assert "khẩn cấp" in officer_card.text
    async with db.session() as session:
        case = (await session.scalars(select(Case))).one()
        due = case.ack_due_at
    assert due is not None and due - case.created_at == timedelta(minutes=15)

    env = BotProcess(fake.base_url, db_url, tmp_path).env
    await _sweep(env, tmp_path, due + timedelta(minutes=1))
    await leader.wait_for_message(lambda m: "chưa được tiếp nhận" in m.text, timeout=PROMPT_TIMEOUT)
    await province.assert_no_message(within=0.5, predicate=lambda m: CARD in m.text)
    await _sweep(env, tmp_path, due + timedelta(minutes=9))
    escalated = await card_in(province)
    assert "chưa được tiếp nhận đúng hạn" in escalated.text
    await _sweep(env, tmp_path, due + timedelta(minutes=9))  # the same moment again: nothing new
    async with db.session() as session:
        events = list(await session.scalars(select(CaseEvent.kind).where(CaseEvent.kind == "escalated_overdue")))
    assert events == ["escalated_overdue"]


async def _sweep(env: dict[str, str], cwd: Path, now) -> None:  # type: ignore[no-untyped-def]
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "sla", "sweep", "--now",
                                                   now.isoformat(), cwd=cwd, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
