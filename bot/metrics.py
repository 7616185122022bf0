"""Prometheus metrics for /metrics, in a registry of the App's own (never the global default registry),
so several apps in one process (tests) do not collide.

Counters and the latency histogram are updated as updates are handled; the delivery counters are read
from the DeliveryWorker's stats; the gauges about stored things (outbox backlog and its oldest row,
cases by status, inbox rows by status) are computed from the database at scrape time.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from bot import lifecycle
from bot.health import describe
from storage import inbox, outbox
from storage.db import Database
from storage.models import Case, utcnow

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UPDATE_RESULTS = ("ok", "error", "parked", "duplicate", "deferred")
# DeliveryWorker.stats keys → the `result` label of bot_deliveries_total.
DELIVERY_RESULTS = {"sent": "sent", "retried": "retried", "flood_waits": "flood_wait", "failed": "failed",
                    "recipient_gone": "recipient_gone", "uncertain_resent": "resent_after_crash"}
CASE_STATUSES = (lifecycle.NEW, lifecycle.ACKNOWLEDGED, lifecycle.ESCALATED, lifecycle.CLOSED)


class DeliveryCollector(Collector):
    """bot_deliveries_total{result}: what the delivery worker has done since start (its own tally)."""

    def __init__(self, stats: Tally[str]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("bot_deliveries", "Outbox deliveries attempted by this instance, by result",
                                     labels=["result"])
        for key, result in DELIVERY_RESULTS.items():
            family.add_metric([result], float(self.stats.get(key, 0)))
        yield family


class Metrics:
    def __init__(self, delivery_stats: Tally[str] | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("bot_updates_handled", "Updates taken from the inbox, by result: ok, error "
                               "(an attempt failed, retried), parked (gave up), duplicate (redelivery ignored), "
                               "deferred (a service was down; retried later)", ["result"], registry=r)
        for result in UPDATE_RESULTS:
            self.updates.labels(result)
        self.latency = Histogram("bot_handler_seconds", "Time to handle one update (one attempt)", registry=r,
                                 buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.outbox_backlog = Gauge("bot_outbox_backlog", "Notifications waiting to be delivered", registry=r)
        self.outbox_oldest = Gauge("bot_outbox_oldest_pending_age_seconds",
                                   "Age of the oldest notification still waiting (0 when none)", registry=r)
        self.outbox_rows = Gauge("bot_outbox_messages", "Outbox rows by status", ["status"], registry=r)
        self.cases = Gauge("bot_cases", "Cases by status", ["status"], registry=r)
        self.inbox_rows = Gauge("bot_inbox_updates", "Inbox rows by status", ["status"], registry=r)
        self.inbox_oldest = Gauge("bot_inbox_oldest_pending_age_seconds",
                                  "Age of the oldest update not handled yet (0 when none)", registry=r)
        self.up = Gauge("bot_dependency_up", "Whether a service answered at the last scrape (1) or not (0)",
                        ["dependency"], registry=r)
        if delivery_stats is not None:
            r.register(DeliveryCollector(delivery_stats))

    # --- fed by the update processor ------------------------------------------------------------------

    def handled(self, result: str) -> None:
        self.updates.labels(result).inc()

    def handler_time(self, seconds: float) -> None:
        self.latency.observe(seconds)

    # --- scrape ---------------------------------------------------------------------------------------

    async def refresh(self, db: Database, now: datetime | None = None) -> None:
        """Recompute the gauges from the database; on failure they keep their last values."""
        now = now or utcnow()
        try:
            async with db.session() as session:
                backlog, oldest = await outbox.backlog(session)
                by_status = await outbox.counts(session)
                inbox_counts = await inbox.counts(session)
                oldest_update = await inbox.oldest_pending(session)
                cases = dict((await session.execute(select(Case.status, func.count()).group_by(Case.status))).all())
        except Exception as exc:
            self.up.labels("database").set(0)
            log.warning("metrics: database unavailable (%s)", describe(exc))
            return
        self.up.labels("database").set(1)
        self.outbox_backlog.set(backlog)
        self.outbox_oldest.set(_age(oldest, now))
        for status, count in by_status.items():
            self.outbox_rows.labels(status).set(count)
        for status in (*CASE_STATUSES, *(s for s in cases if s not in CASE_STATUSES)):
            self.cases.labels(status).set(int(cases.get(status, 0)))
        for status, count in inbox_counts.items():
            self.inbox_rows.labels(status).set(count)
        self.inbox_oldest.set(_age(oldest_update, now))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _age(then: datetime | None, now: datetime) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:
        from datetime import UTC

        then = then.replace(tzinfo=UTC)
    return max(0.0, (now - then).total_seconds())
