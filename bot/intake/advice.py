"""Immediate safety advice, shown as soon as the incident type is known and refreshed as answers come in.

A table, like severity: every type has its base advice; rows add advice when an answer calls for it.
Urgent rows (a child in danger, money just transferred) go first, because the first line is the one
people read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .flows import OFFICIAL_ACCOUNTS, prune_answers
from .model import IncidentType
from .predicates import Facts, Predicate, all_of, answered, is_type

BASE_ADVICE: dict[IncidentType, tuple[str, ...]] = {
    IncidentType.SCAM: ("advice-scam",),
    IncidentType.HACKED: ("advice-hacked",),
    IncidentType.HARMFUL: ("advice-harmful",),
    IncidentType.DATA_LEAK: ("advice-data-leak",),
    IncidentType.BULLYING: ("advice-bullying",),
    IncidentType.OTHER: ("advice-other",),
}


@dataclass(frozen=True, slots=True)
class AdviceRule:
    applies: Predicate
    advice: str  # Fluent id
    urgent: bool = False  # shown before the base advice


ADVICE_RULES: tuple[AdviceRule, ...] = (
    AdviceRule(answered("danger", "yes"), "advice-danger", urgent=True),
    AdviceRule(answered("money_sent", "yes"), "advice-scam-bank", urgent=True),
    AdviceRule(
        all_of(is_type(IncidentType.SCAM), answered("asked_for", "otp", "personal_data")), "advice-scam-otp"
    ),
    AdviceRule(answered("intimate", "yes"), "advice-intimate"),
    AdviceRule(answered("threats", "yes"), "advice-threats"),
    AdviceRule(
        all_of(is_type(IncidentType.HACKED), answered("access", "no", "partly")), "advice-hacked-recover"
    ),
    AdviceRule(
        all_of(is_type(IncidentType.HACKED), answered("account", *OFFICIAL_ACCOUNTS)),
        "advice-hacked-official",
    ),
)


def advice_for(incident_type: IncidentType | str, answers: Mapping[str, Any] | None = None) -> list[str]:
    """Fluent ids of the advice to show for a type and the answers so far: urgent rows, then the
    type's base advice, then the other matching rows."""
    kind = IncidentType(incident_type)
    facts = Facts(kind, prune_answers(kind, answers or {}))
    matching = [rule for rule in ADVICE_RULES if rule.applies(facts)]
    ids = [rule.advice for rule in matching if rule.urgent]
    ids += BASE_ADVICE[kind]
    ids += [rule.advice for rule in matching if not rule.urgent]
    return list(dict.fromkeys(ids))


def new_advice(
    incident_type: IncidentType | str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[str]:
    """Advice that the latest answer made relevant (e.g. "danger: yes" → advice-danger), to show at once."""
    shown = set(advice_for(incident_type, before))
    return [advice for advice in advice_for(incident_type, after) if advice not in shown]
