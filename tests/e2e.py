"""End-to-end driver: the real `python -m bot run` in a subprocess, talking HTTP to the fake Bot API.

The bot process is exactly what an operator runs (settings from the environment, migrations, the
durable-inbox poller); only TELEGRAM_API_URL points at `tests.fakebot.FakeTelegram` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from bot.intake.flows import FLOWS, ROLE_QUESTION, TYPE_QUESTION
from storage.db import Database
from storage.models import Case
from tests.fakebot import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-e2e-token-aaaaaaaaaaaaaaaaaaaa"

# Ports handed out for the bot's listeners: below the kernel's ephemeral range (32768-60999 by default),
# one block of 500 per pytest-xdist worker.
_PORT_BLOCK = 500
_PORT_BASE = 20_000
_PORT_BLOCKS = (32_768 - _PORT_BASE) // _PORT_BLOCK
_port_offsets = itertools.count()


def free_port() -> int:
    """A port nothing listens on, for a listener the bot opens later.

    Not one from bind(("127.0.0.1", 0)): that port is ephemeral, and between the probe closing it and the
    bot binding it, any outgoing connection of the suite (hundreds to PostgreSQL) may be given it as its
    local port, and the bot then cannot start ("address already in use"). Ports below the ephemeral range
    are never given out that way; each worker takes its own block so that two workers never pick the same.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = _PORT_BASE + (int(worker) if worker.isdigit() else 0) % _PORT_BLOCKS * _PORT_BLOCK
    for _ in range(_PORT_BLOCK):
        port = start + next(_port_offsets) % _PORT_BLOCK
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}-{start + _PORT_BLOCK - 1}")


class BotProcess:
    """One `python -m bot run` process; start, stop gracefully, or kill it like a power cut."""

    def __init__(self, api_url: str, database_url: str, workdir: Path, **extra_env: str) -> None:
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api_url,
            "DATABASE_URL": database_url,
            "POLLING_TIMEOUT": "1",
            "LOG_LEVEL": "INFO",
            **extra_env,
        }
        self.workdir = workdir
        self.log_path = workdir / "bot.log"
        self.process: asyncio.subprocess.Process | None = None
        self._log_offset = 0

    async def start(self) -> BotProcess:
        self._log_offset = len(self.log())
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=self.workdir, env=self.env, stdout=log, stderr=log,
        )
        log.close()
        return self

    async def stop(self, timeout: float = 20) -> int:
        """SIGTERM, as systemd would; returns the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, like a crash or a power cut."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()

    async def wait_ready(self, timeout: float = 30) -> None:
        """Until the bot says it is serving (migrations done, getMe answered), by long polling or webhook."""
        async with asyncio.timeout(timeout):
            while not any(mark in self.log()[self._log_offset:]
                          for mark in ("started: long polling", "started: webhook")):
                assert self.process is not None and self.process.returncode is None, self.log()[-2000:]
                await asyncio.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# ---------------------------------------------------------------------------------------------------
# A reporter that answers whatever the bot asks, from a table of answers.

PROMPT_TIMEOUT = 45.0  # a ceiling for slow (loaded) machines, not a wait


async def eventually(check: Callable[[], object], timeout: float = PROMPT_TIMEOUT) -> None:
    """Wait until `check()` is true: for what the bot does in the background, with no message to wait for."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting for the bot"
        await asyncio.sleep(0.05)


def question_key(buttons: list[tuple[str, str | None]]) -> str | None:
    """The question a prompt asks, read from its buttons' callback data (`ia:<q>:<v>`, `in:back:<q>`)."""
    for _, data in buttons:
        parts = (data or "").split(":")
        if parts[0] == "ia" or (parts[0] == "in" and parts[1] in ("back", "skip", "done") and parts[2]):
            return parts[1] if parts[0] == "ia" else parts[2]
    return None


def step_of(buttons: list[tuple[str, str | None]]) -> str:
    prefixes = {(data or "").split(":")[0] for _, data in buttons}
    for prefix, step in (("ir", "role"), ("it", "type"), ("ie", "evidence"), ("iy", "identity"),
                         ("is", "summary"), ("ia", "question"), ("in", "question")):
        if prefix in prefixes:
            return step
    return "unknown"


async def next_prompt(user, timeout: float = PROMPT_TIMEOUT):  # type: ignore[no-untyped-def]
    """The bot's next message that carries inline buttons (every step of the intake has some)."""
    return await user.wait_for_message(lambda m: bool(m.buttons) and any(d for _, d in m.buttons), timeout)


async def answer_prompt(user, prompt, answers: dict, labels) -> str:  # type: ignore[no-untyped-def]
    """Answer one prompt; returns the step it was. `labels(question_key, choice)` gives a button label."""
    step = step_of(prompt.buttons)
    if step == "role":
        await user.press(prompt, labels("role", answers["role"]))
    elif step == "type":
        await user.press(prompt, labels("type", answers["type"]))
    elif step == "question":
        key = question_key(prompt.buttons)
        value = answers.get(key, "skip")
        if value == "skip":
            await user.press(prompt, "Bỏ qua")
        elif isinstance(value, list):
            for choice in value:
                await user.press(prompt, labels(key, choice))
                prompt = await user.wait_for_message(lambda m: m.is_edited and bool(m.buttons), PROMPT_TIMEOUT)
            await user.press(prompt, "Xong")
        elif any(data == f"ia:{key}:{value}" for _, data in prompt.buttons):
            await user.press(prompt, labels(key, value))
        else:
            await user.send(str(value))
    elif step == "evidence":
        for item in answers.get("evidence", []):  # text, or the bytes of a photo
            await (user.send_photo(data=item) if isinstance(item, bytes) else user.send(item))
            prompt = await user.wait_for_message(lambda m: "bằng chứng" in m.text and bool(m.buttons),
                                                 PROMPT_TIMEOUT)
        await user.press(prompt, "Xong" if answers.get("evidence") else "Không có bằng chứng")
    elif step == "identity":
        await user.press(prompt, "Giữ ẩn danh")
    return step


# ---------------------------------------------------------------------------------------------------
# Whole reports, one per incident type, and the steps around them.

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
    notice = await user.wait_for_message(lambda m: "91/2025/QH15" in m.text, timeout=PROMPT_TIMEOUT)
    await user.press(notice, "Tôi đồng ý")
    await user.wait_for_message(lambda m: "Đã ghi nhận trường" in m.text, timeout=PROMPT_TIMEOUT)
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
            return await user.wait_for_message(lambda m: "Mã báo cáo" in m.text, timeout=PROMPT_TIMEOUT)


async def cases_in(db: Database) -> list[Case]:
    async with db.session() as session:
        return list(await session.scalars(select(Case).order_by(Case.id)))


