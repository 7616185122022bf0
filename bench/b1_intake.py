"""B1 — intake throughput and latency through the real Dispatcher, on SQLite and PostgreSQL.

Simulated reporters (`bench.intake_sim`) complete whole reports — menu button, role, type, every
follow-up question, evidence, anonymity, summary, confirm — against the production wiring, with 1 and
200 reporters at once. Each reporter rotates through the six incident types of tests/e2e.py's REPORTS,
replaying a script recorded from the bot's own questions (and checking before every press that the bot
really offered that button). The same reporters then drive a bare aiogram echo bot: the ceiling.

Two kinds of run per configuration:
- **saturation**: reporters send their next update the instant the previous one is handled. Updates per
  second here is the capacity; latency is mostly queueing (Little's law: concurrency ÷ throughput).
- **paced**: reporters think between steps (uniform 2.5–7.5 s, still quicker than people reading a
  question and typing). Latency here is what a reporter experiences with 200 reports in progress at once.
- **paced, API 50 ms**: the same, but every Bot API call takes 50 ms to be answered, as from a server near
  Telegram's. An update's time includes its replies reaching Telegram.

Each run measures a fixed window after a warm-up; every reporter files report after report (a new person
each time) until the run ends.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select

from bench.common import (
    BACKENDS,
    Scale,
    database,
    latency_ms,
    postgres_available,
    publish,
    scalar,
    table,
    targets_table,
)
from bench.intake_sim import Clock, EchoBot, IntakeBot, Reporter, Source, record_script, uniform_think
from bench.profiling import Load, spy
from bot.consent import CONSENT_VERSION
from bot.i18n import load_catalog
from bot.settings import Settings
from storage.db import Database
from storage.models import Case, Member, utcnow
from storage.models import Reporter as ReporterRow
from tests.e2e import REPORTS
from tests.factories import make_tree

NAME = "b1_intake"
INCIDENTS = tuple(REPORTS)
RECORDER_BASE = 9_000_000
RESPONDER_ID = 777
THINK_MEAN = 5.0
PACED_WARMUP = 100.0
"""Seconds before the paced window: a whole report at THINK_MEAN per step (11–19 steps), so reporters are
spread over every step of their reports, confirming included, when measuring starts (with 10 s, as before,
nobody had reached the summary yet and the heaviest step was never measured)."""
API_ROUND_TRIP = 0.05
"""A paced run where each Bot API call takes 50 ms to be answered, as from a server near Telegram's: the
instant session hides what a handler does while it waits for Telegram (see bot/replies.py)."""
TARGET_RATIO = 0.40
TARGET_P99_MS = 20.0


def _answers(incident: str) -> dict[str, Any]:
    answers = dict(REPORTS[incident][0])
    return answers


async def _seed(url: str, user_ids: list[int]) -> int:
    """The school tree, and every reporter already past the privacy notice (onboarding is not B1's)."""
    db = Database(url)
    try:
        tree = await make_tree(db)
        now = utcnow()
        async with db.session() as session:
            # A school leader to route cases to, so confirming a report queues a card as in production.
            session.add(Member(user_id=RESPONDER_ID, unit_id=tree["ns"].id, role="leader", display_name="BGH"))
            for start in range(0, len(user_ids), 5000):
                await session.execute(insert(ReporterRow), [
                    {"user_id": uid, "locale": "vi", "unit_id": tree["ns"].id, "consent_version": CONSENT_VERSION,
                     "consent_at": now, "created_at": now} for uid in user_ids[start:start + 5000]])
        return tree["ns"].id
    finally:
        await db.dispose()


async def _cases(url: str) -> int:
    return int(await scalar(url, select(func.count()).select_from(Case)) or 0)


async def _drive(clock: Clock, scripts: dict[str, list[tuple[str, ...]]], *, first_id: int, reporters: int,
                 think: float | None, verify: bool, warmup: float, window: float, seed: int = 1) -> dict[str, Any]:
    """`reporters` people at once, each filing report after report (a new person each time, the incident
    types in turn) until the run ends; measured over `window` seconds after `warmup` seconds."""
    rng = random.Random(seed)
    stop = asyncio.Event()
    ids = iter(range(first_id, first_id + 10**7))
    finished = [0]

    async def person(index: int) -> None:
        if think:  # people start during the warm-up, so the window sees every step of a report in proportion
            await asyncio.sleep(rng.uniform(0, max(warmup, think * 2)))
        turn = index
        while not stop.is_set():
            reporter = Reporter(clock, next(ids), think=uniform_think(think, rng) if think else None)
            if await reporter.play(scripts[INCIDENTS[turn % len(INCIDENTS)]], verify=verify, stop=stop):
                finished[0] += 1
            turn += 1

    clock.samples.clear()
    tasks = [asyncio.create_task(person(i)) for i in range(reporters)]
    await asyncio.sleep(warmup)
    load = Load()
    begin = time.perf_counter()
    reports_before = finished[0]
    await asyncio.sleep(window)
    end = time.perf_counter()
    used = load.finish()
    reports = finished[0] - reports_before
    stop.set()
    await asyncio.gather(*tasks)
    inside = [seconds for at, seconds in clock.samples if begin <= at <= end]
    updates = len(inside)
    return {"reporters": reporters, "think_s": think, "window_s": round(end - begin, 2), "updates": updates,
            "reports_finished": reports, "updates_per_s": round(updates / (end - begin), 1),
            **latency_ms(inside), "loop_cpu_ms_per_update": round(used["loop_thread_cpu_s"] / max(1, updates) * 1e3, 3),
            "load": used}


async def _record(clock: Clock) -> dict[str, list[tuple[str, ...]]]:
    scripts = {}
    for offset, incident in enumerate(INCIDENTS):
        scripts[incident] = await record_script(Reporter(clock, RECORDER_BASE + offset), incident, _answers(incident))
    return scripts


@dataclass(frozen=True)
class Run:
    reporters: int
    think: float | None  # mean seconds between a reporter's steps; None: none (saturation)
    warmup: float
    window: float
    round_trip: float = 0.0  # seconds Telegram takes to answer each call (0: the instant session)

    @property
    def mode(self) -> str:
        mode = "paced" if self.think else "saturation"
        return f"{mode}, API {self.round_trip * 1e3:g} ms" if self.round_trip else mode


SEEDED = 20_000  # reporters per database already past the privacy notice; more than any run can use


async def intake_runs(backend: str, plan: list[Run], catalog: Any
                      ) -> tuple[list[dict[str, Any]], dict[str, list[tuple[str, ...]]]]:
    """Every run of `plan` against a fresh database each."""
    results = []
    scripts: dict[str, list[tuple[str, ...]]] = {}
    for step in plan:
        first_id = 10_000
        ids = [first_id + i for i in range(SEEDED)] + [RECORDER_BASE + i for i in range(len(INCIDENTS))]
        async with database(backend, "b1") as url:
            await _seed(url, ids)
            settings = Settings(_env_file=None, bot_token="42:TEST-TOKEN-aaaaaaaaaaaaaaaaaaaa",  # type: ignore[call-arg]
                                database_url=url, reports_per_hour=1000)
            source = Source(step.round_trip)
            clock = Clock(source)
            bot = IntakeBot(url, settings, catalog, source, clock.done)
            await bot.start()
            try:
                scripts = await _record(clock)  # also a warm-up: every flow once
                with spy(f"{NAME}_{backend}_{step.reporters}_{step.mode}", enabled=PROFILE[0]):
                    run = await _drive(clock, scripts, first_id=first_id, reporters=step.reporters, think=step.think,
                                       verify=True, warmup=step.warmup, window=step.window)
            finally:
                await bot.stop()
            made = await _cases(url) - len(INCIDENTS)
            run.update(bot="intake", backend=backend, mode=step.mode, cases_created=made,
                       getupdates_batches=source.batches, api_calls=source.api_calls)
            assert made >= run["reports_finished"], f"{run['reports_finished']} reports confirmed, {made} cases stored"
            results.append(run)
    return results, scripts


async def echo_runs(plan: list[Run], scripts: dict[str, list[tuple[str, ...]]]) -> list[dict[str, Any]]:
    results = []
    for step in plan:
        source = Source()
        clock = Clock(source)
        bot = EchoBot(source, clock.done)
        await bot.start()
        try:
            run = await _drive(clock, scripts, first_id=10_000, reporters=step.reporters, think=step.think,
                               verify=False, warmup=step.warmup, window=step.window)
        finally:
            await bot.stop()
        run.update(bot="echo", backend="–", mode=step.mode, getupdates_batches=source.batches,
                   api_calls=source.api_calls)
        results.append(run)
    return results


def plan_for(scale: Scale) -> list[Run]:
    return [
        Run(1, None, warmup=scale.pick(2, 0.5), window=scale.pick(12, 2)),
        Run(200, None, warmup=scale.pick(5, 1), window=scale.pick(20, 3)),
        Run(200, scale.pick(THINK_MEAN, 0.05), warmup=scale.pick(PACED_WARMUP, 1), window=scale.pick(30, 3)),
        Run(200, scale.pick(THINK_MEAN, 0.05), warmup=scale.pick(PACED_WARMUP, 1), window=scale.pick(30, 3),
            round_trip=API_ROUND_TRIP),
    ]


PROFILE = [False]


async def run(scale: Scale, profile: bool = False) -> dict[str, Any]:
    PROFILE[0] = profile
    logging.getLogger("aiogram").setLevel(logging.WARNING)
    catalog = load_catalog()
    plan = plan_for(scale)
    runs: list[dict[str, Any]] = []
    scripts: dict[str, list[tuple[str, ...]]] = {}
    skipped = {}
    for backend in BACKENDS:
        if backend == "postgresql" and (why := await postgres_available()):
            skipped[backend] = why
            continue
        found, scripts = await intake_runs(backend, plan, catalog)
        runs += found
    runs += await echo_runs([step for step in plan if not step.think], scripts)
    return summarize(runs, scripts, skipped)


def summarize(runs: list[dict[str, Any]], scripts: dict[str, list[tuple[str, ...]]],
              skipped: dict[str, str]) -> dict[str, Any]:
    echo = {r["reporters"]: r for r in runs if r["bot"] == "echo"}
    for r in runs:
        ceiling = echo.get(r["reporters"]) if r["mode"] == "saturation" else None
        r["ratio_to_echo"] = round(r["updates_per_s"] / ceiling["updates_per_s"], 4) if ceiling else None
    sqlite = {r["mode"]: r for r in runs if r["bot"] == "intake" and r["backend"] == "sqlite"
              and r["reporters"] == 200}
    saturated, paced = sqlite.get("saturation"), sqlite.get("paced")
    targets = {
        "throughput_vs_echo_sqlite_200": {
            "target": f">= {TARGET_RATIO:.0%} of echo", "measured": saturated and saturated["ratio_to_echo"],
            "met": bool(saturated and saturated["ratio_to_echo"] >= TARGET_RATIO)},
        "p99_sqlite_200_paced": {
            "target": f"<= {TARGET_P99_MS:g} ms", "measured": paced and paced["p99_ms"],
            "met": bool(paced and paced["p99_ms"] <= TARGET_P99_MS)},
        "p99_sqlite_200_saturation": {
            "target": f"<= {TARGET_P99_MS:g} ms", "measured": saturated and saturated["p99_ms"],
            "met": bool(saturated and saturated["p99_ms"] <= TARGET_P99_MS)},
    }
    return {"runs": runs, "targets": targets, "skipped": skipped,
            "script_lengths": {k: len(v) for k, v in scripts.items()}}


def render(result: dict[str, Any]) -> str:
    rows = [(r["bot"], r["backend"], r["reporters"], r["mode"], r["updates"], r["updates_per_s"],
             "" if r["ratio_to_echo"] is None else f"{r['ratio_to_echo']:.1%}", r["p50_ms"], r["p95_ms"],
             r["p99_ms"], r["loop_cpu_ms_per_update"], r["load"]["foreign_cores"]) for r in result["runs"]]
    text = table("B1 intake: whole reports through the real Dispatcher (Bot session answers instantly)",
                 ["bot", "db", "reporters", "mode", "updates", "updates/s", "of echo", "p50 ms", "p95 ms", "p99 ms",
                  "CPU ms/update", "other load (cores)"], rows)
    text += targets_table("B1 targets", result)
    return text


async def main(scale: Scale, profile: bool = False) -> dict[str, Any]:
    return publish(NAME, await run(scale, profile), render)
