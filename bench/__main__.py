"""`python -m bench`: run the benchmarks, print their tables, write bench/results/<name>.json.

    .venv/bin/python -m bench                 # all four, full size (11–17 minutes on 2 cores)
    .venv/bin/python -m bench --quick         # a smoke run at toy sizes (about a minute)
    .venv/bin/python -m bench --only B1,B3    # a selection
    .venv/bin/python -m bench --profile       # also py-spy profiles of B1's timed sections (bench/results/)

PostgreSQL runs need BENCH_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/test, whose
server lets us CREATE DATABASE); without a server they are skipped and the table says so. See BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench import b1_intake, b2_delivery, b3_indicators, b4_footprint
from bench.common import RESULTS, Scale, machine, write_json

BENCHMARKS: dict[str, tuple[str, Callable[..., Awaitable[dict[str, Any]]]]] = {
    "B1": ("intake throughput and latency", b1_intake.main),
    "B2": ("delivery rate under a global limit", b2_delivery.main),
    "B3": ("indicator lookup", b3_indicators.main),
    "B4": ("footprint: memory and start-up", b4_footprint.main),
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="toy sizes: checks the benchmarks run, measures little")
    parser.add_argument("--only", default="", help="comma-separated selection, e.g. B1,B3")
    parser.add_argument("--profile", action="store_true", help="record py-spy profiles of B1's timed sections")
    args = parser.parse_args(argv)
    chosen = [name.strip().upper() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    args.chosen = chosen
    return args


async def run(args: argparse.Namespace) -> dict[str, Any]:
    scale = Scale(quick=args.quick)
    summary: dict[str, Any] = {"quick": args.quick, "benchmarks": {}}
    print(f"machine: {json.dumps(machine())}\n", flush=True)
    for name in args.chosen:
        title, main = BENCHMARKS[name]
        print(f"== {name}: {title}{' (quick)' if args.quick else ''}", flush=True)
        started = time.perf_counter()
        result = await (main(scale, args.profile) if name == "B1" else main(scale))
        seconds = round(time.perf_counter() - started, 1)
        summary["benchmarks"][name] = {"seconds": seconds, "targets": result.get("targets", {})}
        print(f"({name} took {seconds} s)\n", flush=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    summary = asyncio.run(run(args))
    if set(args.chosen) == set(BENCHMARKS):
        write_json("summary", summary)
    missed = [f"{name} {figure}" for name, part in summary["benchmarks"].items()
              for figure, target in part["targets"].items() if not target["met"]]
    print("targets missed: " + (", ".join(missed) if missed else "none"))
    print(f"results: {RESULTS}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
