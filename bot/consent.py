"""Consent under the Law on Personal Data Protection (91/2025/QH15, Decree 356/2025).

Nothing about a reporter is stored until they press "agree"; withdrawing deletes their profile and
conversation. `CONSENT_VERSION` changes whenever the notice's text changes materially, so we can tell
who agreed to which text.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage import cases, reporters
from storage.models import Reporter, utcnow

CONSENT_VERSION = "2026-01"


async def has_consented(session: AsyncSession, user_id: int) -> bool:
    reporter = await reporters.get(session, user_id)
    return reporter is not None and reporter.consent_version is not None


async def agree(
    session: AsyncSession, user_id: int, *, locale: str | None, unit_id: int | None
) -> Reporter:
    reporter = await reporters.upsert(session, user_id)
    reporter.consent_version, reporter.consent_at = CONSENT_VERSION, utcnow()
    if locale:
        reporter.locale = locale
    if unit_id is not None:
        reporter.unit_id = unit_id
    await session.flush()
    return reporter


async def withdraw(session: AsyncSession, user_id: int) -> None:
    """Forget the reporter's profile; cases they already filed keep no link to their identity."""
    await cases.forget_reporter(session, user_id)
    await reporters.delete_profile(session, user_id)
