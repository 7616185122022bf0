"""B4 — footprint of the real `python -m bot run` process against the fake Bot API (tests/fakebot, loopback):

- start-up: from spawning the process until the reply to an update that was already waiting is
  accepted by the fake Bot API — on a database that must first be migrated (cold: a first install) and on
  one already migrated (warm: every later restart); plus the floor set by the interpreter and libraries
  (`import aiogram`, `import bot.app` in a bare interpreter);
- resident memory (VmRSS, and the peak VmHWM) once it has served its first update, and again with 10,000
  reports in progress: 10,000 reporters (already past the privacy notice, school and role known) each tap
  "report an incident", 200 at a time, each waiting for the bot's question before the next one starts.
  Drafts live in the database, so memory should not grow with them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.common import (
    ROOT,
    Scale,
    peak_rss_mb,
    publish,
    rss_mb,
    scalar,
    scratch_dir,
    table,
    targets_table,
)
from bot.consent import CONSENT_VERSION
from storage.db import Database
from storage.migrate import upgrade_async
from storage.models import FsmRecord, Reporter, utcnow
from tests.factories import make_tree
from tests.fakebot import FakeTelegram

NAME = "b4_footprint"
TOKEN = "123456:TEST-bench-footprint-aaaaaaaaaa"
MENU_REPORT = "📝 Báo cáo sự cố"
TARGET_MB = 150.0
TARGET_START_S = 2.0
FIRST_REPORTER = 2_000_000
AT_ONCE = 200


class BotProcess:
    def __init__(self, api_url: str, database_url: str, workdir: Path) -> None:
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "PYTHONPATH": str(ROOT),
                    "BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api_url, "DATABASE_URL": database_url,
                    "POLLING_TIMEOUT": "1", "LOG_LEVEL": "WARNING", "REPORTS_PER_HOUR": "1000"}
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = (self.workdir / "bot.log").open("ab")
        self.process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=self.workdir,
                                                            env=self.env, stdout=log, stderr=log)
        log.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def stop(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    def log_tail(self) -> str:
        path = self.workdir / "bot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


async def _first_reply(fake: FakeTelegram, url: str, workdir: Path, user_id: int) -> dict[str, Any]:
    """Spawn the bot with one update waiting; seconds until the fake accepts the bot's reply to it."""
    user = fake.user(user_id, f"Người {user_id}", language_code="vi")
    await user.send("/start")
    bot = BotProcess(fake.base_url, url, workdir)
    started = time.perf_counter()
    await bot.start()
    try:
        await user.wait_for_message(timeout=120)
    except AssertionError as exc:
        raise RuntimeError(f"no reply from the bot: {bot.log_tail()}") from exc
    seconds = time.perf_counter() - started
    await asyncio.sleep(0.5)  # let it settle before reading its memory
    memory = {"rss_mb": round(rss_mb(bot.pid), 1), "peak_mb": round(peak_rss_mb(bot.pid), 1)}
    return {"bot": bot, "seconds": round(seconds, 3), **memory}


def _floor(code: str) -> dict[str, float]:
    """Seconds and resident MB of a bare interpreter running `code` (the libraries' share)."""
    probe = (f"import time; t = time.perf_counter(); {code}; t = time.perf_counter() - t\n"
             "rss = next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]\n"
             "print(t, int(rss) / 1024)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, check=True, timeout=120)
    seconds, mb = out.stdout.split()
    return {"seconds": round(float(seconds), 3), "rss_mb": round(float(mb), 1)}


async def _seed_reporters(url: str, count: int) -> None:
    db = Database(url)
    try:
        tree = await make_tree(db)
        now = utcnow()
        async with db.session() as session:
            for start in range(0, count, 5000):
                await session.execute(insert(Reporter), [
                    {"user_id": FIRST_REPORTER + i, "locale": "vi", "role": "parent", "unit_id": tree["ns"].id,
                     "consent_version": CONSENT_VERSION, "consent_at": now, "created_at": now}
                    for i in range(start, min(count, start + 5000))])
    finally:
        await db.dispose()


async def _drafts(url: str) -> int:
    drafts = select(func.count()).select_from(FsmRecord).where(FsmRecord.state.like("Intake%"))
    return int(await scalar(url, drafts) or 0)


async def _open_reports(fake: FakeTelegram, count: int) -> float:
    """`count` reporters tap "report", AT_ONCE at a time, each waiting for the bot's question."""
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(index: int) -> None:
        async with gate:
            user = fake.user(FIRST_REPORTER + index, f"Người {index}", language_code="vi")
            await user.send(MENU_REPORT)
            await user.wait_for_message(lambda m: bool(m.buttons), timeout=120)

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return time.perf_counter() - started


async def measure(reports: int, *, floors: bool = True, cold: bool = True) -> dict[str, Any]:
    folder = scratch_dir("b4")
    result: dict[str, Any] = {}
    try:
        if floors:
            result["floors"] = {"import aiogram": _floor("import aiogram"),
                                "import bot.app": _floor("import bot.app, bot.cli")}
        async with FakeTelegram(token=TOKEN, bot_username="school_safety_bot") as fake:
            if cold:
                cold_url = f"sqlite+aiosqlite:///{folder}/cold.db"
                result["start_cold"] = await _first_reply(fake, cold_url, folder, 1001)
                await result["start_cold"].pop("bot").stop()
                result["start_warm"] = await _first_reply(fake, cold_url, folder, 1002)
                await result["start_warm"].pop("bot").stop()
            url = f"sqlite+aiosqlite:///{folder}/reports.db"
            await upgrade_async(url)
            await _seed_reporters(url, reports)
            result["idle"] = await _first_reply(fake, url, folder, 1003)
            bot: BotProcess = result["idle"].pop("bot")
            try:
                seconds = await _open_reports(fake, reports)
                await asyncio.sleep(1.0)
                busy = {"rss_mb": round(rss_mb(bot.pid), 1), "peak_mb": round(peak_rss_mb(bot.pid), 1)}
            finally:
                await bot.stop()
            result["reports"] = {"opened": reports, "in_progress": await _drafts(url), "seconds": round(seconds, 1),
                                 "updates_per_s": round(reports / seconds, 1), **busy}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


async def run(scale: Scale) -> dict[str, Any]:
    result = await measure(scale.pick(10_000, 300))
    busy, warm, cold = result["reports"], result["start_warm"], result["start_cold"]
    result["targets"] = {
        "rss_with_reports": {"target": f"<= {TARGET_MB:.0f} MB", "measured": busy["rss_mb"],
                             "met": busy["rss_mb"] <= TARGET_MB},
        "start_warm": {"target": f"<= {TARGET_START_S:g} s", "measured": warm["seconds"],
                       "met": warm["seconds"] <= TARGET_START_S},
        "start_cold": {"target": f"<= {TARGET_START_S:g} s", "measured": cold["seconds"],
                       "met": cold["seconds"] <= TARGET_START_S},
    }
    return result


def render(result: dict[str, Any]) -> str:
    r = result
    rows = [
        ("bare interpreter: import aiogram", r["floors"]["import aiogram"]["seconds"], "",
         r["floors"]["import aiogram"]["rss_mb"], ""),
        ("bare interpreter: import bot.app", r["floors"]["import bot.app"]["seconds"], "",
         r["floors"]["import bot.app"]["rss_mb"], ""),
        ("bot run, new database (migrations)", r["start_cold"]["seconds"], "", r["start_cold"]["rss_mb"],
         r["start_cold"]["peak_mb"]),
        ("bot run, migrated database", r["start_warm"]["seconds"], "", r["start_warm"]["rss_mb"],
         r["start_warm"]["peak_mb"]),
        ("bot run, after its first update", r["idle"]["seconds"], "", r["idle"]["rss_mb"], r["idle"]["peak_mb"]),
        (f"bot run, {r['reports']['in_progress']:,} reports in progress", "", r["reports"]["seconds"],
         r["reports"]["rss_mb"], r["reports"]["peak_mb"]),
    ]
    text = table("B4 footprint of `python -m bot run` (SQLite)",
                 ["", "to first reply s", "to open all s", "RSS MB", "peak MB"], rows)
    return text + targets_table("B4 targets", r)


async def main(scale: Scale) -> dict[str, Any]:
    return publish(NAME, await run(scale), render)
