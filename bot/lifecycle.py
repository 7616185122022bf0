"""The case lifecycle as a table: which action is allowed from which status, and where it leads.

Status changes are applied with a version check (optimistic locking), so when two responders press at
the same moment exactly one wins and the other is told who did it.
"""

from __future__ import annotations

from dataclasses import dataclass

NEW, ACKNOWLEDGED, ESCALATED, CLOSED = "new", "acknowledged", "escalated", "closed"
OPEN_STATUSES = (NEW, ACKNOWLEDGED, ESCALATED)
OUTCOMES = ("resolved", "referred", "duplicate", "false_report", "no_action")


@dataclass(frozen=True)
class Transition:
    action: str
    allowed_from: frozenset[str]
    to: str | None  # None: the status does not change (asking the reporter a question)
    event: str


TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    Transition("ack", frozenset({NEW, ESCALATED}), ACKNOWLEDGED, "acknowledged"),
    Transition("ask", frozenset(OPEN_STATUSES), None, "asked"),
    Transition("police", frozenset(OPEN_STATUSES), ESCALATED, "escalated_police"),
    Transition("district", frozenset(OPEN_STATUSES), ESCALATED, "escalated_district"),
    Transition("close", frozenset(OPEN_STATUSES), CLOSED, "closed"),
    Transition("reopen", frozenset({CLOSED}), ACKNOWLEDGED, "reopened"),
)}

# Buttons a card shows in each status, row by row (`more` opens the full text; it changes nothing).
CARD_ACTIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    NEW: (("ack", "ask"), ("police", "district"), ("close", "more")),
    ACKNOWLEDGED: (("ask", "close"), ("police", "district"), ("more",)),
    ESCALATED: (("ack", "ask"), ("police", "district"), ("close", "more")),
    CLOSED: (("reopen", "more"),),
}


def allowed(action: str, status: str) -> bool:
    transition = TRANSITIONS.get(action)
    return transition is not None and status in transition.allowed_from
