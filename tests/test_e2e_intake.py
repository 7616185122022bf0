"""The real `run` over HTTP: reports of every type end as saved cases; crashes and redeliveries lose or
double nothing."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
from pathlib import Path

from sqlalchemy import select

from bot import export
from bot.settings import Settings
from storage.models import Evidence, Indicator
from tests.e2e import (
    PROMPT_TIMEOUT,
    REPORTS,
    BotProcess,
    answer_prompt,
    cases_in,
    labeller,
    next_prompt,
    onboard,
    report,
)
from tests.factories import make_tree


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


async def test_evidence_files_are_copied_to_evidence_dir_once_the_case_is_saved(fake, db, db_url, catalog, tmp_path):
    folder = tmp_path / "evidence"
    process = await BotProcess(fake.base_url, db_url, tmp_path, EVIDENCE_DIR=str(folder)).start()
    try:
        await process.wait_ready(timeout=120)
        tree = await make_tree(db)
        user = await onboard(fake, 9101, tree["ns"].public_token)
        screenshot = b"\xff\xd8\xff\xe0 the fake school fee notice"
        answers = {**REPORTS["scam"][0], "type": "scam", "evidence": [screenshot, "https://hocphi-gia.vn"]}
        receipt = await report(fake, user, answers, labeller(catalog))
        (case,) = await cases_in(db)
        assert case.code in receipt.text
        rows = await _evidence_once_copied(db)
        copy = Path(rows[0].local_path)
        assert copy.parent == folder / case.code
        assert await asyncio.to_thread(copy.read_bytes) == screenshot
        assert rows[0].sha256 == hashlib.sha256(screenshot).hexdigest()
        assert rows[1].kind == "link" and rows[1].local_path is None
    finally:
        assert await process.stop() == 0


async def _evidence_once_copied(db) -> list[Evidence]:  # type: ignore[no-untyped-def]
    """The case's evidence rows, once none is waiting for its copy any more."""
    async with asyncio.timeout(PROMPT_TIMEOUT):
        for _ in itertools.count():
            async with db.session() as session:
                rows = list(await session.scalars(select(Evidence).order_by(Evidence.position)))
            if rows and all(row.copy_due_at is None for row in rows):
                return rows
            await asyncio.sleep(0.05)
    raise AssertionError("unreachable")


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


async def test_a_reply_cut_off_by_a_sigkill_is_sent_once_after_restart(
        fake, db, db_url, bot_process, catalog, tmp_path):
    """The bot handled the reporter's tap and committed it, and was killed while its answer hung on the way
    to Telegram: after the restart the answer (the next question) arrives, once, and the tap is not handled
    a second time."""
    from storage.models import InboxUpdate, OutboxMessage

    tree = await make_tree(db)
    user = await onboard(fake, 9101, tree["ns"].public_token)
    await user.send("📝 Báo cáo sự cố")
    role_prompt = await next_prompt(user)
    fake.slow(30)  # the bot's replies hang
    await user.press(role_prompt, labeller(catalog)("role", "parent"))
    async with asyncio.timeout(20):
        while True:
            held = await _unsent_replies(db)
            if held is not None:
                break
            await asyncio.sleep(0.05)
    await bot_process.kill()
    fake.slow(0)

    restarted = await BotProcess(fake.base_url, db_url, tmp_path).start()
    try:
        type_prompt = await user.wait_for_message(
            lambda m: "Loại sự cố" in m.text or any("lừa đảo" in t.lower() for t, _ in m.buttons),
            timeout=PROMPT_TIMEOUT)
        await user.assert_no_message(within=1.5)
    finally:
        assert await restarted.stop() == 0
    assert type_prompt.buttons
    async with db.session() as session:
        taps = [row for row in await session.scalars(select(InboxUpdate)) if "callback_query" in row.payload]
        row = await session.get(OutboxMessage, held)
    assert {tap.status for tap in taps} == {"done"}
    assert row is None  # sent again by the restarted bot before anything else, then settled


async def _unsent_replies(db) -> int | None:  # type: ignore[no-untyped-def]
    """The outbox id of a reply kept for the worker while the bot is still sending it."""
    from storage.models import OutboxMessage

    async with db.session() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "replies",
                                                                 OutboxMessage.status == "pending"))
        return next((row.id for row in rows  # the tap's (it asks for the incident type), not an earlier one's
                     if "lừa đảo" in json.dumps(row.payload, ensure_ascii=False).lower()), None)
