"""Answers and reports as text for people: the summary before confirming, receipts, exports.

Channel-agnostic: it returns HTML-safe text (everything the reporter typed is escaped by the
translator or here), so Telegram, a web page or an e-mail can show it as it is.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.drafts import Draft
from bot.i18n import Html, Translator
from bot.intake import IncidentType, Question
from bot.intake.dates import format_when
from bot.intake.flows import ROLE_QUESTION, TYPE_QUESTION, WHEN, applicable_questions
from bot.intake.model import AnswerKind
from bot.text import cut

ANSWER_PREVIEW = 300


def type_label(incident_type: str, i18n: Translator) -> str:
    return i18n.plain(TYPE_QUESTION.choice_label_id(incident_type))


def role_label(role: str, i18n: Translator) -> str:
    return i18n.plain(ROLE_QUESTION.choice_label_id(role))


def money(amount: int) -> str:
    """5.000.000 đ: Vietnamese digit grouping."""
    return f"{amount:,}".replace(",", ".") + " đ"


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    """dd/mm/yyyy HH:MM in the deployment's time zone."""
    return moment.astimezone(tz).strftime("%d/%m/%Y %H:%M")


def answer_text(question: Question, value: Any, i18n: Translator) -> str:
    """A stored answer as plain (unescaped) text in the reader's language."""
    if value is None:
        return i18n.plain("answer-skipped")
    kind = question.kind
    if kind == AnswerKind.SINGLE:
        return i18n.plain(question.choice_label_id(value))
    if kind == AnswerKind.MULTI:
        return ", ".join(i18n.plain(question.choice_label_id(v)) for v in value)
    if kind == AnswerKind.WHEN:
        day = format_when(value)
        period = value.get("period") if isinstance(value, dict) else None
        label = i18n.plain(WHEN.choice_label_id(period)) if period in WHEN.choices else ""
        return f"{label} ({day})" if day and label else day or label
    if kind == AnswerKind.AMOUNT:
        return money(int(value))
    if kind == AnswerKind.BANK_ACCOUNT:
        return ", ".join(" ".join(p for p in (item.get("bank"), item.get("account")) if p) for item in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def answer_lines(incident: IncidentType | str, answers: dict[str, Any], i18n: Translator,
                 limit: int = ANSWER_PREVIEW) -> list[str]:
    """`• Label: answer` for every applicable question that has an answer, long answers shortened."""
    lines = []
    for question in applicable_questions(incident, answers):
        if question.key in answers:
            text = cut(answer_text(question, answers[question.key], i18n), limit)
            lines.append(f"• {i18n.t(question.label)}: {html.escape(text, quote=False)}")
    return lines


def evidence_text(kinds: Iterable[str], i18n: Translator) -> str:
    """"2 ảnh, 1 đường link": counts per kind, in the order first seen."""
    counts: dict[str, int] = {}
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
    if not counts:
        return i18n.plain("evidence-none")
    return ", ".join(i18n.plain(f"evidence-kind-{kind}", count=str(n)) for kind, n in counts.items())


def draft_summary(draft: Draft, i18n: Translator, max_length: int = 4000) -> str:
    """The whole report shown back before confirming, within Telegram's message limit.

    Long answers are shortened (more and more) rather than cutting the HTML, which could split a tag.
    """
    for limit in (ANSWER_PREVIEW, 120, 40):
        text = _draft_summary(draft, i18n, limit)
        if len(text) <= max_length:
            return text
    return text


def _draft_summary(draft: Draft, i18n: Translator, limit: int) -> str:
    identity = (i18n.t("summary-anonymous") if draft.anonymous
                else i18n.t("summary-shared", name=draft.contact_name or "", phone=draft.contact_phone or ""))
    parts = [
        i18n.t("summary-title"),
        i18n.t("summary-school", school=draft.school_name),
        i18n.t("summary-role", role=role_label(draft.role or "other", i18n)),
        i18n.t("summary-type", type=type_label(draft.type or "other", i18n)),
        "",
        *answer_lines(draft.type or "other", draft.answers, i18n, limit),
        "",
        i18n.t("summary-evidence", evidence=evidence_text((e.kind for e in draft.evidence), i18n)),
        identity,
        "",
        i18n.t("summary-check"),
    ]
    return "\n".join(parts)


def advice_block(advice_ids: Iterable[str], i18n: Translator) -> Html:
    return Html("\n\n".join(i18n.t(key) for key in advice_ids))
