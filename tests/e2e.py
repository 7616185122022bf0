"""End-to-end driver: the real `python -m bot run` in a subprocess, talking HTTP to the fake Bot API.

The bot process is exactly what an operator runs (settings from the environment, migrations, the
durable-inbox poller); only TELEGRAM_API_URL points at `tests.fakebot.FakeTelegram` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-e2e-token-aaaaaaaaaaaaaaaaaaaa"


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

    async def start(self) -> BotProcess:
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

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# ---------------------------------------------------------------------------------------------------
# A reporter that answers whatever the bot asks, from a table of answers.

PROMPT_TIMEOUT = 20.0


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
        for item in answers.get("evidence", []):
            await user.send(item)
            prompt = await user.wait_for_message(lambda m: "bằng chứng" in m.text and bool(m.buttons),
                                                 PROMPT_TIMEOUT)
        await user.press(prompt, "Xong" if answers.get("evidence") else "Không có bằng chứng")
    elif step == "identity":
        await user.press(prompt, "Giữ ẩn danh")
    return step
