"""tests/fakebot's Bot API emulator in a process of its own, so it does not share the benchmark's CPU.

    python -m bench.fake_process --token T --users 1000000:1010000 --rate 500

prints one JSON line `{"base_url": ...}` when serving, then answers commands on stdin, one per line:
`stats` prints a JSON line of delivery statistics for the registered users; `reset` clears the statistics;
end of input stops the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import deque
from typing import Any

from tests.fakebot import FakeTelegram


def delivery_stats(fake: FakeTelegram, first: int, last: int, limit: int | None) -> dict[str, Any]:
    """What reached which chat, 429s, and the rate at which messages were accepted."""
    per_chat = fake.stats.sends_per_chat
    counts = [per_chat.get(chat, 0) for chat in range(first, last)]
    accepted = sorted(call.started_at for call in fake.calls if call.method == "sendMessage" and call.status == 200)
    busiest = 0
    window: deque[float] = deque()
    for stamp in accepted:
        window.append(stamp)
        while window[0] <= stamp - 1.0:
            window.popleft()
        busiest = max(busiest, len(window))
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    return {
        "chats": len(counts),
        "delivered_once": sum(1 for c in counts if c == 1),
        "lost": sum(1 for c in counts if c == 0),
        "duplicates": sum(c - 1 for c in counts if c > 1),
        "send_requests": fake.stats.requests.get("sendMessage", 0),
        "answered_429": fake.stats.too_many_requests,
        "accepted": len(accepted),
        "accepted_span_s": round(span, 3),
        # messages accepted per second, first to last: (n - 1) intervals over the span
        "accepted_rate": round((len(accepted) - 1) / span, 2) if span else None,
        "busiest_second": busiest,
        "limit_per_s": limit,
    }


async def serve(token: str, first: int, last: int, rate: int | None) -> None:
    async with FakeTelegram(token=token, bot_username="school_safety_bot") as fake:
        for chat in range(first, last):
            fake.user(chat, started=True)
        if rate:
            fake.rate_limit(per_second=rate)
        print(json.dumps({"base_url": fake.base_url}), flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            command = line.strip()
            if not line:
                return
            if command == "stats":
                print(json.dumps(delivery_stats(fake, first, last, rate)), flush=True)
            elif command == "reset":
                fake.stats.reset()
                fake.calls.clear()
                print(json.dumps({"ok": True}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True)
    parser.add_argument("--users", required=True, help="first:last (last excluded)")
    parser.add_argument("--rate", type=int, default=0)
    args = parser.parse_args()
    first, last = (int(x) for x in args.users.split(":"))
    asyncio.run(serve(args.token, first, last, args.rate or None))


if __name__ == "__main__":
    main()
