"""The case card responders receive: complete, readable, and always within Telegram's limits.

Domain code: it returns HTML text and button rows as plain data (label + packed action string), which
any channel can render. All user text is escaped by the translator or here.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.intake.flows import applicable_questions
from bot.lifecycle import CARD_ACTIONS
from bot.presenting import answer_text, evidence_text, local_time, money, role_label, type_label
from bot.text import cut
from storage.models import Case, Evidence, Indicator
from storage.units import School

CARD_LIMIT = 3900  # below Telegram's 4096, leaving room for the status line edits add
ANSWER_LIMITS = (240, 100, 40)
MORE_CHUNK = 3800
SEVERITY_BADGE = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🟢"}
ACTION_PREFIX = "t"


def action_data(action: str, case_id: int) -> str:
    """Callback data of a card button; `handlers.callbacks.TriageCb` packs the same format."""
    return f"{ACTION_PREFIX}:{action}:{case_id}"


@dataclass(frozen=True)
class CardView:
    case: Case
    school: School
    evidence: Sequence[Evidence]
    indicators: Sequence[Indicator]
    changed_by: str | None = None  # "Lãnh đạo đơn vị Nguyễn Văn A"


def header(view: CardView, i18n: Translator, tz: ZoneInfo) -> list[str]:
    case = view.case
    status = i18n.t(f"card-status-{case.status}")
    if case.status == "closed" and case.outcome:
        status += " — " + i18n.t(f"outcome-{case.outcome.replace('_', '-')}")
    lines = [
        f"{SEVERITY_BADGE.get(case.severity, '')} <b>{i18n.t(f'severity-{case.severity}')}</b> · "
        f"<code>{html.escape(case.code)}</code>",
        i18n.t("card-school", school=view.school.name),
        i18n.t("card-type", type=type_label(case.incident_type, i18n), at=local_time(case.created_at, tz)),
        i18n.t("card-status", status=status),
    ]
    if view.changed_by:
        lines.append(i18n.t("card-changed-by", who=view.changed_by))
    return lines


def body(view: CardView, i18n: Translator, limit: int) -> list[str]:
    case = view.case
    lines = []
    for question in applicable_questions(case.incident_type, case.answers):
        if question.key in case.answers:
            text = cut(answer_text(question, case.answers[question.key], i18n), limit)
            lines.append(f"• {i18n.t(question.label)}: {html.escape(text, quote=False)}")
    if case.money_lost:
        lines.append(i18n.t("card-money", amount=money(case.money_lost)))
    if view.indicators:
        shown = "; ".join(i.display for i in view.indicators[:12])
        lines.append(i18n.t("card-indicators", indicators=cut(shown, limit * 2)))
    lines.append(i18n.t("card-evidence", evidence=evidence_text((e.kind for e in view.evidence), i18n)))
    reporter = role_label(case.reporter_role, i18n)
    if case.anonymous:
        lines.append(i18n.t("card-reporter-anonymous", role=reporter))
    else:
        lines.append(i18n.t("card-reporter", role=reporter, name=case.contact_name or "",
                            phone=case.contact_phone or ""))
    return lines


def render(view: CardView, i18n: Translator, tz: ZoneInfo) -> str:
    """The card, shortening answers more and more until it fits (never cutting through HTML)."""
    top = header(view, i18n, tz)
    for limit in ANSWER_LIMITS:
        text = "\n".join([*top, "", *body(view, i18n, limit)])
        if len(text) <= CARD_LIMIT:
            return text
    return "\n".join([*top, "", i18n.t("card-too-long")])


def buttons(case: Case, i18n: Translator) -> list[list[dict[str, str]]]:
    return [[{"text": i18n.plain(f"btn-triage-{action}"), "data": action_data(action, case.id)} for action in row]
            for row in CARD_ACTIONS.get(case.status, ())]


def full_text(view: CardView, i18n: Translator) -> list[str]:
    """The "show more" view: every answer and forwarded text in full, split into sendable messages."""
    case = view.case
    parts = [f"<code>{html.escape(case.code)}</code>"]
    for question in applicable_questions(case.incident_type, case.answers):
        if question.key in case.answers:
            value = answer_text(question, case.answers[question.key], i18n)
            parts.append(f"<b>{i18n.t(question.label)}</b>\n{html.escape(value, quote=False)}")
    for item in view.evidence:
        if item.text:
            origin = f" ({html.escape(item.origin, quote=False)})" if item.origin else ""
            parts.append(f"<b>{i18n.t('card-evidence-text')}</b>{origin}\n{html.escape(item.text, quote=False)}")
    return _chunks(parts)


def _chunks(parts: list[str]) -> list[str]:
    """Group parts into messages under the limit; a single oversized part is split on plain text."""
    messages, current = [], ""
    for part in parts:
        while len(part) > MORE_CHUNK:
            cut_at = _safe_cut(part, MORE_CHUNK)
            if current:
                messages.append(current)
                current = ""
            messages.append(part[:cut_at])
            part = part[cut_at:]
        if current and len(current) + len(part) + 2 > MORE_CHUNK:
            messages.append(current)
            current = ""
        current = f"{current}\n\n{part}" if current else part
    if current:
        messages.append(current)
    return messages


def _safe_cut(text: str, limit: int) -> int:
    """A cut position that does not split an HTML entity or tag."""
    position = limit
    amp, lt = text.rfind("&", 0, position), text.rfind("<", 0, position)
    if amp > text.rfind(";", 0, position):
        position = amp
    if lt > text.rfind(">", 0, position):
        position = min(position, lt)
    return max(position, 1)
