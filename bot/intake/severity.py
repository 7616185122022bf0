"""How serious a report is, by rules kept in ONE table: the highest matching rule wins.

Severity decides who is woken up (police for money lost or a child in danger, the district for
hacked official channels), so the rules must be readable by a school leader: each row says when it
applies, the severity it gives and the Fluent id of the reason shown on the case card.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .flows import OFFICIAL_ACCOUNTS, prune_answers
from .model import IncidentType, Severity
from .predicates import (
    DEFAULT_LARGE_AMOUNT,
    DEFAULT_LEAK_THRESHOLD,
    Facts,
    Predicate,
    all_of,
    answered,
    is_type,
    number_at_least,
)


@dataclass(frozen=True, slots=True)
class Rule:
    applies: Predicate
    severity: Severity
    reason: str  # Fluent id


@dataclass(frozen=True, slots=True)
class Assessment:
    severity: Severity  # a str: "low", "medium", "high" or "critical"
    reasons: list[str]  # Fluent ids of the matched rules, most severe first

    @property
    def severity_id(self) -> str:
        """Fluent id of the severity's name (`severity-critical`)."""
        return f"severity-{self.severity}"


_LARGE = number_at_least("amount", lambda facts: facts.large_amount)
_MANY_PEOPLE = number_at_least("people_count", lambda facts: facts.leak_threshold)

# --- THE table --------------------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    # a child
    Rule(answered("danger", "yes"), Severity.CRITICAL, "reason-child-danger"),
    Rule(
        all_of(is_type(IncidentType.BULLYING), answered("intimate", "yes")),
        Severity.CRITICAL,
        "reason-intimate-images",
    ),
    Rule(answered("threats", "yes"), Severity.HIGH, "reason-threats"),
    Rule(is_type(IncidentType.BULLYING), Severity.MEDIUM, "reason-bullying"),
    # money
    Rule(all_of(answered("money_sent", "yes"), _LARGE), Severity.CRITICAL, "reason-money-large"),
    Rule(answered("money_sent", "yes"), Severity.HIGH, "reason-money-lost"),
    Rule(is_type(IncidentType.SCAM), Severity.MEDIUM, "reason-scam"),
    # accounts
    Rule(
        all_of(is_type(IncidentType.HACKED), answered("account", *OFFICIAL_ACCOUNTS)),
        Severity.HIGH,
        "reason-official-channel",
    ),
    Rule(is_type(IncidentType.HACKED), Severity.MEDIUM, "reason-account-hacked"),
    # personal data
    Rule(all_of(is_type(IncidentType.DATA_LEAK), _MANY_PEOPLE), Severity.HIGH, "reason-leak-many"),
    Rule(is_type(IncidentType.DATA_LEAK), Severity.MEDIUM, "reason-data-leak"),
    # harmful content
    Rule(all_of(is_type(IncidentType.HARMFUL), answered("spread", "viral")), Severity.HIGH, "reason-viral"),
    Rule(is_type(IncidentType.HARMFUL), Severity.MEDIUM, "reason-harmful"),
    # anything else
    Rule(is_type(IncidentType.OTHER), Severity.LOW, "reason-other"),
)


def assess_severity(
    incident_type: IncidentType | str,
    answers: Mapping[str, Any],
    *,
    leak_threshold: int = DEFAULT_LEAK_THRESHOLD,
    large_amount: int = DEFAULT_LARGE_AMOUNT,
    rules: tuple[Rule, ...] = RULES,
) -> Assessment:
    """The maximum severity of the matching rules and their reasons (most severe first, then table
    order). With no matching rule: low, no reasons.

    Answers to questions that no longer apply (an amount left after switching "money sent" to "no")
    are ignored.
    """
    kind = IncidentType(incident_type)
    facts = Facts(kind, prune_answers(kind, answers), leak_threshold, large_amount)
    matched = [rule for rule in rules if rule.applies(facts)]
    if not matched:
        return Assessment(Severity.LOW, [])
    matched.sort(key=lambda rule: -rule.severity.rank)  # stable: table order within a level
    return Assessment(matched[0].severity, list(dict.fromkeys(rule.reason for rule in matched)))
