"""The benchmarks (bench/, BENCHMARKS.md) at toy sizes, so they cannot rot. Nothing here is timed: the
assertions are about the harnesses still driving the real code, not about speed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench import b1_intake, b2_delivery, b3_indicators, b4_footprint
from bench.intake_sim import Clock, EchoBot, IntakeBot, Source
from bot.i18n import load_catalog
from bot.settings import Settings
from storage.migrate import upgrade_async
from tests.fakebot import FakeTelegram


async def test_b1_reporters_file_whole_reports_through_the_dispatcher_and_the_echo_bot(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/b1.db"
    await upgrade_async(url)
    ids = [10_000 + i for i in range(50)] + [b1_intake.RECORDER_BASE + i for i in range(len(b1_intake.INCIDENTS))]
    await b1_intake._seed(url, ids)
    settings = Settings(_env_file=None, bot_token="42:TEST-TOKEN-aaaaaaaaaaaaaaaaaaaa",  # type: ignore[call-arg]
                        database_url=url, reports_per_hour=1000)
    source = Source()
    clock = Clock(source)
    bot = IntakeBot(url, settings, load_catalog(), source, clock.done)
    await bot.start()
    try:
        scripts = await b1_intake._record(clock)  # checks every button pressed was offered
        run = await b1_intake._drive(clock, scripts, first_id=10_000, reporters=2, think=None, verify=True,
                                     warmup=0.1, window=0.4)
    finally:
        await bot.stop()
    assert set(scripts) == set(b1_intake.INCIDENTS) and all(script[-1] == ("confirm",) for script in scripts.values())
    assert await b1_intake._cases(url) >= len(b1_intake.INCIDENTS)
    assert run["updates"] > 0 and run["p99_ms"] > 0

    echo_source = Source()
    echo_clock = Clock(echo_source)
    echo = EchoBot(echo_source, echo_clock.done)
    await echo.start()
    try:
        ceiling = await b1_intake._drive(echo_clock, scripts, first_id=10_000, reporters=2, think=None, verify=False,
                                         warmup=0.05, window=0.2)
    finally:
        await echo.stop()
    assert ceiling["updates"] > 0


async def test_b2_worker_delivers_each_notification_once_under_the_fake_limit(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/b2.db"
    await upgrade_async(url)
    first = b2_delivery.FIRST_CHAT
    async with FakeTelegram(token=b2_delivery.TOKEN, bot_username="school_safety_bot") as server:
        fake = b2_delivery.InProcessFake(server, first, first + 60, rate=100)
        result = await b2_delivery.deliver("sqlite", url, messages=60, limit=100, fake=fake)
    assert result["lost"] == 0 and result["duplicates"] == 0
    assert result["outbox"]["sent"] == 60
    assert result["worker"] == b2_delivery.worker_settings(100)


async def test_b3_lookup_finds_exactly_the_cases_naming_a_value(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/b3.db"
    await upgrade_async(url)
    data = b3_indicators.Dataset(300)
    await b3_indicators.load("sqlite", url, data)
    result = await b3_indicators.measure(url, data, data.queries(60), warmup=10)
    assert result["wrong_answers"] == 0
    assert result["samples"] == 50 and result["cases_found"]["max"] > 1
    assert "ix_indicators_kind_value" in result["plan"]


async def test_b4_real_bot_process_answers_and_keeps_reports_in_progress() -> None:
    result = await asyncio.wait_for(b4_footprint.measure(3, floors=False, cold=False), 120)
    assert result["reports"]["in_progress"] == 3
    assert result["idle"]["rss_mb"] > 0 and result["reports"]["rss_mb"] > 0


def test_a_profile_counts_the_loops_samples_and_the_orms_greenlets_but_not_other_threads(tmp_path: Path) -> None:
    from bench.profiling import summarize

    loop = "<module> (bench/__main__.py:5);run_until_complete (asyncio/base_events.py:640)"
    raw = tmp_path / "b1.pyspy.txt"
    raw.write_text("\n".join([
        f"{loop};handle (bot/runtime.py:139);Direct.run (storage/direct.py:117) 6",
        "Session.flush (sqlalchemy/orm/session.py:4626);_emit_insert_statements (sqlalchemy/orm/persistence.py:1250) 3",
        "Thread._bootstrap (threading.py:995);sync_file (storage/sqlite_inline.py:60) 50",
        f"{loop};EpollSelector.select (selectors.py:468) 1",
    ]) + "\n")
    summary = summarize(raw)
    assert "9 busy, 1 waiting in epoll" in summary  # the sync thread's 50 are not the loop's
    assert "the ORM inside SQLAlchemy's greenlets (their callers cut off): 33.3%" in summary
    assert " 66.7%  storage/direct.py" in summary and " 33.3%  sqlalchemy" in summary
