"""How answers are shown back (the summary before confirming, the case card): Fluent ids to translate
plus literal text, so that any channel renders them in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .banks import bank_name
from .dates import format_when
from .flows import applicable_questions
from .model import AnswerKind, IncidentType, Question
from .money import format_amount
from .phones import format_phone


@dataclass(frozen=True, slots=True)
class AnswerDisplay:
    """`ids`: Fluent ids to translate and join with ", "; `text`: literal text to append (user text:
    escape it for HTML). `skipped`: the question was skipped (show a dash or "not given")."""

    ids: tuple[str, ...] = ()
    text: str | None = None
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class SummaryItem:
    key: str
    label: str  # Fluent id of the short label (label-<key>)
    prompt: str  # Fluent id of the question, for an "edit" screen
    display: AnswerDisplay


def _bank_accounts(value: list[Any]) -> str:
    parts = []
    for item in value:
        if isinstance(item, dict):
            code = item.get("bank")
            parts.append(f"{bank_name(code)} {item.get('account')}" if code else str(item.get("account")))
    return "; ".join(parts)


def describe_answer(question: Question, value: Any) -> AnswerDisplay:
    """The display of one stored answer."""
    if value is None:
        return AnswerDisplay(skipped=True)
    kind = question.kind
    if kind == AnswerKind.SINGLE:
        return AnswerDisplay(ids=(question.choice_label_id(value),))
    if kind == AnswerKind.MULTI:
        return AnswerDisplay(ids=tuple(question.choice_label_id(item) for item in value))
    if kind == AnswerKind.WHEN:
        period = value.get("period") if isinstance(value, dict) else None
        ids = (question.choice_label_id(period),) if period in question.choices else ()
        return AnswerDisplay(ids=ids, text=format_when(value))
    if kind == AnswerKind.PHONES:
        return AnswerDisplay(text=", ".join(format_phone(phone) for phone in value))
    if kind == AnswerKind.URLS:
        return AnswerDisplay(text="\n".join(value))
    if kind == AnswerKind.AMOUNT:
        return AnswerDisplay(text=format_amount(value))
    if kind == AnswerKind.BANK_ACCOUNT:
        return AnswerDisplay(text=_bank_accounts(value))
    return AnswerDisplay(text=str(value))


def summary_items(incident_type: IncidentType | str, answers: Mapping[str, Any]) -> list[SummaryItem]:
    """One line per applicable question that was answered or skipped, in order."""
    return [
        SummaryItem(
            question.key, question.label, question.prompt, describe_answer(question, answers[question.key])
        )
        for question in applicable_questions(incident_type, answers)
        if question.key in answers
    ]
