"""Who receives a case, and why: the routing rules as ONE table, and a pure function over a directory snapshot.

No Telegram, no SQL. `storage.routing.load_directory` takes the snapshot (the case's unit and its ancestors,
their active members and bound responder groups); `route` reads the RULES below and answers with recipients
in delivery order, each carrying the reasons it was chosen (short ASCII ids, `route-<id>` in Fluent).

The rules, as a school leader would read them:

- the school's leaders, always;
- the nearest police liaison up the tree (the school itself, then its district, then the province) when money
  was lost, when there are threats or extortion, intimate images of a minor, or a child in danger;
- the nearest district or province officer (searched from the school's parent upwards) for hacked official
  channels, data leaks about many people, critical cases, and whenever the school has no reachable responder;
- a case never reaches nobody: when the rules give no reachable chat, the configured admins get it
  ("last_resort"); with no admins configured, any member of the nearest unit up the tree ("nearest_any").

A unit that bound an active responder group receives ONE card in that group instead of one per member.
`exclude` holds chats that refused the bot for good (Telegram 403): they are skipped, and a school left
without a reachable responder brings in the officer, then the last resort.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.intake.flows import OFFICIAL_ACCOUNTS
from bot.intake.predicates import DEFAULT_LEAK_THRESHOLD

# --- vocabulary --------------------------------------------------------------------------------------------

LEADER, POLICE, OFFICER, ADMIN = "leader", "police", "officer", "admin"
ROLES = (LEADER, POLICE, OFFICER, ADMIN)

MEMBER, GROUP, ADMIN_KIND = "member", "group", "admin"
"""Recipient kinds (CaseRecipient.kind): a member's private chat, a unit's bound group, a configured admin."""

# Reasons (Fluent ids `route-<reason with hyphens>`; at most 32 characters, the width of CaseRecipient.reason).
SCHOOL_LEADER = "school_leader"
POLICE_MONEY_LOST = "police_money_lost"
POLICE_THREATS = "police_threats"
POLICE_INTIMATE = "police_intimate"
POLICE_DANGER = "police_danger"
POLICE_MISSING = "police_missing"
OFFICER_OFFICIAL_CHANNEL = "officer_official_channel"
OFFICER_DATA_LEAK = "officer_data_leak"
OFFICER_CRITICAL = "officer_critical"
OFFICER_NO_RESPONDER = "officer_no_responder"
LAST_RESORT = "last_resort"
NEAREST_ANY = "nearest_any"
OVERDUE_ESCALATION = "overdue_escalation"
ESCALATED_DISTRICT = "escalated_district"
ESCALATED_POLICE = "escalated_police"

REASONS = (
    SCHOOL_LEADER,
    POLICE_MONEY_LOST,
    POLICE_THREATS,
    POLICE_INTIMATE,
    POLICE_DANGER,
    POLICE_MISSING,
    OFFICER_OFFICIAL_CHANNEL,
    OFFICER_DATA_LEAK,
    OFFICER_CRITICAL,
    OFFICER_NO_RESPONDER,
    LAST_RESORT,
    NEAREST_ANY,
    OVERDUE_ESCALATION,
    ESCALATED_DISTRICT,
    ESCALATED_POLICE,
)

# How a routing ended (Routing.outcome).
BY_RULES, NOBODY = "rules", "nobody"


# --- the directory snapshot and the case -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitNode:
    id: int
    parent_id: int | None
    kind: str  # province | district | school


@dataclass(frozen=True, slots=True)
class Directory:
    """What routing may know about the units: normally the case's unit and its ancestors only.

    `members`: ACTIVE members per unit as (user_id, role), in a stable order (a private chat id is the user id).
    `groups`: ACTIVE bound responder groups per unit as (chat_id, is_forum).
    """

    units: Mapping[int, UnitNode]
    members: Mapping[int, Sequence[tuple[int, str]]] = field(default_factory=dict)
    groups: Mapping[int, tuple[int, bool]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        units: Iterable[tuple[int, int | None, str]],
        members: Iterable[tuple[int, int, str]] = (),
        groups: Iterable[tuple[int, int, bool]] = (),
    ) -> Directory:
        """From rows: units (id, parent_id, kind), members (unit_id, user_id, role), groups (unit_id, chat_id,
        is_forum). Only active members and groups should be given."""
        by_unit: dict[int, list[tuple[int, str]]] = {}
        for unit_id, user_id, role in members:
            by_unit.setdefault(unit_id, []).append((user_id, role))
        return cls(
            units={unit_id: UnitNode(unit_id, parent_id, kind) for unit_id, parent_id, kind in units},
            members={unit_id: tuple(rows) for unit_id, rows in by_unit.items()},
            groups={unit_id: (chat_id, is_forum) for unit_id, chat_id, is_forum in groups},
        )

    def chain(self, unit_id: int) -> tuple[int, ...]:
        """The unit and its ancestors, nearest first (school → district → province). Empty for an unknown unit."""
        chain: list[int] = []
        current: int | None = unit_id
        while current is not None and current in self.units and current not in chain:
            chain.append(current)
            current = self.units[current].parent_id
        return tuple(chain)

    def kind_of(self, unit_id: int | None) -> str | None:
        node = self.units.get(unit_id) if unit_id is not None else None
        return node.kind if node else None


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the rules look at in a case."""

    unit_id: int
    incident_type: str
    severity: str
    money_lost: int | None = None
    answers: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, case: Any) -> CaseFacts:
        """From anything shaped like `storage.models.Case`."""
        return cls(
            unit_id=case.unit_id,
            incident_type=str(case.incident_type),
            severity=str(case.severity),
            money_lost=case.money_lost,
            answers=dict(case.answers or {}),
        )


@dataclass(frozen=True, slots=True)
class Recipient:
    """One chat the case goes to. `reasons[0]` is the reason it was first chosen (the one recorded)."""

    chat_id: int
    kind: str  # member | group | admin
    unit_id: int | None
    role: str | None
    reasons: tuple[str, ...]
    is_forum: bool = False

    @property
    def reason(self) -> str:
        return self.reasons[0]


class Routing(list[Recipient]):
    """The recipients in delivery order, plus how they were found.

    `outcome` is "rules", "last_resort", "nearest_any" or "nobody". `nobody` is the explicit marker that not a
    single reachable chat exists for the case: the caller must log it loudly (the list is then empty).
    """

    def __init__(self, recipients: Iterable[Recipient] = (), outcome: str = BY_RULES) -> None:
        super().__init__(recipients)
        self.outcome = NOBODY if not self else outcome

    @property
    def nobody(self) -> bool:
        return self.outcome == NOBODY

    @property
    def chat_ids(self) -> list[int]:
        return [recipient.chat_id for recipient in self]


# --- conditions the table is written with ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Situation:
    """A case seen by the rules: its facts, the leak threshold, and whether its school can be reached."""

    facts: CaseFacts
    leak_threshold: int
    school_reachable: bool


Condition = Callable[[Situation], bool]


def always(_: Situation) -> bool:
    return True


def answered(key: str, *values: str) -> Condition:
    """The answer to `key` is one of `values` (for a multi-choice answer: contains one of them)."""

    def check(situation: Situation) -> bool:
        value = situation.facts.answers.get(key)
        if isinstance(value, list | tuple):
            return any(item in values for item in value)
        return value in values

    return check


def is_type(*types: str) -> Condition:
    return lambda situation: situation.facts.incident_type in types


def severity_is(*levels: str) -> Condition:
    return lambda situation: situation.facts.severity in levels


def all_of(*conditions: Condition) -> Condition:
    return lambda situation: all(condition(situation) for condition in conditions)


def any_of(*conditions: Condition) -> Condition:
    return lambda situation: any(condition(situation) for condition in conditions)


def _money_recorded(situation: Situation) -> bool:
    return (situation.facts.money_lost or 0) > 0


def _as_count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def many_people(situation: Situation) -> bool:
    """At least `leak_threshold` people affected (answer `people_count`)."""
    count = _as_count(situation.facts.answers.get("people_count"))
    return count is not None and count >= situation.leak_threshold


def school_unreachable(situation: Situation) -> bool:
    """No active leader with a reachable chat and no reachable bound group at the case's unit."""
    return not situation.school_reachable


money_lost = any_of(_money_recorded, answered("money_sent", "yes"))
official_channel_hacked = all_of(is_type("hacked"), answered("account", *OFFICIAL_ACCOUNTS))
many_people_leaked = all_of(is_type("data_leak"), many_people)


class Who(StrEnum):
    SCHOOL_LEADERS = "school_leaders"  # the case unit's group, else its leaders privately
    NEAREST_POLICE = "nearest_police"  # the case unit first, then up; none at all → nearest officer, police_missing
    NEAREST_OFFICER = "nearest_officer"  # from the case unit's parent up: its group, else its officers


@dataclass(frozen=True, slots=True)
class Rule:
    reason: str
    who: Who
    when: Condition


# --- THE table (order = delivery order: school leaders, police, officers) ------------------------------------

RULES: tuple[Rule, ...] = (
    Rule(SCHOOL_LEADER, Who.SCHOOL_LEADERS, always),
    Rule(POLICE_MONEY_LOST, Who.NEAREST_POLICE, money_lost),
    Rule(POLICE_THREATS, Who.NEAREST_POLICE, answered("threats", "yes")),
    Rule(POLICE_INTIMATE, Who.NEAREST_POLICE, answered("intimate", "yes")),
    Rule(POLICE_DANGER, Who.NEAREST_POLICE, answered("danger", "yes")),
    Rule(OFFICER_OFFICIAL_CHANNEL, Who.NEAREST_OFFICER, official_channel_hacked),
    Rule(OFFICER_DATA_LEAK, Who.NEAREST_OFFICER, many_people_leaked),
    Rule(OFFICER_CRITICAL, Who.NEAREST_OFFICER, severity_is("critical")),
    Rule(OFFICER_NO_RESPONDER, Who.NEAREST_OFFICER, school_unreachable),
)


# --- finding desks in the tree -----------------------------------------------------------------------------


class _Finder:
    """Looks up reachable chats in the directory, skipping excluded ones."""

    def __init__(self, directory: Directory, exclude: Iterable[int]) -> None:
        self.directory = directory
        self.exclude = frozenset(exclude)

    def desk(self, unit_id: int, roles: Sequence[str] | None, reason: str, *, group_alone: bool) -> list[Recipient]:
        """The unit's reachable chats for `roles` (None: any role): its bound group when usable and the unit has
        such a member (or `group_alone`), else those members privately. Empty when nobody there can be reached."""
        holders = [
            (user_id, role)
            for user_id, role in self.directory.members.get(unit_id, ())
            if roles is None or role in roles
        ]
        group = self.directory.groups.get(unit_id)
        if group is not None and group[0] not in self.exclude and (holders or group_alone):
            role = holders[0][1] if holders else (roles[0] if roles is not None and len(roles) == 1 else None)
            return [Recipient(group[0], GROUP, unit_id, role, (reason,), group[1])]
        return [
            Recipient(user_id, MEMBER, unit_id, role, (reason,))
            for user_id, role in holders
            if user_id not in self.exclude
        ]

    def nearest(
        self, units: Iterable[int], roles: Sequence[str] | None, reason: str, *, group_alone: bool
    ) -> list[Recipient]:
        for unit_id in units:
            found = self.desk(unit_id, roles, reason, group_alone=group_alone)
            if found:
                return found
        return []

    def school_leaders(self, unit_id: int, reason: str) -> list[Recipient]:
        return self.desk(unit_id, (LEADER,), reason, group_alone=True)

    def officers_above(self, unit_id: int, reason: str) -> list[Recipient]:
        return self.nearest(self.directory.chain(unit_id)[1:], (OFFICER,), reason, group_alone=True)

    def police_from(self, unit_id: int, reason: str) -> list[Recipient]:
        return self.nearest(self.directory.chain(unit_id), (POLICE,), reason, group_alone=False)

    def police_or_officer(self, unit_id: int, reason: str) -> list[Recipient]:
        """The nearest police liaison; with none anywhere up the tree, the nearest officer, saying so."""
        found = self.police_from(unit_id, reason)
        if found:
            return found
        return [_with_reasons(r, (POLICE_MISSING, reason)) for r in self.officers_above(unit_id, POLICE_MISSING)]

    def find(self, who: Who, unit_id: int, reason: str) -> list[Recipient]:
        if who is Who.SCHOOL_LEADERS:
            return self.school_leaders(unit_id, reason)
        if who is Who.NEAREST_POLICE:
            return self.police_or_officer(unit_id, reason)
        return self.officers_above(unit_id, reason)

    def fallback(self, unit_id: int, admin_ids: Iterable[int]) -> Routing:
        """Nobody reachable by the rules: the configured admins, else anyone at the nearest unit up the tree."""
        admins = [chat for chat in dict.fromkeys(admin_ids) if chat not in self.exclude]
        if admins:
            return Routing([Recipient(chat, ADMIN_KIND, None, ADMIN, (LAST_RESORT,)) for chat in admins], LAST_RESORT)
        anyone = self.nearest(self.directory.chain(unit_id), None, NEAREST_ANY, group_alone=True)
        return Routing(merge(anyone), NEAREST_ANY)


def _with_reasons(recipient: Recipient, reasons: Iterable[str]) -> Recipient:
    return Recipient(recipient.chat_id, recipient.kind, recipient.unit_id, recipient.role,
                     tuple(dict.fromkeys(reasons)), recipient.is_forum)


def merge(recipients: Iterable[Recipient]) -> list[Recipient]:
    """One recipient per chat: the first one found keeps its place, kind, unit and role; reasons accumulate."""
    merged: dict[int, Recipient] = {}
    for recipient in recipients:
        first = merged.get(recipient.chat_id)
        merged[recipient.chat_id] = recipient if first is None else _with_reasons(
            first, first.reasons + recipient.reasons
        )
    return list(merged.values())


# --- the functions -----------------------------------------------------------------------------------------


def route(
    facts: CaseFacts,
    directory: Directory,
    *,
    admin_ids: Iterable[int] = (),
    leak_threshold: int = DEFAULT_LEAK_THRESHOLD,
    exclude: Iterable[int] = frozenset(),
    rules: Sequence[Rule] = RULES,
) -> Routing:
    """The recipients of a case: school leaders first, then police, then officers, then the fallbacks.

    Never empty unless literally nobody exists (then `Routing.nobody` is True: log it loudly).
    """
    finder = _Finder(directory, exclude)
    situation = Situation(facts, leak_threshold, bool(finder.school_leaders(facts.unit_id, SCHOOL_LEADER)))
    chosen: list[Recipient] = []
    for rule in rules:
        if rule.when(situation):
            chosen.extend(finder.find(rule.who, facts.unit_id, rule.reason))
    if chosen:
        return Routing(merge(chosen), BY_RULES)
    return finder.fallback(facts.unit_id, admin_ids)


def escalation_targets(
    facts: CaseFacts,
    directory: Directory,
    *,
    above_unit_id: int | None = None,
    reason: str = OVERDUE_ESCALATION,
    exclude: Iterable[int] = frozenset(),
    admin_ids: Iterable[int] = (),
) -> Routing:
    """The next level up for an overdue or escalated case: the nearest unit ABOVE `above_unit_id` (the highest
    unit already involved; the case's unit when None) with a reachable officer or bound group.

    Use reason "overdue_escalation" for the SLA timer and "escalated_district" for the button. Nothing above
    (already at the province): the admins when given (last_resort), else an empty Routing (`nobody`).
    """
    finder = _Finder(directory, exclude)
    chain = directory.chain(facts.unit_id)
    start = above_unit_id if above_unit_id in chain else facts.unit_id
    above = chain[chain.index(start) + 1:] if start in chain else ()
    found = finder.nearest(above, (OFFICER,), reason, group_alone=True)
    if found:
        return Routing(merge(found), BY_RULES)
    return _admins_only(finder, admin_ids)


def police_targets(
    facts: CaseFacts,
    directory: Directory,
    *,
    reason: str = ESCALATED_POLICE,
    exclude: Iterable[int] = frozenset(),
    admin_ids: Iterable[int] = (),
) -> Routing:
    """For "escalate to police": the nearest police liaison from the case's unit up the tree; with none, the
    nearest officer above the unit with reasons ("police_missing", reason). Nobody: the admins when given,
    else an empty Routing (`nobody`)."""
    finder = _Finder(directory, exclude)
    found = finder.police_or_officer(facts.unit_id, reason)
    if found:
        return Routing(merge(found), BY_RULES)
    return _admins_only(finder, admin_ids)


def highest_involved(facts: CaseFacts, directory: Directory, recipients: Iterable[Any]) -> int:
    """The highest unit of the case's chain whose desk already has the case: the `above_unit_id` to escalate
    from. `recipients` are Recipient or CaseRecipient rows; unreachable ones and police liaisons reached
    privately do not count (a district's police liaison is not the district's education office)."""
    chain = directory.chain(facts.unit_id)
    highest = 0
    for recipient in recipients:
        if not getattr(recipient, "reachable", True) or recipient.unit_id not in chain:
            continue
        if recipient.kind == MEMBER and recipient.role == POLICE:
            continue
        highest = max(highest, chain.index(recipient.unit_id))
    return chain[highest] if chain else facts.unit_id


def _admins_only(finder: _Finder, admin_ids: Iterable[int]) -> Routing:
    admins = [chat for chat in dict.fromkeys(admin_ids) if chat not in finder.exclude]
    return Routing([Recipient(chat, ADMIN_KIND, None, ADMIN, (LAST_RESORT,)) for chat in admins], LAST_RESORT)
