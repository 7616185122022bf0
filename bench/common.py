"""What every benchmark shares: databases to run against, percentiles, tables, JSON results, the machine.

Benchmarks measure; they never assert on time. Each one returns a result dict (written to
`bench/results/<name>.json`) and prints a table.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from tests.databases import pg_execute_async

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Scale:
    """`quick` is a smoke run (seconds per benchmark); the full run is what BENCHMARKS.md reports."""

    quick: bool = False

    def pick(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full


# --- statistics ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max of durations given in seconds, in milliseconds."""
    return {
        "p50_ms": round(percentile(seconds, 50) * 1e3, 3),
        "p95_ms": round(percentile(seconds, 95) * 1e3, 3),
        "p99_ms": round(percentile(seconds, 99) * 1e3, 3),
        "max_ms": round(max(seconds) * 1e3, 3) if seconds else float("nan"),
        "samples": len(seconds),
    }


# --- output ----------------------------------------------------------------------------------------


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (readable in a terminal, pasteable into BENCHMARKS.md)."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    lines = [f"### {title}", "",
             "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |" for row in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def publish(name: str, result: dict[str, Any], render: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """Write a benchmark's JSON and print its tables."""
    write_json(name, result)
    print(render(result), flush=True)
    return result


async def scalar(url: str, statement: Any) -> Any:
    """One value read from the database at `url` (counts after a run), on a connection of its own."""
    from storage.db import Database

    db = Database(url)
    try:
        async with db.session() as session:
            return await session.scalar(statement)
    finally:
        await db.dispose()


def targets_table(title: str, result: dict[str, Any]) -> str:
    """A benchmark's targets (met or MISSED) and the backends it skipped, to go under its own table."""
    rows = [(name, t["target"], t["measured"], verdict(t["met"])) for name, t in result["targets"].items()]
    text = "\n\n" + table(title, ["figure", "target", "measured", ""], rows)
    for backend, why in result.get("skipped", {}).items():
        text += f"\n(skipped {backend}: {why})"
    return text


def write_json(name: str, data: dict[str, Any], folder: Path | None = None) -> Path:
    folder = folder or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    payload = {"benchmark": name, "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
               "machine": machine(), **data}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


_machine: dict[str, Any] | None = None


def machine() -> dict[str, Any]:
    """CPU, cores, memory and versions, as recorded next to every result."""
    global _machine
    if _machine is None:
        cpu = ""
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        memory_gib = None
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
        except OSError:
            pass
        from importlib.metadata import version

        _machine = {
            "cpu": cpu or platform.processor(),
            "cores": os.cpu_count(),
            "memory_gib": memory_gib,
            "os": platform.platform(),
            "python": sys.version.split()[0],
            "packages": {name: version(name) for name in ("aiogram", "sqlalchemy", "aiosqlite", "asyncpg")},
            "sqlite": __import__("sqlite3").sqlite_version,
            "postgresql": _pg_server_version(),
        }
    return _machine


def _pg_server_version() -> str | None:
    psql = shutil.which("psql")
    if not psql:
        return None
    try:
        url = make_url(POSTGRES_URL)
        command = [psql, "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
                   "-d", url.database or "postgres", "-tAc", "show server_version"]
        out = subprocess.run(command, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except Exception:
        return None


# --- databases -------------------------------------------------------------------------------------


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))


async def pg_execute(*statements: str) -> None:
    await pg_execute_async(*statements, url=POSTGRES_URL)


async def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        await pg_execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@asynccontextmanager
async def database(backend: str, label: str, *, migrate: bool = True) -> AsyncIterator[str]:
    """A fresh database (SQLite file or a new PostgreSQL database) migrated to head; removed afterwards."""
    from storage.migrate import upgrade_async

    if backend == "sqlite":
        folder = scratch_dir(label)
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        try:
            if migrate:
                await upgrade_async(url)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    await pg_execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            await upgrade_async(url)
        yield url
    finally:
        await pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process, in MiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def peak_rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")
