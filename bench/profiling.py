"""Where the time goes: py-spy attached to the benchmark's own process for the timed section only,
and a machine-load monitor, so that figures taken while something else ran on the machine say so.

`python -m bench --profile` wraps each timed section in `spy(name)`; the raw samples land in
`bench/results/<name>.pyspy.txt` and a summary (self time by package and by function, and inclusive time
of the project's own functions) in `bench/results/<name>.profile.txt`.

py-spy pauses the process for each sample. Read without pausing (`--nonblocking`, as until 2026-12-08),
the frames of a running coroutine chain come back torn: in B1 only 40% of the event loop's samples reached
`run_until_complete`, the shallow ones (parsing getUpdates) far more often than a handler's deep ones, so a
summary of those alone put getUpdates at 20% of the loop instead of 8%. Paused, 80% do; the others are the
ORM's work inside SQLAlchemy's greenlets, whose stacks begin at the greenlet (`Session.get`,
`Session.flush`): they are the loop thread's too and are counted, under their own heading.
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import RESULTS

PACKAGES = ("sqlalchemy", "aiosqlite", "asyncpg", "aiogram", "pydantic", "fluent", "babel", "greenlet", "aiohttp",
            "/bot/", "/handlers/", "/storage/", "/bench/", "/tests/", "asyncio", "json", "re/", "sqlite3",
            "threading", "typing", "dataclasses", "enum", "datetime", "selectors")


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


@contextmanager
def spy(name: str, *, enabled: bool = True, rate: int = 250, folder: Path | None = None) -> Iterator[Path | None]:
    """Sample this process with py-spy while the block runs (no-op when py-spy is missing or disabled)."""
    tool = py_spy() if enabled else None
    if tool is None:
        yield None
        return
    folder = folder or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    raw = folder / f"{name}.pyspy.txt"
    process = subprocess.Popen([tool, "record", "--pid", str(os.getpid()), "--rate", str(rate), "--format", "raw",
                                "--output", str(raw)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # let it attach
    try:
        yield raw
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        if raw.exists():
            (folder / f"{name}.profile.txt").write_text(summarize(raw))


def _package(frame: str) -> str:
    for key in PACKAGES:
        if key in frame:
            return key.strip("/")
    location = frame.rsplit("(", 1)[-1]
    return location.split(":")[0]


def summarize(raw: Path, *, top: int = 40) -> str:
    """Self time by package and function, and inclusive time of project functions, from py-spy raw output:
    every stack of the event loop's thread, those of the ORM's greenlets included (other threads begin at
    `Thread._bootstrap`)."""
    by_package: collections.Counter[str] = collections.Counter()
    by_function: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    greenlets: collections.Counter[str] = collections.Counter()
    total = idle = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or stack.startswith("Thread._bootstrap"):
            continue
        samples = int(count)
        frames = stack.split(";")
        leaf = frames[-1]
        if "select (selectors.py" in leaf or "EpollSelector.select" in leaf:
            idle += samples
            continue
        total += samples
        by_package[_package(leaf)] += samples
        by_function[leaf] += samples
        if "(sqlalchemy/" in frames[0]:  # a greenlet's stack begins inside SQLAlchemy, not at the loop
            greenlets[frames[0]] += samples
        for frame in set(frames):
            if any(key in frame for key in ("(bot/", "(handlers/", "(storage/", "/bot/", "/handlers/", "/storage/")):
                inclusive[frame] += samples
    if not total:
        return "no samples\n"
    lines = [f"samples on the event loop's thread: {total} busy, {idle} waiting in epoll", "",
             "self time by package:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in by_package.most_common(20)]
    lines += ["", "self time by function:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in by_function.most_common(top)]
    lines += ["", "inclusive time of the project's own functions (the ORM's greenlets not included):"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    orm = sum(greenlets.values())
    lines += ["", f"the ORM inside SQLAlchemy's greenlets (their callers cut off): {orm / total:.1%}"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in greenlets.most_common(10)]
    return "\n".join(lines) + "\n"


# --- machine load ------------------------------------------------------------------------------------


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _own_ticks() -> int:
    """CPU jiffies used by this process and its waited-for children."""
    times = os.times()
    return int((times.user + times.system + times.children_user + times.children_system) * os.sysconf("SC_CLK_TCK"))


def _process_ticks() -> dict[int, tuple[str, int, int]]:
    """pid -> (command, parent pid, user+system jiffies) of every process on the machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        command = raw[raw.index("(") + 1:raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2:].split()
        found[int(entry.name)] = (command, int(rest[1]), int(rest[11]) + int(rest[12]))
    return found


def _ours(pid: int, table: dict[int, tuple[str, int, int]]) -> bool:
    """This process, or one it started (at any depth)."""
    me = os.getpid()
    seen = 0
    while pid > 1 and seen < 64:
        if pid == me:
            return True
        pid = table.get(pid, ("", 0, 0))[1]
        seen += 1
    return False


@dataclass
class Load:
    """CPU used on the machine during a measurement, split into ours and everyone else's (in cores)."""

    started: float = field(default_factory=time.perf_counter)
    _busy: int = 0
    _total: int = 0
    _own: int = 0
    _own_thread: float = 0.0

    _processes: dict[int, tuple[str, int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._processes = _process_ticks()
        self._busy, self._total = _cpu_ticks()
        self._own = _own_ticks()
        self._own_thread = time.thread_time()

    def finish(self) -> dict[str, float]:
        """Cores busy on the whole machine, in this process tree, in PostgreSQL (working for us, mostly),
        and in everything else (`foreign_cores`: other people's test runs, say)."""
        busy, total = _cpu_ticks()
        processes = _process_ticks()
        postgres = foreign = 0
        for pid, (command, _, ticks) in processes.items():
            used = ticks - self._processes.get(pid, (command, 0, 0))[2]
            if used <= 0 or _ours(pid, processes):
                continue
            if command.startswith("postgres"):
                postgres += used
            else:
                foreign += used
        hz = os.sysconf("SC_CLK_TCK")
        own = _own_ticks() - self._own
        wall = time.perf_counter() - self.started
        cores = os.cpu_count() or 1
        machine_busy = (busy - self._busy) / max(1, total - self._total) * cores
        own_cores = own / os.sysconf("SC_CLK_TCK") / wall if wall else 0.0
        return {
            "machine_busy_cores": round(machine_busy, 2),
            "own_process_cores": round(own_cores, 2),
            "postgres_cores": round(postgres / hz / wall, 2) if wall else 0.0,
            "foreign_cores": round(foreign / hz / wall, 2) if wall else 0.0,
            "loop_thread_cpu_s": round(time.thread_time() - self._own_thread, 3),
            "wall_s": round(wall, 3),
        }
