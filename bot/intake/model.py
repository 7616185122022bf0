"""The vocabulary of the intake: incident types, roles, answer kinds, questions and conditions.

Everything here is plain data so that any channel (Telegram today, a web form or Zalo tomorrow) can
walk the same questions. A question knows its Fluent ids; the channel only translates them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Answers = Mapping[str, Any]
"""Answers so far: question key → JSON-serialisable value (None when the question was skipped)."""

MAX_KEY_BYTES = 16
"""Question and choice keys travel in Telegram callback data (64 bytes in all), so keep them short."""

DEFAULT_MAX_LENGTH = 1000


class IncidentType(StrEnum):
    HACKED = "hacked"
    SCAM = "scam"
    HARMFUL = "harmful"
    DATA_LEAK = "data_leak"
    BULLYING = "bullying"
    OTHER = "other"


class Role(StrEnum):
    PARENT = "parent"
    STAFF = "staff"
    STUDENT = "student"
    OTHER = "other"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Order for taking the maximum: low < medium < high < critical."""
        return _SEVERITY_ORDER.index(self)

    @property
    def message_id(self) -> str:
        return f"severity-{self.value}"


_SEVERITY_ORDER = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


class AnswerKind(StrEnum):
    """How an answer is entered and validated; the channel picks the widget from this."""

    SINGLE = "single"  # one button; typed text is matched against labels
    MULTI = "multi"  # several buttons, then "done"; typed "ten, sdt, anh" also works
    TEXT = "text"  # free text up to Question.max_length
    PHONES = "phones"  # one or more Vietnamese phone numbers → E.164 list
    URLS = "urls"  # one or more links → normalised URL list
    AMOUNT = "amount"  # money in VND → int
    WHEN = "when"  # buttons today/yesterday/this_week/earlier or a typed date → dict
    INTEGER = "integer"  # a count → int
    CLASS = "class"  # a school class such as "10A1" → str
    BANK_ACCOUNT = "bank"  # account number(s) and bank → list of {"bank", "account"}


CHOICE_KINDS = frozenset({AnswerKind.SINGLE, AnswerKind.MULTI, AnswerKind.WHEN})


def slug(key: str) -> str:
    """Fluent-friendly form of a key: `data_leak` → `data-leak`."""
    return key.replace("_", "-")


@dataclass(frozen=True, slots=True)
class Condition:
    """ "Ask this question only if the answer to `key` is one of `any_of`" (for a multi-choice answer:
    if any selected value is in `any_of`). A skipped or missing answer never satisfies a condition."""

    key: str
    any_of: tuple[str, ...]

    def holds(self, answers: Answers) -> bool:
        value = answers.get(self.key)
        if isinstance(value, str):
            return value in self.any_of
        if isinstance(value, list | tuple):
            return any(item in self.any_of for item in value)
        return False


def when(key: str, *values: str) -> Condition:
    """Shorthand used by the flow tables: `when("money_sent", "yes")`."""
    return Condition(key, tuple(values))


@dataclass(frozen=True, slots=True)
class Question:
    """One step of the intake.

    `prompt` is the Fluent id of the question text (default `q-<key>`), `label` the short Fluent id used
    in the summary and the case card (default `label-<key>`), and each choice is shown with the Fluent
    id `<choice_prefix>-<choice>` (default prefix `choice-<key>`; questions sharing a set of answers
    such as yes/no share a prefix). `condition` holds only if every Condition holds.
    """

    key: str
    kind: AnswerKind
    choices: tuple[str, ...] = ()
    optional: bool = False
    condition: tuple[Condition, ...] = ()
    max_length: int = DEFAULT_MAX_LENGTH
    min_value: int = 1
    max_value: int = 10_000_000
    prompt: str = ""
    label: str = ""
    choice_prefix: str = ""
    scan_indicators: bool = True
    """Whether free text of this answer is searched for indicators: not for the victim's own details,
    whose phone number must never look like a "reported" scammer's number."""

    def __post_init__(self) -> None:
        if len(self.key.encode()) > MAX_KEY_BYTES or not self.key.isascii():
            raise ValueError(f"question key too long or not ASCII: {self.key!r}")
        for choice in self.choices:
            if len(choice.encode()) > MAX_KEY_BYTES or not choice.isascii():
                raise ValueError(f"choice key too long or not ASCII: {choice!r}")
        if self.kind in (AnswerKind.SINGLE, AnswerKind.MULTI) and not self.choices:
            raise ValueError(f"choice question without choices: {self.key!r}")
        if not self.prompt:
            object.__setattr__(self, "prompt", f"q-{slug(self.key)}")
        if not self.label:
            object.__setattr__(self, "label", f"label-{slug(self.key)}")
        if not self.choice_prefix:
            object.__setattr__(self, "choice_prefix", f"choice-{slug(self.key)}")

    @property
    def has_choices(self) -> bool:
        return bool(self.choices)

    def applies(self, answers: Answers) -> bool:
        """Whether the question is asked, given the answers so far (all conditions must hold)."""
        return all(condition.holds(answers) for condition in self.condition)

    def choice_label_id(self, choice: str) -> str:
        """Fluent id of the button label for `choice`."""
        return f"{self.choice_prefix}-{slug(choice)}"

    def choice_label_ids(self) -> dict[str, str]:
        """Choice key → Fluent id of its label, in display order."""
        return {choice: self.choice_label_id(choice) for choice in self.choices}


@dataclass(frozen=True, slots=True)
class Parsed:
    """The outcome of validating one answer: a normalised JSON-serialisable value, or an error.

    `error` is a Fluent id (err-phone, err-amount, …) and `args` its variables, as strings so Fluent
    never reformats them.
    """

    ok: bool
    value: Any = None
    error: str | None = None
    args: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def success(cls, value: Any) -> Parsed:
        return cls(True, value)

    @classmethod
    def failure(cls, error: str, **args: object) -> Parsed:
        return cls(False, None, error, {name: str(value) for name, value in args.items()})
