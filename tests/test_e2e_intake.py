"""The real `run` over HTTP: reports of every type end as saved cases; crashes and redeliveries lose or
double nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import export
from bot.intake.flows import FLOWS, ROLE_QUESTION, TYPE_QUESTION
from bot.settings import Settings
from storage.db import Database
from storage.models import Case, Indicator
from tests.e2e import TOKEN, BotProcess, answer_prompt, next_prompt
from tests.factories import make_tree
from tests.fakebot import FakeTelegram

REPORTS = {
    "scam": ({"role": "parent", "platform": "zalo", "pretended": "school", "asked_for": ["money"],
              "phones": "0912 345 678", "bank_account": "stk 0123456789 vietcombank",
              "profile": "facebook.com/scammer.page", "money_sent": "yes", "amount": "5tr",
              "money_when": "today", "when": "hôm qua", "details": "Họ gọi & bảo <b>con tôi</b> cấp cứu",
              "evidence": ["https://zalo.me/0987654321"]},
             "high", {("phone", "+84912345678"), ("phone", "+84987654321")}),
    "hacked": ({"role": "staff", "account": "school_fanpage", "access": "no", "attacker_doing": "đăng tin xấu",
                "links": "https://www.facebook.com/thcsngocson?fbclid=abc", "when": "today"},
               "high", {("url", "https://facebook.com/thcsngocson")}),
    "harmful": ({"role": "parent", "platform": "tiktok", "links": "tiktok.com/@kebaonhan", "target": "student",
                 "class": "lop 7b", "spread": "viral", "still_online": "yes", "when": "this_week"},
                "high", {("profile", "tiktok:@kebaonhan")}),
    "data_leak": ({"role": "staff", "platform": "facebook", "leak_where": "nhóm phụ huynh khối 6",
                   "data_kinds": ["names", "phones"], "people_count": "120", "affected": "student",
                   "when": "today"}, "high", set()),
    "bullying": ({"role": "student", "danger": "yes", "victim": "bạn cùng lớp", "is_student": "yes",
                  "class": "8A", "platform": "facebook", "intimate": "no", "threats": "yes", "when": "today"},
                 "critical", set()),
    "other": ({"role": "other", "details": "Trang giả mạo trường xin tiền quỹ lớp", "platform": "facebook",
               "affected": "school", "when": "today"}, "low", set()),
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, bot_username="school_safety_bot") as server:
        yield server


@pytest.fixture
async def bot_process(fake: FakeTelegram, db_url: str, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = await BotProcess(fake.base_url, db_url, tmp_path).start()
    yield process
    await process.kill()


def labeller(catalog):  # type: ignore[no-untyped-def]
    i18n = catalog.translator("vi")

    def label(key: str, choice: str) -> str:
        if key == "role":
            return i18n.plain(ROLE_QUESTION.choice_label_id(choice))
        if key == "type":
            return i18n.plain(TYPE_QUESTION.choice_label_id(choice))
        question = next(q for flow in FLOWS.values() for q in flow if q.key == key)
        return i18n.plain(question.choice_label_id(choice))

    return label


async def onboard(fake: FakeTelegram, user_id: int, school_token: str):  # type: ignore[no-untyped-def]
    user = fake.user(user_id, f"Người {user_id}", language_code="vi")
    await user.send(f"/start s_{school_token}")
    notice = await user.wait_for_message(lambda m: "91/2025/QH15" in m.text, timeout=20)
    await user.press(notice, "Tôi đồng ý")
    await user.wait_for_message(lambda m: "Đã ghi nhận trường" in m.text)
    return user


async def report(fake, user, answers, label, *, stop_before_confirm: bool = False):  # type: ignore[no-untyped-def]
    await user.send("📝 Báo cáo sự cố")
    while True:
        prompt = await next_prompt(user)
        step = await answer_prompt(user, prompt, answers, label)
        if step == "summary":
            if stop_before_confirm:
                return prompt
            await user.press(prompt, "Gửi báo cáo")
            return await user.wait_for_message(lambda m: "Mã báo cáo" in m.text)


async def cases_in(db: Database) -> list[Case]:
    async with db.session() as session:
        return list(await session.scalars(select(Case).order_by(Case.id)))


async def test_every_incident_type_becomes_a_case(fake, db, bot_process, catalog, settings: Settings):
    tree = await make_tree(db)
    label = labeller(catalog)
    users = [await onboard(fake, 8000 + i, tree["ns"].public_token) for i in range(len(REPORTS))]
    receipts = await asyncio.gather(*(
        report(fake, user, {**answers, "type": kind}, label)
        for user, (kind, (answers, _, _)) in zip(users, REPORTS.items(), strict=True)
    ))
    assert all("KA-NS-26-" in r.text for r in receipts)

    stored = {case.incident_type: case for case in await cases_in(db)}
    assert set(stored) == set(REPORTS)
    async with db.session() as session:
        for kind, (_, severity, indicators) in REPORTS.items():
            case = stored[kind]
            assert case.severity == severity, (kind, case.severity_reasons)
            rows = await session.scalars(select(Indicator).where(Indicator.case_id == case.id))
            found = {(i.kind, i.value) for i in rows}
            assert indicators <= found, (kind, found)
    scam = stored["scam"]
    assert scam.money_lost == 5_000_000 and scam.answers["details"] == "Họ gọi & bảo <b>con tôi</b> cấp cứu"
    assert len({case.code for case in stored.values()}) == len(REPORTS)

    bullying_user = users[list(REPORTS).index("bullying")]
    assert any("113" in m.text and "111" in m.text for m in bullying_user.messages)

    assert await bot_process.stop() == 0
    records = await export.collect(db, unit_code="KA", since=None, tz=settings.tz, include_reporter=False)
    assert {r["type"] for r in records} == set(REPORTS) and "reporter_id" not in records[0]


async def test_report_survives_sigkill_mid_conversation(fake, db, db_url, bot_process, catalog, tmp_path):
    tree = await make_tree(db)
    label = labeller(catalog)
    user = await onboard(fake, 9001, tree["ns"].public_token)
    answers = {**REPORTS["scam"][0], "type": "scam"}
    await user.send("📝 Báo cáo sự cố")
    for _ in range(4):  # role, type, platform, pretended
        await answer_prompt(user, await next_prompt(user), answers, label)
    asked_for = await next_prompt(user)
    await bot_process.kill()

    restarted = await BotProcess(fake.base_url, db_url, tmp_path).start()
    try:
        await answer_prompt(user, asked_for, answers, label)  # pressed while the bot was down
        while True:
            prompt = await next_prompt(user)
            if await answer_prompt(user, prompt, answers, label) == "summary":
                break
        assert "Nhà trường" in prompt.text and "Zalo" in prompt.text  # answers from before the crash
        await user.press(prompt, "Gửi báo cáo")
        await user.wait_for_message(lambda m: "Mã báo cáo" in m.text)
    finally:
        assert await restarted.stop() == 0  # SIGTERM: finishes (and commits) the update in hand
    assert len(await cases_in(db)) == 1


async def test_confirm_twice_and_redelivered_makes_one_case(fake, db, bot_process, catalog):
    tree = await make_tree(db)
    label = labeller(catalog)
    user = await onboard(fake, 9101, tree["ns"].public_token)
    summary = await report(fake, user, {**REPORTS["other"][0], "type": "other"}, label, stop_before_confirm=True)
    first = await user.press(summary, "Gửi báo cáo")
    second = await user.press(summary, "Gửi báo cáo")
    confirm_update = next(u for u in fake.updates_history
                          if u.get("callback_query", {}).get("id") == first)
    fake.deliver_twice(confirm_update)
    await user.wait_for_message(lambda m: "Mã báo cáo" in m.text)
    answer = await user.wait_for_callback_answer(second)
    assert "đã được gửi" in (answer.text or "")
    await fake.wait_idle(timeout=10)
    assert await bot_process.stop() == 0
    assert len(await cases_in(db)) == 1
