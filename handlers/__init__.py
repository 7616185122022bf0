"""aiogram routers: thin adapters from Telegram updates to the domain services in `bot/`.

Each module exposes `build()`, a fresh router with its handlers registered in match order, so several
dispatchers (tests, benchmarks, instances) never share router objects.
"""

from __future__ import annotations

import bot  # noqa: F401  (installs the deferred loading of aiogram's models first)

# isort: split
from aiogram import Router


def build_router() -> Router:
    """All routers in match order: global commands, the reporter's flows, then the catch-all fallback. The
    root enters only those that may take the event (`handlers.switchboard`)."""
    from handlers import common, errors, evidence, groups, intake, mycases, onboarding, summary, triage
    from handlers.switchboard import Switchboard

    root = Switchboard(name="root")
    root.include_routers(
        errors.build(),
        common.build(),
        groups.build(),
        triage.build(),
        mycases.build(),
        intake.build(),
        evidence.build(),
        summary.build(),
        onboarding.build(),
        common.build_fallback(),
    )
    return root
