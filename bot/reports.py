"""Turning a confirmed draft into a case: exactly once, atomically, with severity and indicators.

The draft id is the case's `submission_key` (unique), so a confirm pressed twice or an update
delivered twice finds the case the first one created instead of making another.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.drafts import Draft
from bot.intake import IncidentType, assess_severity, extract_indicators
from bot.intake.flows import prune_answers
from storage import cases, units
from storage.models import Case, CaseEvent, Evidence, Indicator


@dataclass(frozen=True)
class Submitted:
    case: Case
    created: bool  # False when this draft had already become a case
    evidence: Sequence[Evidence] = ()  # of a case created now (its cards show them)
    indicators: Sequence[Indicator] = ()
    school: units.School | None = None  # of a case created now


class ReportError(Exception):
    """The draft cannot become a case (its school vanished, it is incomplete)."""


def case_code(unit_code: str, year: int, seq: int) -> str:
    """`KA-NS-26-0042`: the school's code, two-digit year, a per-school sequence."""
    return f"{unit_code.upper()}-{year % 100:02d}-{seq:04d}"


async def submit(session: AsyncSession, draft: Draft, reporter_id: int, *, locale: str, now: datetime,
                 tz: ZoneInfo, leak_threshold: int, copy_files: bool = False,
                 ack_window: Callable[[str], timedelta] | None = None) -> Submitted:
    """The case for `draft`, created in the caller's transaction unless this draft already made one.

    `copy_files` (EVIDENCE_DIR set) queues the evidence files for `bot.evidence_copies`, which downloads
    them after this transaction commits. `ack_window` (`Casework.ack_window`): the case is created with its
    deadline for acknowledging, instead of being updated again once routed."""
    existing = await cases.by_submission(session, draft.id)
    if existing is not None:
        return Submitted(existing, created=False)
    if draft.type is None or draft.role is None:
        raise ReportError("the draft has no incident type or role")
    school = await units.school(session, draft.school_id)
    if school is None:
        raise ReportError("the school of this draft no longer exists")
    incident = IncidentType(draft.type)
    answers = prune_answers(incident, draft.answers)
    assessment = assess_severity(incident, answers, leak_threshold=leak_threshold)
    found = extract_indicators(incident, answers, extra_texts=draft.forwarded_texts())
    year = now.astimezone(tz).year
    seq = await cases.next_sequence(session, school.id, year)
    case = Case(
        code=case_code(school.code, year, seq), unit_id=school.id, year=year, seq=seq, submission_key=draft.id,
        reporter_id=reporter_id, reporter_role=draft.role, locale=locale, incident_type=incident.value,
        severity=str(assessment.severity), severity_reasons=list(assessment.reasons), status="new",
        answers=answers, anonymous=draft.anonymous,
        contact_name=None if draft.anonymous else draft.contact_name,
        contact_phone=None if draft.anonymous else draft.contact_phone,
        money_lost=answers.get("amount") if answers.get("money_sent") == "yes" else None,
        created_at=now, updated_at=now,
        ack_due_at=now + ack_window(str(assessment.severity)) if ack_window is not None else None,
    )
    evidence = [Evidence(position=i, **asdict(item), copy_due_at=now if copy_files and item.file_id else None)
                for i, item in enumerate(draft.evidence)]
    indicators = [Indicator(kind=i.kind, value=i.value[:255], display=i.display[:255]) for i in found]
    created = CaseEvent(kind="created", public=True, at=now, actor_role="reporter",
                        data={"severity": case.severity, "evidence": len(evidence)})
    await cases.add(session, case, evidence, indicators, [created])
    return Submitted(case, created=True, evidence=evidence, indicators=indicators, school=school)


async def recent_count(session: AsyncSession, reporter_id: int, now: datetime) -> int:
    """How many reports the person confirmed in the last hour (the abuse limit)."""
    return await cases.count_since(session, reporter_id, now - timedelta(hours=1))
