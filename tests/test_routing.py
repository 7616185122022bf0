"""Case routing: every rule and reason on a realistic unit tree, the "never zero recipients" guarantees,
exclusion of chats that blocked the bot, responder groups, and the authorisation of triage actions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event

from bot import routing
from bot.routing import CaseFacts, Directory, Recipient, route
from storage import routing as store
from storage.db import Database
from storage.models import Case, Member, ResponderGroup, Unit
from tests.factories import make_tree, make_unit


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """Same as conftest's `db`, repeated so this module also runs alone (`--noconftest`)."""
    database = Database(db_url)
    yield database
    await database.dispose()


# --- people of the realistic tree ----------------------------------------------------------------------------
# HP (province) → KA (district) → KA-NS, KA-TS (schools); HP-KA1 (school) directly under HP.

NS_LEADER, NS_LEADER2, NS_POLICE = 101, 103, 102
KA_OFFICER, KA_POLICE = 201, 202
HP_OFFICER, HP_POLICE = 301, 302
THPT_LEADER = 401
ADMINS = [9001, 9002]
NS_GROUP, KA_GROUP, HP_GROUP = -100111, -100222, -100333


async def add_members(db: Database, *rows: tuple[Unit, int, str] | tuple[Unit, int, str, bool]) -> None:
    async with db.session() as session:
        for unit, user_id, role, *active in rows:
            session.add(Member(user_id=user_id, unit_id=unit.id, role=role, active=active[0] if active else True))


async def bind_group(db: Database, unit: Unit, chat_id: int, *, is_forum: bool = False, active: bool = True) -> None:
    async with db.session() as session:
        session.add(ResponderGroup(unit_id=unit.id, chat_id=chat_id, is_forum=is_forum, bound_by=1, active=active))


async def staffed_tree(db: Database) -> dict[str, Unit]:
    """Two leaders at KA-NS, an officer and a police liaison at KA and at HP, one leader at HP-KA1; KA-TS empty."""
    tree = await make_tree(db)
    await add_members(
        db,
        (tree["ns"], NS_LEADER, "leader"),
        (tree["ns"], NS_LEADER2, "leader"),
        (tree["ka"], KA_OFFICER, "officer"),
        (tree["ka"], KA_POLICE, "police"),
        (tree["hp"], HP_OFFICER, "officer"),
        (tree["hp"], HP_POLICE, "police"),
        (tree["thpt"], THPT_LEADER, "leader"),
    )
    return tree


def facts(unit: Unit, incident_type: str = "scam", severity: str = "medium", money_lost: int | None = None,
          **answers: Any) -> CaseFacts:
    return CaseFacts(unit.id, incident_type, severity, money_lost, answers)


async def directory_of(db: Database, unit: Unit) -> Directory:
    async with db.session() as session:
        return await store.load_directory(session, unit.id)


async def routed(db: Database, case: CaseFacts, **kwargs: Any) -> routing.Routing:
    async with db.session() as session:
        directory = await store.load_directory(session, case.unit_id)
    return route(case, directory, **kwargs)


def brief(recipients: list[Recipient]) -> list[tuple[int, tuple[str, ...]]]:
    return [(r.chat_id, r.reasons) for r in recipients]


LEADERS = [(NS_LEADER, ("school_leader",)), (NS_LEADER2, ("school_leader",))]

# --- THE rule table, on the staffed tree ---------------------------------------------------------------------

RULE_CASES: list[tuple[str, str, dict[str, Any], list[tuple[int, tuple[str, ...]]]]] = [
    ("leaders always", "ns", {}, LEADERS),
    ("money lost (amount)", "ns", {"money_lost": 5_000_000}, [*LEADERS, (KA_POLICE, ("police_money_lost",))]),
    ("money lost (answer)", "ns", {"money_sent": "yes"}, [*LEADERS, (KA_POLICE, ("police_money_lost",))]),
    ("no money sent", "ns", {"money_sent": "no", "money_lost": 0}, LEADERS),
    ("threats", "ns", {"incident_type": "bullying", "threats": "yes"}, [*LEADERS, (KA_POLICE, ("police_threats",))]),
    ("intimate images", "ns", {"incident_type": "bullying", "intimate": "yes"},
     [*LEADERS, (KA_POLICE, ("police_intimate",))]),
    ("child in danger", "ns", {"incident_type": "bullying", "severity": "critical", "danger": "yes"},
     [*LEADERS, (KA_POLICE, ("police_danger",)), (KA_OFFICER, ("officer_critical",))]),
    ("several police reasons, one chat", "ns", {"money_sent": "yes", "threats": "yes"},
     [*LEADERS, (KA_POLICE, ("police_money_lost", "police_threats"))]),
    ("hacked fanpage", "ns", {"incident_type": "hacked", "account": "school_fanpage"},
     [*LEADERS, (KA_OFFICER, ("officer_official_channel",))]),
    ("hacked website", "ns", {"incident_type": "hacked", "account": "school_website"},
     [*LEADERS, (KA_OFFICER, ("officer_official_channel",))]),
    ("hacked Zalo OA", "ns", {"incident_type": "hacked", "account": "zalo_group_oa"},
     [*LEADERS, (KA_OFFICER, ("officer_official_channel",))]),
    ("hacked personal account", "ns", {"incident_type": "hacked", "account": "staff_personal"}, LEADERS),
    ("official account answer on another type", "ns", {"incident_type": "harmful", "account": "school_fanpage"},
     LEADERS),
    ("leak of many", "ns", {"incident_type": "data_leak", "people_count": 50},
     [*LEADERS, (KA_OFFICER, ("officer_data_leak",))]),
    ("leak of few", "ns", {"incident_type": "data_leak", "people_count": 49}, LEADERS),
    ("critical", "ns", {"severity": "critical"}, [*LEADERS, (KA_OFFICER, ("officer_critical",))]),
    ("school without responder", "ts", {}, [(KA_OFFICER, ("officer_no_responder",))]),
    ("no responder and money lost", "ts", {"money_sent": "yes"},
     [(KA_POLICE, ("police_money_lost",)), (KA_OFFICER, ("officer_no_responder",))]),
    ("school under the province: police", "thpt", {"money_sent": "yes"},
     [(THPT_LEADER, ("school_leader",)), (HP_POLICE, ("police_money_lost",))]),
    ("school under the province: officer", "thpt", {"severity": "critical"},
     [(THPT_LEADER, ("school_leader",)), (HP_OFFICER, ("officer_critical",))]),
    ("everything at once", "ns",
     {"incident_type": "data_leak", "severity": "critical", "people_count": 500, "threats": "yes", "money_lost": 1},
     [*LEADERS, (KA_POLICE, ("police_money_lost", "police_threats")),
      (KA_OFFICER, ("officer_data_leak", "officer_critical"))]),
]


@pytest.mark.parametrize(("unit", "given", "expected"), [row[1:] for row in RULE_CASES], ids=[r[0] for r in RULE_CASES])
async def test_rule_table(db: Database, unit: str, given: dict[str, Any], expected: list[Any]) -> None:
    tree = await staffed_tree(db)
    result = await routed(db, facts(tree[unit], **given), admin_ids=ADMINS)
    assert brief(result) == expected
    assert result.outcome == "rules" and not result.nobody


async def test_recipients_carry_kind_unit_and_role(db: Database) -> None:
    tree = await staffed_tree(db)
    result = await routed(db, facts(tree["ns"], severity="critical", money_sent="yes"))
    assert result == [
        Recipient(NS_LEADER, "member", tree["ns"].id, "leader", ("school_leader",)),
        Recipient(NS_LEADER2, "member", tree["ns"].id, "leader", ("school_leader",)),
        Recipient(KA_POLICE, "member", tree["ka"].id, "police", ("police_money_lost",)),
        Recipient(KA_OFFICER, "member", tree["ka"].id, "officer", ("officer_critical",)),
    ]
    assert [r.reason for r in result] == ["school_leader", "school_leader", "police_money_lost", "officer_critical"]


async def test_leak_threshold_is_a_parameter(db: Database) -> None:
    tree = await staffed_tree(db)
    leak = facts(tree["ns"], "data_leak", people_count=60)
    assert KA_OFFICER in (await routed(db, leak)).chat_ids
    assert KA_OFFICER not in (await routed(db, leak, leak_threshold=100)).chat_ids
    assert KA_OFFICER in (await routed(db, facts(tree["ns"], "data_leak", people_count="120"))).chat_ids
    assert KA_OFFICER not in (await routed(db, facts(tree["ns"], "data_leak", people_count=True))).chat_ids


async def test_police_of_the_school_itself_comes_first(db: Database) -> None:
    tree = await staffed_tree(db)
    await add_members(db, (tree["ns"], NS_POLICE, "police"))
    result = await routed(db, facts(tree["ns"], money_sent="yes"))
    assert brief(result) == [*LEADERS, (NS_POLICE, ("police_money_lost",))]


async def test_police_skips_a_level_without_police(db: Database) -> None:
    tree = await make_tree(db)
    await add_members(db, (tree["ns"], NS_LEADER, "leader"), (tree["hp"], HP_POLICE, "police"),
                      (tree["ka"], KA_POLICE, "police", False))  # inactive
    result = await routed(db, facts(tree["ns"], danger="yes"))
    assert brief(result) == [(NS_LEADER, ("school_leader",)), (HP_POLICE, ("police_danger",))]


async def test_no_police_anywhere_goes_to_the_officer_and_says_so(db: Database) -> None:
    tree = await make_tree(db)
    await add_members(db, (tree["ns"], NS_LEADER, "leader"), (tree["ka"], KA_OFFICER, "officer"))
    result = await routed(db, facts(tree["ns"], money_sent="yes", threats="yes"))
    assert brief(result) == [
        (NS_LEADER, ("school_leader",)),
        (KA_OFFICER, ("police_missing", "police_money_lost", "police_threats")),
    ]


async def test_officer_is_searched_from_the_parent_not_the_school(db: Database) -> None:
    tree = await make_tree(db)
    await add_members(db, (tree["ns"], NS_LEADER, "leader"), (tree["ns"], 150, "officer"),
                      (tree["hp"], HP_OFFICER, "officer"))
    result = await routed(db, facts(tree["ns"], severity="critical"))
    assert brief(result) == [(NS_LEADER, ("school_leader",)), (HP_OFFICER, ("officer_critical",))]


async def test_inactive_leaders_do_not_count_as_a_responder(db: Database) -> None:
    tree = await staffed_tree(db)
    await add_members(db, (tree["ts"], 120, "leader", False), (tree["ts"], 121, "police"))
    result = await routed(db, facts(tree["ts"]))
    # A police liaison at the school is not its leader: the school still has no responder.
    assert brief(result) == [(KA_OFFICER, ("officer_no_responder",))]


# --- never zero recipients ---------------------------------------------------------------------------------


async def test_nobody_anywhere_goes_to_the_admins(db: Database) -> None:
    tree = await make_tree(db)
    result = await routed(db, facts(tree["ts"], severity="critical", money_sent="yes"), admin_ids=ADMINS)
    assert result == [
        Recipient(9001, "admin", None, "admin", ("last_resort",)),
        Recipient(9002, "admin", None, "admin", ("last_resort",)),
    ]
    assert result.outcome == "last_resort" and not result.nobody


async def test_without_admins_the_nearest_member_of_any_role(db: Database) -> None:
    tree = await make_tree(db)
    await add_members(db, (tree["ka"], 250, "admin"), (tree["ka"], 251, "police"), (tree["hp"], 350, "leader"))
    # A low case with no police reason: the district's police liaison is only reached as "anyone nearest".
    result = await routed(db, facts(tree["ts"], "other", "low"), admin_ids=[])
    assert brief(result) == [(250, ("nearest_any",)), (251, ("nearest_any",))]
    assert [(r.unit_id, r.role) for r in result] == [(tree["ka"].id, "admin"), (tree["ka"].id, "police")]
    assert result.outcome == "nearest_any"


async def test_nearest_any_also_when_every_admin_is_unreachable(db: Database) -> None:
    tree = await make_tree(db)
    await add_members(db, (tree["hp"], 350, "leader"))
    result = await routed(db, facts(tree["ns"]), admin_ids=[9001], exclude={9001})
    assert brief(result) == [(350, ("nearest_any",))]


async def test_literally_nobody_gives_an_empty_list_and_a_marker(db: Database) -> None:
    tree = await make_tree(db)
    result = await routed(db, facts(tree["ns"], severity="critical"), admin_ids=[])
    assert result == [] and result.nobody and result.outcome == "nobody"


async def test_unknown_unit_still_reaches_the_admins(db: Database) -> None:
    async with db.session() as session:
        directory = await store.load_directory(session, 987654)
    assert directory.units == {}
    assert route(CaseFacts(987654, "scam", "medium"), directory, admin_ids=[9001]).chat_ids == [9001]
    assert route(CaseFacts(987654, "scam", "medium"), directory).nobody


# --- exclusion: a responder who blocked the bot ---------------------------------------------------------------


async def test_only_leader_excluded_brings_in_the_officer(db: Database) -> None:
    tree = await make_tree(db)
    await add_members(db, (tree["ns"], NS_LEADER, "leader"), (tree["ka"], KA_OFFICER, "officer"),
                      (tree["hp"], HP_OFFICER, "officer"))
    case = facts(tree["ns"])
    assert brief(await routed(db, case)) == [(NS_LEADER, ("school_leader",))]
    assert brief(await routed(db, case, exclude={NS_LEADER})) == [(KA_OFFICER, ("officer_no_responder",))]
    # the district officer blocked the bot too: the province officer
    assert brief(await routed(db, case, exclude={NS_LEADER, KA_OFFICER})) == [(HP_OFFICER, ("officer_no_responder",))]
    # every officer unreachable: the last resort
    result = await routed(db, case, exclude={NS_LEADER, KA_OFFICER, HP_OFFICER}, admin_ids=ADMINS)
    assert brief(result) == [(9001, ("last_resort",)), (9002, ("last_resort",))]


async def test_one_of_two_leaders_excluded_keeps_the_other(db: Database) -> None:
    tree = await staffed_tree(db)
    assert brief(await routed(db, facts(tree["ns"]), exclude={NS_LEADER})) == [(NS_LEADER2, ("school_leader",))]


async def test_excluded_police_moves_up_to_the_next_police(db: Database) -> None:
    tree = await staffed_tree(db)
    result = await routed(db, facts(tree["ns"], money_sent="yes"), exclude={KA_POLICE})
    assert brief(result) == [*LEADERS, (HP_POLICE, ("police_money_lost",))]


async def test_blocked_leader_is_recorded_and_the_case_reaches_the_next_recipient(db: Database) -> None:
    """The delivery layer's loop: record, a 403 marks the chat unreachable, routing again adds the officer."""
    tree = await make_tree(db)
    await add_members(db, (tree["ns"], NS_LEADER, "leader"), (tree["ka"], KA_OFFICER, "officer"))
    case_id = await make_case(db, tree["ns"])
    async with db.session() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        case_facts = CaseFacts.of(case)
        first = route(case_facts, await store.load_directory(session, case.unit_id), admin_ids=[])
        added = await store.record(session, case_id, first)
        assert [(r.chat_id, r.reason, r.reachable) for r in added] == [(NS_LEADER, "school_leader", True)]
    async with db.session() as session:
        assert await store.mark_unreachable(session, case_id, NS_LEADER) is True
        exclude = await store.unreachable_chats(session, case_id)
        assert exclude == {NS_LEADER}
        again = route(case_facts, await store.load_directory(session, case_facts.unit_id), exclude=exclude)
        added = await store.record(session, case_id, again)
        assert [(r.chat_id, r.kind, r.unit_id, r.role, r.reason) for r in added] == [
            (KA_OFFICER, "member", tree["ka"].id, "officer", "officer_no_responder")
        ]
    async with db.session() as session:
        rows = await store.recipients_of(session, case_id)
    assert [(r.chat_id, r.reachable) for r in rows] == [(NS_LEADER, False), (KA_OFFICER, True)]


# --- responder groups ---------------------------------------------------------------------------------------


async def test_school_group_replaces_its_leaders(db: Database) -> None:
    tree = await staffed_tree(db)
    await bind_group(db, tree["ns"], NS_GROUP, is_forum=True)
    result = await routed(db, facts(tree["ns"]))
    assert result == [Recipient(NS_GROUP, "group", tree["ns"].id, "leader", ("school_leader",), True)]


async def test_group_takes_the_school_police_too(db: Database) -> None:
    tree = await staffed_tree(db)
    await add_members(db, (tree["ns"], NS_POLICE, "police"))
    await bind_group(db, tree["ns"], NS_GROUP)
    result = await routed(db, facts(tree["ns"], money_sent="yes"))
    assert brief(result) == [(NS_GROUP, ("school_leader", "police_money_lost"))]


async def test_school_with_only_a_group_has_a_responder(db: Database) -> None:
    tree = await staffed_tree(db)
    await bind_group(db, tree["ts"], -100444)
    result = await routed(db, facts(tree["ts"]))
    assert result == [Recipient(-100444, "group", tree["ts"].id, "leader", ("school_leader",))]


async def test_inactive_or_unreachable_group_falls_back_to_members(db: Database) -> None:
    tree = await staffed_tree(db)
    await bind_group(db, tree["ns"], NS_GROUP, active=False)
    assert brief(await routed(db, facts(tree["ns"]))) == LEADERS
    await bind_group(db, tree["ts"], -100444)
    # the bot was removed from the only desk of KA-TS: the officer steps in
    assert brief(await routed(db, facts(tree["ts"]), exclude={-100444})) == [(KA_OFFICER, ("officer_no_responder",))]


async def test_district_group_receives_police_and_officer_reasons_once(db: Database) -> None:
    tree = await staffed_tree(db)
    await bind_group(db, tree["ka"], KA_GROUP)
    result = await routed(db, facts(tree["ns"], severity="critical", money_sent="yes"))
    assert brief(result) == [*LEADERS, (KA_GROUP, ("police_money_lost", "officer_critical"))]
    assert (result[-1].kind, result[-1].unit_id, result[-1].role) == ("group", tree["ka"].id, "police")


async def test_district_group_is_the_officer_desk_but_not_a_police_liaison(db: Database) -> None:
    tree = await make_tree(db)
    await add_members(db, (tree["ns"], NS_LEADER, "leader"), (tree["hp"], HP_POLICE, "police"))
    await bind_group(db, tree["ka"], KA_GROUP)
    result = await routed(db, facts(tree["ns"], severity="critical", money_sent="yes"))
    assert brief(result) == [
        (NS_LEADER, ("school_leader",)),
        (HP_POLICE, ("police_money_lost",)),
        (KA_GROUP, ("officer_critical",)),
    ]
    assert result[-1].role == "officer"


# --- dedupe -------------------------------------------------------------------------------------------------


async def test_one_person_with_two_roles_gets_one_card_with_every_reason(db: Database) -> None:
    tree = await make_tree(db)
    await add_members(db, (tree["ns"], NS_LEADER, "leader"), (tree["ns"], NS_LEADER, "police"),
                      (tree["ka"], KA_OFFICER, "officer"), (tree["ka"], KA_OFFICER, "police", False))
    result = await routed(db, facts(tree["ns"], severity="critical", danger="yes", threats="yes"))
    assert result == [
        Recipient(NS_LEADER, "member", tree["ns"].id, "leader", ("school_leader", "police_threats", "police_danger")),
        Recipient(KA_OFFICER, "member", tree["ka"].id, "officer", ("officer_critical",)),
    ]


def test_merge_keeps_the_first_and_accumulates_reasons() -> None:
    a = Recipient(1, "member", 10, "leader", ("school_leader",))
    b = Recipient(1, "group", 20, "officer", ("officer_critical", "school_leader"))
    c = Recipient(2, "member", 20, "officer", ("officer_critical",))
    assert routing.merge([a, c, b]) == [
        Recipient(1, "member", 10, "leader", ("school_leader", "officer_critical")),
        c,
    ]


# --- escalation and the police button ------------------------------------------------------------------------


async def test_escalation_goes_one_level_above_the_current_recipients(db: Database) -> None:
    tree = await staffed_tree(db)
    directory = await directory_of(db, tree["ns"])
    case = facts(tree["ns"])
    assert brief(routing.escalation_targets(case, directory)) == [(KA_OFFICER, ("overdue_escalation",))]
    assert brief(routing.escalation_targets(case, directory, above_unit_id=tree["ka"].id,
                                            reason="escalated_district")) == [(HP_OFFICER, ("escalated_district",))]
    top = routing.escalation_targets(case, directory, above_unit_id=tree["hp"].id)
    assert top == [] and top.nobody
    assert routing.escalation_targets(case, directory, above_unit_id=tree["hp"].id, admin_ids=[9001]).chat_ids == [9001]
    # the district officer blocked the bot: the province
    assert routing.escalation_targets(case, directory, exclude={KA_OFFICER}).chat_ids == [HP_OFFICER]
    # a unit outside the chain is ignored: escalate from the case's own unit
    assert routing.escalation_targets(case, directory, above_unit_id=tree["thpt"].id).chat_ids == [KA_OFFICER]


async def test_escalation_to_a_district_group(db: Database) -> None:
    tree = await staffed_tree(db)
    await bind_group(db, tree["ka"], KA_GROUP, is_forum=True)
    result = routing.escalation_targets(facts(tree["ns"]), await directory_of(db, tree["ns"]))
    assert result == [Recipient(KA_GROUP, "group", tree["ka"].id, "officer", ("overdue_escalation",), True)]


async def test_highest_involved_ignores_police_and_unreachable_recipients(db: Database) -> None:
    tree = await staffed_tree(db)
    directory = await directory_of(db, tree["ns"])
    case = facts(tree["ns"], money_sent="yes")
    first = route(case, directory)
    assert routing.highest_involved(case, directory, first) == tree["ns"].id  # KA police does not count
    officer = Recipient(KA_OFFICER, "member", tree["ka"].id, "officer", ("officer_critical",))
    assert routing.highest_involved(case, directory, [*first, officer]) == tree["ka"].id
    group = Recipient(KA_GROUP, "group", tree["ka"].id, "police", ("police_money_lost",))
    assert routing.highest_involved(case, directory, [group]) == tree["ka"].id


async def test_police_targets(db: Database) -> None:
    tree = await staffed_tree(db)
    directory = await directory_of(db, tree["ns"])
    case = facts(tree["ns"])
    assert brief(routing.police_targets(case, directory)) == [(KA_POLICE, ("escalated_police",))]
    assert brief(routing.police_targets(case, directory, exclude={KA_POLICE})) == [(HP_POLICE, ("escalated_police",))]
    missing = routing.police_targets(case, directory, exclude={KA_POLICE, HP_POLICE})
    assert brief(missing) == [(KA_OFFICER, ("police_missing", "escalated_police"))]
    assert missing[0].reason == "police_missing"
    nobody = routing.police_targets(case, directory, exclude={KA_POLICE, HP_POLICE, KA_OFFICER, HP_OFFICER})
    assert nobody.nobody
    assert routing.police_targets(case, directory, exclude={KA_POLICE, HP_POLICE, KA_OFFICER, HP_OFFICER},
                                  admin_ids=ADMINS).chat_ids == ADMINS


# --- the table itself -------------------------------------------------------------------------------------


def test_rules_are_data_with_short_ascii_reasons() -> None:
    assert [rule.reason for rule in routing.RULES] == [
        "school_leader", "police_money_lost", "police_threats", "police_intimate", "police_danger",
        "officer_official_channel", "officer_data_leak", "officer_critical", "officer_no_responder",
    ]
    for reason in routing.REASONS:
        assert reason.isascii() and len(reason) <= 32 and reason == reason.lower()
    assert {rule.reason for rule in routing.RULES} <= set(routing.REASONS)


def test_directory_chain_survives_a_cycle_and_unknown_units() -> None:
    directory = Directory.build(units=[(1, 2, "school"), (2, 1, "district")])
    assert directory.chain(1) == (1, 2)
    assert directory.chain(99) == ()
    assert directory.kind_of(2) == "district" and directory.kind_of(None) is None


def test_case_facts_of_a_case_row() -> None:
    case = Case(unit_id=7, incident_type="scam", severity="high", money_lost=None, answers={"money_sent": "yes"})
    assert CaseFacts.of(case) == CaseFacts(7, "scam", "high", None, {"money_sent": "yes"})


# --- load_directory ---------------------------------------------------------------------------------------


async def test_load_directory_holds_only_the_chain(db: Database) -> None:
    tree = await staffed_tree(db)
    await add_members(db, (tree["ts"], 130, "leader"), (tree["ns"], 104, "leader", False))
    await bind_group(db, tree["ka"], KA_GROUP, is_forum=True)
    await bind_group(db, tree["ts"], -100444)
    await bind_group(db, tree["hp"], HP_GROUP, active=False)
    directory = await directory_of(db, tree["ns"])
    ns, ka, hp = tree["ns"].id, tree["ka"].id, tree["hp"].id
    assert set(directory.units) == {ns, ka, hp}
    assert directory.chain(ns) == (ns, ka, hp)
    assert directory.kind_of(ns) == "school" and directory.kind_of(hp) == "province"
    assert dict(directory.members) == {
        ns: ((NS_LEADER, "leader"), (NS_LEADER2, "leader")),
        ka: ((KA_OFFICER, "officer"), (KA_POLICE, "police")),
        hp: ((HP_OFFICER, "officer"), (HP_POLICE, "police")),
    }
    assert dict(directory.groups) == {ka: (KA_GROUP, True)}
    thpt = await directory_of(db, tree["thpt"])
    assert thpt.chain(tree["thpt"].id) == (tree["thpt"].id, hp)


async def test_load_directory_uses_a_bounded_number_of_queries(db: Database) -> None:
    tree = await staffed_tree(db)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "SAVEPOINT", "RELEASE")):  # transaction control
            statements.append(statement)

    async def queries_for_loading() -> int:
        async with db.session() as session:
            statements.clear()
            event.listen(db.engine.sync_engine, "before_cursor_execute", count)
            try:
                await store.load_directory(session, tree["ns"].id)
            finally:
                event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        return len(statements)

    few = await queries_for_loading()
    await add_members(db, *[(unit, 5000 + i, role) for i in range(40) for unit, role in
                            ((tree["ns"], "leader"), (tree["ka"], "officer"), (tree["hp"], "police"))])
    await bind_group(db, tree["ka"], KA_GROUP)
    many = await queries_for_loading()
    assert few == many <= 3


# --- recording -----------------------------------------------------------------------------------------------


async def make_case(db: Database, unit: Unit, seq: int = 1) -> int:
    async with db.session() as session:
        case = Case(code=f"{unit.code}-26-{seq:04d}", unit_id=unit.id, year=2026, seq=seq, submission_key=f"k{seq}",
                    reporter_role="parent", incident_type="scam", severity="medium", answers={})
        session.add(case)
        await session.flush()
        return case.id


async def test_record_skips_chats_already_recorded(db: Database) -> None:
    tree = await staffed_tree(db)
    case_id = await make_case(db, tree["ns"])
    leader = Recipient(NS_LEADER, "member", tree["ns"].id, "leader", ("school_leader", "police_threats"))
    group = Recipient(KA_GROUP, "group", tree["ka"].id, "officer", ("officer_critical",), True)
    async with db.session() as session:
        added = await store.record(session, case_id, [leader, leader])
        assert [(r.chat_id, r.reason) for r in added] == [(NS_LEADER, "school_leader")]
    async with db.session() as session:
        added = await store.record(session, case_id, [leader, group])
        assert [(r.chat_id, r.kind, r.unit_id, r.role, r.reason) for r in added] == [
            (KA_GROUP, "group", tree["ka"].id, "officer", "officer_critical")
        ]
        assert await store.record(session, case_id, [leader, group]) == []
        await store.set_thread(session, case_id, KA_GROUP, 77)
    async with db.session() as session:
        rows = await store.recipients_of(session, case_id)
        assert [(r.chat_id, r.thread_id, r.reachable) for r in rows] == [(NS_LEADER, None, True), (KA_GROUP, 77, True)]
        assert await store.unreachable_chats(session, case_id) == set()
        assert await store.mark_unreachable(session, case_id, 123456) is False
        other = await make_case_in(session, tree["ts"])
        assert await store.recipients_of(session, other) == []


async def make_case_in(session: Any, unit: Unit) -> int:
    case = Case(code=f"{unit.code}-26-0009", unit_id=unit.id, year=2026, seq=9, submission_key="k9",
                reporter_role="parent", incident_type="scam", severity="medium", answers={})
    session.add(case)
    await session.flush()
    return case.id


# --- authorisation ------------------------------------------------------------------------------------------


async def test_can_act_matrix(db: Database) -> None:
    tree = await staffed_tree(db)
    deep = await make_unit(db, "KA-NS-A", "Điểm trường A", "school", tree["ns"])  # a unit below a school
    await add_members(
        db,
        (tree["ns"], 105, "leader", False),  # inactive
        (tree["ns"], 501, "leader"), (tree["ka"], 501, "officer"),  # two memberships
        (tree["ns"], 601, "police"), (tree["ns"], 601, "leader"),  # two roles at one unit
        (tree["hp"], 701, "admin"),
    )
    units = {name: tree[name].id for name in ("hp", "ka", "ns", "ts", "thpt")} | {"deep": deep.id, "unknown": 987654}
    users = {
        "ns_leader": NS_LEADER, "ka_officer": KA_OFFICER, "ka_police": KA_POLICE, "hp_officer": HP_OFFICER,
        "thpt_leader": THPT_LEADER, "inactive": 105, "ns_and_ka": 501, "two_roles": 601, "hp_admin": 701,
        "stranger": 999,
    }
    expected = {
        # a school leader: their school (and a unit below it), never a sibling school or a unit above
        ("ns_leader", "ns"): "leader", ("ns_leader", "deep"): "leader", ("ns_leader", "ts"): None,
        ("ns_leader", "thpt"): None, ("ns_leader", "ka"): None, ("ns_leader", "hp"): None,
        # a district officer and police liaison: the district's schools, not a school under the province directly
        ("ka_officer", "ns"): "officer", ("ka_officer", "ts"): "officer", ("ka_officer", "ka"): "officer",
        ("ka_officer", "deep"): "officer", ("ka_officer", "thpt"): None, ("ka_officer", "hp"): None,
        ("ka_police", "ts"): "police", ("ka_police", "thpt"): None,
        # the province: everything below it
        ("hp_officer", "ns"): "officer", ("hp_officer", "ts"): "officer", ("hp_officer", "thpt"): "officer",
        ("hp_officer", "ka"): "officer", ("hp_officer", "hp"): "officer", ("hp_admin", "deep"): "admin",
        ("thpt_leader", "thpt"): "leader", ("thpt_leader", "ns"): None,
        ("inactive", "ns"): None, ("stranger", "ns"): None, ("stranger", "hp"): None,
        ("hp_officer", "unknown"): None,
        # several memberships: the nearest unit wins, then leader before police
        ("ns_and_ka", "ns"): "leader", ("ns_and_ka", "ts"): "officer", ("two_roles", "ns"): "leader",
    }
    async with db.session() as session:
        actual = {key: await store.can_act(session, users[key[0]], units[key[1]]) for key in expected}
    assert actual == expected


async def test_member_roles_and_group_unit(db: Database) -> None:
    tree = await staffed_tree(db)
    await add_members(db, (tree["ka"], NS_LEADER, "police"), (tree["hp"], NS_LEADER, "officer", False))
    await bind_group(db, tree["ka"], KA_GROUP)
    await bind_group(db, tree["ns"], NS_GROUP, active=False)
    async with db.session() as session:
        assert await store.member_roles(session, NS_LEADER) == sorted(
            [(tree["ns"].id, "leader"), (tree["ka"].id, "police")]
        )
        assert await store.member_roles(session, 999) == []
        assert await store.group_unit(session, KA_GROUP) == tree["ka"].id
        assert await store.group_unit(session, NS_GROUP) is None  # unbound (inactive)
        assert await store.group_unit(session, -1) is None
