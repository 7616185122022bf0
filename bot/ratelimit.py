"""A sliding-window limiter for flood control, independent of any channel.

In-process by design: flood control protects this process's handlers; the per-hour report limit,
which must hold across restarts and instances, is counted in the database instead.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class SlidingWindow:
    limit: int
    window: float
    clock: Callable[[], float] = time.monotonic
    _hits: dict[int, deque[float]] = field(default_factory=dict)
    _warned: dict[int, float] = field(default_factory=dict)
    _next_sweep: float = 0.0

    def hit(self, key: int) -> bool:
        """Record one event for `key`; False when it is over the limit."""
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if now >= self._next_sweep:  # once a window: memory for the people active in it, not all ever seen
            self._next_sweep = now + self.window
            self._forget_idle(now)
        return True

    def should_warn(self, key: int) -> bool:
        """Warn once per window, not on every dropped message."""
        now = self.clock()
        if now - self._warned.get(key, -self.window) < self.window:
            return False
        self._warned[key] = now
        return True

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]:
            del self._hits[key]
        for key in [k for k, warned in self._warned.items() if warned <= now - self.window]:
            del self._warned[key]
