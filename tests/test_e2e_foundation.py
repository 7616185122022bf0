"""The real `run` over HTTP: a leader redeems an invite; a parent reaches consent and then their school."""

from __future__ import annotations

from pathlib import Path

from bot import invites
from storage.db import Database
from tests.e2e import PROMPT_TIMEOUT, TOKEN, BotProcess, eventually
from tests.factories import make_tree


async def test_leader_invite_and_parent_onboarding_over_http(fake, db: Database, bot_process: BotProcess):
    tree = await make_tree(db)
    async with db.session() as session:
        invite, _ = await invites.create(session, "KA-NS", "leader")

    leader = fake.user(5001, "Hiệu trưởng", language_code="vi")
    await leader.send(f"/start i_{invite.token}")
    confirmed = await leader.wait_for_message(lambda m: "Lãnh đạo đơn vị" in m.text, timeout=PROMPT_TIMEOUT)
    assert "THCS Ngọc Sơn" in confirmed.text

    parent = fake.user(6001, "Lan", language_code="vi")
    await parent.send(f"/start s_{tree['ns'].public_token}")
    await parent.wait_for_message(lambda m: "THCS Ngọc Sơn" in m.text)
    notice = await parent.wait_for_message(lambda m: "91/2025/QH15" in m.text)
    await parent.press(notice, "Tôi đồng ý")
    chosen = await parent.wait_for_message(lambda m: "Đã ghi nhận trường" in m.text)
    assert "THCS Ngọc Sơn" in chosen.text
    assert "📝 Báo cáo sự cố" in chosen.keyboard

    other = fake.user(6002, "Minh", language_code="vi")
    await other.send("/start")
    notice = await other.wait_for_message(lambda m: "91/2025/QH15" in m.text)
    await other.press(notice, "Tôi đồng ý")
    await other.wait_for_message(lambda m: "nhập tên trường" in m.text)
    await other.send("thcs ngoc son")
    choice = await other.wait_for_message(lambda m: bool(m.buttons))
    await other.press(choice, "THCS Ngọc Sơn")
    await other.wait_for_message(lambda m: "Đã ghi nhận trường <b>THCS Ngọc Sơn</b>" in m.html)

    def english_menu() -> list[dict[str, str]]:
        return fake.commands(scope={"type": "all_private_chats"}, language_code="en")

    await eventually(english_menu)  # set in the background, a moment after start-up
    assert any(c["command"] == "report" for c in english_menu())
    assert TOKEN.split(":")[1] not in bot_process.log()


async def test_sigterm_stops_cleanly(fake, db: Database, bot_process: BotProcess):
    user = fake.user(7001, "An")
    await user.send("/help")
    await user.wait_for_message(lambda m: "Hướng dẫn" in m.text, timeout=PROMPT_TIMEOUT)
    assert await bot_process.stop() == 0
    assert "stopped" in bot_process.log()


async def _cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    import asyncio
    import sys

    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_cli_invite_and_link_print_deep_links_with_the_bots_username(fake, db: Database, db_url, tmp_path):
    tree = await make_tree(db)
    env = BotProcess(fake.base_url, db_url, tmp_path).env
    code, out, err = await _cli("invite", "--unit", "KA", "--role", "officer", "--uses", "3", env=env, cwd=tmp_path)
    assert code == 0, err
    link = out.strip().splitlines()[-1]
    assert link.startswith("https://t.me/school_safety_bot?start=i_") and len(link.split("start=")[1]) <= 64

    officer = fake.user(5101, "Cán bộ phòng")
    process = await BotProcess(fake.base_url, db_url, tmp_path).start()
    try:
        await officer.send("/start " + link.split("start=")[1])
        await officer.wait_for_message(lambda m: "Phòng GD&amp;ĐT Kiến An" in m.html, timeout=PROMPT_TIMEOUT)
    finally:
        await process.kill()

    code, out, _ = await _cli("link", "--unit", "KA-NS", env=env, cwd=tmp_path)
    assert code == 0 and out.strip().endswith(f"?start=s_{tree['ns'].public_token}")
    code, _, err = await _cli("link", "--unit", "KA", env=env, cwd=tmp_path)
    assert code == 1 and "No school" in err
    code, _, err = await _cli("invite", "--unit", "NOPE", "--role", "leader", env=env, cwd=tmp_path)
    assert code == 1 and "no unit" in err


async def test_failing_set_my_commands_is_not_fatal(fake, db: Database, db_url, tmp_path):
    fake.fail_next("setMyCommands", 5, status=500)
    process = await BotProcess(fake.base_url, db_url, tmp_path).start()
    try:
        user = fake.user(5201, "An")
        await user.send("/help")
        await user.wait_for_message(lambda m: "Hướng dẫn" in m.text, timeout=PROMPT_TIMEOUT)
        await eventually(lambda: "could not register commands" in process.log())
    finally:
        await process.kill()
