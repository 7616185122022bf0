"""Conditions over a report (its type and answers) that the severity and advice tables are written with.

Small named predicates keep the tables readable as sentences: `all_of(is_type(SCAM), answered("money_sent",
"yes"))`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .model import IncidentType

DEFAULT_LEAK_THRESHOLD = 50
"""A data leak about at least this many people is high (the departments' letters: "many students")."""
DEFAULT_LARGE_AMOUNT = 50_000_000
"""Money lost from this amount (VND) on is critical."""


@dataclass(frozen=True, slots=True)
class Facts:
    """What a rule may look at."""

    incident_type: IncidentType
    answers: Mapping[str, Any]
    leak_threshold: int = DEFAULT_LEAK_THRESHOLD
    large_amount: int = DEFAULT_LARGE_AMOUNT


Predicate = Callable[[Facts], bool]


def is_type(*types: IncidentType) -> Predicate:
    return lambda facts: facts.incident_type in types


def answered(key: str, *values: str) -> Predicate:
    """The answer to `key` is one of `values` (for a multi-choice answer: contains one of them)."""

    def check(facts: Facts) -> bool:
        value = facts.answers.get(key)
        if isinstance(value, list):
            return any(item in values for item in value)
        return value in values

    return check


def number_at_least(key: str, threshold: Callable[[Facts], int]) -> Predicate:
    def check(facts: Facts) -> bool:
        value = facts.answers.get(key)
        return isinstance(value, int) and not isinstance(value, bool) and value >= threshold(facts)

    return check


def all_of(*predicates: Predicate) -> Predicate:
    return lambda facts: all(predicate(facts) for predicate in predicates)
