"""B3 — indicator lookup: with 1,000,000 indicators over 100,000 cases stored, how long the product's lookup
takes to find every case that names a given phone number, bank account or domain; SQLite and PostgreSQL.

The lookup is `storage.cases.naming(session, kind, stored_forms(kind, value))` — a bank account matches on
its number alone, whichever bank (if any) the reporter named. It is timed call by call inside an open
session, as a handler would make it.

The data: ten indicators per case (3 phone numbers, 2 bank accounts, 2 domains, 2 URLs, 1 profile); 30% of
the phones, accounts and domains come from a pool of "scammer" values reused across cases with a skewed
popularity (the most reported number is named by a few hundred cases), the rest are unique. Loaded with
executemany in one transaction (SQLite) and COPY (PostgreSQL), then ANALYZE.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import make_url

from bench.common import (
    BACKENDS,
    Scale,
    database,
    latency_ms,
    postgres_available,
    publish,
    table,
    targets_table,
)
from bench.profiling import Load
from bot.intake.indicators import BANK_ACCOUNT, DOMAIN, PHONE, SHARED_KINDS, stored_forms
from storage import cases
from storage.db import Database
from tests.factories import make_tree

NAME = "b3_indicators"
TARGET_P99_MS = 2.0
PER_CASE = ((PHONE, 3), (BANK_ACCOUNT, 2), (DOMAIN, 2), ("url", 2), ("profile", 1))
BANK_CODES = ("VCB", "TCB", "MB", "ACB", "BIDV", "VPB", "TPB", "STB", "ICB", "")
SHARED_SHARE = 0.3
CASE_COLUMNS = ("id", "code", "unit_id", "year", "seq", "submission_key", "reporter_id", "reporter_role", "locale",
                "incident_type", "severity", "severity_reasons", "status", "answers", "anonymous", "version",
                "overdue_level", "created_at", "updated_at")


class Dataset:
    """Deterministic cases and indicators, and what a lookup of each value must find."""

    def __init__(self, n_cases: int, seed: int = 6) -> None:
        self.n_cases = n_cases
        rng = random.Random(seed)
        pools = {PHONE: max(10, n_cases // 2), BANK_ACCOUNT: max(10, n_cases // 3), DOMAIN: max(10, n_cases // 5)}
        self.indicators: list[tuple[int, str, str, str]] = []
        self.expected: dict[tuple[str, str], set[int]] = defaultdict(set)  # (kind, lookup key) -> case ids
        self.unique: dict[str, list[str]] = defaultdict(list)
        self.pooled: dict[str, list[str]] = defaultdict(list)
        for case_id in range(1, n_cases + 1):
            seen: set[tuple[str, str]] = set()
            for kind, count in PER_CASE:
                for j in range(count):
                    shared = kind in pools and rng.random() < SHARED_SHARE
                    index = int(pools.get(kind, 1) * rng.random() ** 2) if shared else None
                    value = self._value(kind, case_id, j, index, rng)
                    if (kind, value) in seen:
                        continue
                    seen.add((kind, value))
                    self.indicators.append((case_id, kind, value, value))
                    if kind in SHARED_KINDS:
                        self.expected[(kind, _key(kind, value))].add(case_id)
                        (self.pooled if shared else self.unique)[kind].append(value)

    @staticmethod
    def _value(kind: str, case_id: int, j: int, index: int | None, rng: random.Random) -> str:
        n = index if index is not None else 10_000_000 + case_id * 10 + j
        if kind == PHONE:
            return f"+849{n % 100_000_000:08d}" if index is not None else f"+843{n % 100_000_000:08d}"
        if kind == BANK_ACCOUNT:
            digits = f"{(n * 7919) % 10**10:010d}" if index is not None else f"9{n:011d}"
            return f"{rng.choice(BANK_CODES)}:{digits}"
        if kind == DOMAIN:
            return f"lua-dao-{n}.vn" if index is not None else f"site-{n}.com.vn"
        if kind == "url":
            return f"https://site-{case_id}-{j}.com.vn/p/{j}"
        return f"facebook:user.{case_id}.{j}"

    def queries(self, count: int, seed: int = 7) -> list[tuple[str, str]]:
        """Lookups: a third per kind; half values reused across cases, half named by one case, a tenth absent."""
        rng = random.Random(seed)
        found = []
        for i in range(count):
            kind = SHARED_KINDS[i % len(SHARED_KINDS)]
            roll = rng.random()
            if roll < 0.1:
                value = {PHONE: "+84888000111", BANK_ACCOUNT: ":555444333222", DOMAIN: "khong-co.vn"}[kind]
            elif roll < 0.55:
                value = rng.choice(self.pooled[kind])
            else:
                value = rng.choice(self.unique[kind])
            if kind == BANK_ACCOUNT and rng.random() < 0.5:
                value = ":" + value.partition(":")[2]  # asked without naming the bank
            found.append((kind, value))
        return found


def _key(kind: str, value: str) -> str:
    return value.partition(":")[2] if kind == BANK_ACCOUNT else value


def _case_rows(n_cases: int, unit_id: int, *, sqlite: bool) -> list[tuple[Any, ...]]:
    now = datetime(2026, 9, 1, tzinfo=UTC)
    stamp: Any = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    return [(i, f"BENCH-26-{i:06d}", unit_id, 2026, i, f"bench-{i}", 100_000 + i % 5000, "parent", "vi", "scam",
             "high", "[]", "new", "{}", True, 1, 0, stamp, stamp) for i in range(1, n_cases + 1)]


async def load(backend: str, url: str, data: Dataset) -> float:
    db = Database(url)
    try:
        unit_id = (await make_tree(db))["ns"].id
    finally:
        await db.dispose()
    started = time.perf_counter()
    if backend == "sqlite":
        connection = sqlite3.connect(make_url(url).database)
        try:
            connection.execute("PRAGMA synchronous=OFF")
            with connection:
                connection.executemany(
                    f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * len(CASE_COLUMNS))})",
                    _case_rows(data.n_cases, unit_id, sqlite=True))
                connection.executemany("INSERT INTO indicators (case_id, kind, value, display) VALUES (?, ?, ?, ?)",
                                       data.indicators)
            connection.execute("ANALYZE")
        finally:
            connection.close()
    else:
        import asyncpg

        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        try:
            await connection.copy_records_to_table("cases", records=_case_rows(data.n_cases, unit_id, sqlite=False),
                                                   columns=list(CASE_COLUMNS))
            await connection.copy_records_to_table("indicators", records=data.indicators,
                                                   columns=["case_id", "kind", "value", "display"])
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
    return time.perf_counter() - started


async def measure(url: str, data: Dataset, queries: list[tuple[str, str]], warmup: int) -> dict[str, Any]:
    db = Database(url)
    timings: dict[str, list[float]] = defaultdict(list)
    sizes: list[int] = []
    wrong = 0
    try:
        async with db.session() as session:
            plan = await _plan(session, db.dialect)
            for kind, value in queries[:warmup]:
                await cases.naming(session, kind, stored_forms(kind, value))
            load = Load()
            for kind, value in queries[warmup:]:
                started = time.perf_counter()
                found = await cases.naming(session, kind, stored_forms(kind, value))
                timings[kind].append(time.perf_counter() - started)
                sizes.append(len(found))
                expected = data.expected.get((kind, _key(kind, value)), set())
                wrong += set(found) != set(sorted(expected, reverse=True)[:500])
            used = load.finish()
    finally:
        await db.dispose()
    every = [t for kind in SHARED_KINDS for t in timings[kind]]
    engine = await _engine_only(url, queries[warmup:])
    return {**latency_ms(every), "by_kind": {kind: latency_ms(timings[kind]) for kind in SHARED_KINDS},
            "engine_only": engine, "load": used,
            "cases_found": {"max": max(sizes), "mean": round(sum(sizes) / len(sizes), 1),
                            "none": sum(1 for s in sizes if s == 0)},
            "wrong_answers": wrong, "plan": plan}


async def _engine_only(url: str, queries: list[tuple[str, str]]) -> dict[str, float]:
    """The same SQL sent by a bare driver outside the event loop's stack (stdlib sqlite3; asyncpg on a connection
    of its own): the database's own share of the time."""
    backend = make_url(url).get_backend_name()
    statements = [cases.naming_sql(backend, kind, stored_forms(kind, value)) for kind, value in queries]
    timings = []
    if backend == "sqlite":
        connection = sqlite3.connect(make_url(url).database)
        try:
            for sql, params in statements:
                started = time.perf_counter()
                connection.execute(sql, params).fetchall()
                timings.append(time.perf_counter() - started)
        finally:
            connection.close()
    else:
        import asyncpg

        pg = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            for sql, params in statements:
                started = time.perf_counter()
                await pg.fetch(sql, *params)
                timings.append(time.perf_counter() - started)
        finally:
            await pg.close()
    return latency_ms(timings)


async def _plan(session: Any, dialect: str) -> str:
    """How the database runs the lookup of a bank account (the widest IN list)."""
    values = stored_forms(BANK_ACCOUNT, ":0123456789")
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    sql, params = cases.naming_sql(dialect, BANK_ACCOUNT, values)
    if dialect == "sqlite":
        rows = await driver.execute_fetchall("EXPLAIN QUERY PLAN " + sql, params)
        return " | ".join(str(row[-1]) for row in rows)
    rows = await driver.fetch("EXPLAIN " + sql, *params)
    return " | ".join(str(row[0]).strip() for row in rows)


async def run(scale: Scale) -> dict[str, Any]:
    n_cases = scale.pick(100_000, 5_000)
    n_queries = scale.pick(3_000, 300)
    warmup = scale.pick(300, 30)
    data = Dataset(n_cases)
    queries = data.queries(n_queries + warmup)
    runs, skipped = [], {}
    for backend in BACKENDS:
        if backend == "postgresql" and (why := await postgres_available()):
            skipped[backend] = why
            continue
        async with database(backend, "b3") as url:
            seconds = await load(backend, url, data)
            result = await measure(url, data, queries, warmup)
        runs.append({"backend": backend, "cases": n_cases, "indicators": len(data.indicators),
                     "load_s": round(seconds, 1), "queries": n_queries, **result})
    targets = {f"p99_{r['backend']}": {"target": f"<= {TARGET_P99_MS} ms", "measured": r["p99_ms"],
                                       "met": r["p99_ms"] <= TARGET_P99_MS} for r in runs}
    return {"runs": runs, "targets": targets, "skipped": skipped}


def render(result: dict[str, Any]) -> str:
    rows = []
    for r in result["runs"]:
        rows.append((r["backend"], "all", r["cases"], r["indicators"], r["queries"], r["p50_ms"], r["p95_ms"],
                     r["p99_ms"], r["cases_found"]["max"], r["wrong_answers"], r["load_s"],
                     r["load"]["foreign_cores"]))
        engine = r["engine_only"]
        rows.append(("", "all, database alone", "", "", engine["samples"], engine["p50_ms"], engine["p95_ms"],
                     engine["p99_ms"], "", "", "", ""))
        for kind, figures in r["by_kind"].items():
            rows.append(("", kind, "", "", figures["samples"], figures["p50_ms"], figures["p95_ms"],
                         figures["p99_ms"], "", "", "", ""))
    text_ = table("B3 indicator lookup: every case naming a phone / bank account / domain",
                  ["db", "kind", "cases", "indicators", "lookups", "p50 ms", "p95 ms", "p99 ms", "most cases found",
                   "wrong", "load s", "other load (cores)"], rows)
    text_ += targets_table("B3 targets", result)
    return text_


async def main(scale: Scale) -> dict[str, Any]:
    return publish(NAME, await run(scale), render)
