"""The follow-up questions of every incident type, as data, and pure navigation over them.

To change what the bot asks, edit the tables below: a question's order, whether it may be skipped
and when it is asked at all are all data. The navigation functions never special-case a type.
"""

from __future__ import annotations

from dataclasses import replace

from .model import AnswerKind, Answers, IncidentType, Question, Role, when

# --- choice sets ---------------------------------------------------------------------------------

PLATFORMS = ("facebook", "zalo", "tiktok", "instagram", "youtube", "website", "sms", "phone_call", "other")
WHEN_CHOICES = ("today", "yesterday", "this_week", "earlier")
YES_NO = ("yes", "no")
YES_NO_UNKNOWN = ("yes", "no", "unknown")
YES_NO_PARTLY = ("yes", "no", "partly")
YESNO_PREFIX = "choice-yesno"
"""Every yes/no-like question shares one set of labels (choice-yesno-yes, -no, -unknown, -partly)."""

PRETENDED = ("school", "teacher", "relative", "official", "bank", "other")
ASKED_FOR = ("money", "otp", "personal_data", "other")
ACCOUNTS = (
    "school_website",
    "school_fanpage",
    "zalo_group_oa",
    "email",
    "staff_personal",
    "student_personal",
    "other",
)
OFFICIAL_ACCOUNTS = ("school_website", "school_fanpage", "zalo_group_oa")
PERSONAL_ACCOUNTS = ("staff_personal", "student_personal", "other")
TARGETS = ("school", "staff", "student", "other")
AFFECTED = ("school", "staff", "student", "parent", "other")
SPREAD = ("few", "many", "viral")
DATA_KINDS = ("names", "birth_dates", "phones", "addresses", "grades", "photos", "other")

# --- questions asked before the follow-ups --------------------------------------------------------

ROLE_QUESTION = Question("role", AnswerKind.SINGLE, tuple(r.value for r in Role), choice_prefix="role")
TYPE_QUESTION = Question(
    "type", AnswerKind.SINGLE, tuple(t.value for t in IncidentType), choice_prefix="type"
)

# --- building blocks shared by several types ------------------------------------------------------

PLATFORM = Question("platform", AnswerKind.SINGLE, PLATFORMS)
LINKS = Question("links", AnswerKind.URLS, optional=True)
WHEN = Question("when", AnswerKind.WHEN, WHEN_CHOICES)
AFFECTED_Q = Question("affected", AnswerKind.SINGLE, AFFECTED)
CLASS = Question("class", AnswerKind.CLASS, optional=True, condition=(when("affected", "student"),))
DETAILS = Question("details", AnswerKind.TEXT, optional=True)

COMMON_QUESTIONS: tuple[Question, ...] = (PLATFORM, LINKS, WHEN, AFFECTED_Q, CLASS, DETAILS)
"""Questions most types share (platform, links, when, who is affected, their class, free details).
Each flow below picks them, sometimes with its own prompt or condition."""


def _yes_no(key: str, choices: tuple[str, ...] = YES_NO) -> Question:
    """A yes/no(-like) question; all of them share the labels `choice-yesno-*`."""
    return Question(key, AnswerKind.SINGLE, choices, choice_prefix=YESNO_PREFIX)


# --- the flows -------------------------------------------------------------------------------------

FLOWS: dict[IncidentType, tuple[Question, ...]] = {
    IncidentType.SCAM: (
        replace(PLATFORM, prompt="q-scam-platform"),
        Question("pretended", AnswerKind.SINGLE, PRETENDED),
        Question("asked_for", AnswerKind.MULTI, ASKED_FOR),
        Question("phones", AnswerKind.PHONES, optional=True),
        Question("bank_account", AnswerKind.BANK_ACCOUNT, optional=True),
        Question("profile", AnswerKind.URLS, optional=True),
        _yes_no("money_sent"),
        Question("amount", AnswerKind.AMOUNT, condition=(when("money_sent", "yes"),)),
        Question(
            "money_when",
            AnswerKind.WHEN,
            WHEN_CHOICES,
            condition=(when("money_sent", "yes"),),
            choice_prefix=WHEN.choice_prefix,
        ),
        replace(WHEN, prompt="q-scam-when"),
        DETAILS,
    ),
    IncidentType.HACKED: (
        Question("account", AnswerKind.SINGLE, ACCOUNTS),
        replace(PLATFORM, prompt="q-hacked-platform", condition=(when("account", *PERSONAL_ACCOUNTS),)),
        _yes_no("access", YES_NO_PARTLY),
        Question("attacker_doing", AnswerKind.TEXT, optional=True),
        LINKS,
        replace(CLASS, condition=(when("account", "student_personal"),)),
        replace(WHEN, prompt="q-hacked-when"),
        DETAILS,
    ),
    IncidentType.HARMFUL: (
        PLATFORM,
        LINKS,
        Question("target", AnswerKind.SINGLE, TARGETS),
        replace(CLASS, condition=(when("target", "student"),)),
        Question("spread", AnswerKind.SINGLE, SPREAD),
        _yes_no("still_online", YES_NO_UNKNOWN),
        WHEN,
        DETAILS,
    ),
    IncidentType.DATA_LEAK: (
        PLATFORM,
        Question("leak_where", AnswerKind.TEXT, max_length=500),
        Question("data_kinds", AnswerKind.MULTI, DATA_KINDS),
        Question("people_count", AnswerKind.INTEGER, max_value=1_000_000),
        replace(AFFECTED_Q, prompt="q-leak-affected"),
        CLASS,
        WHEN,
        DETAILS,
    ),
    IncidentType.BULLYING: (
        _yes_no("danger"),
        Question("victim", AnswerKind.TEXT, optional=True, max_length=200, scan_indicators=False),
        _yes_no("is_student"),
        replace(CLASS, condition=(when("is_student", "yes"),)),
        PLATFORM,
        LINKS,
        _yes_no("intimate"),
        _yes_no("threats"),
        WHEN,
        DETAILS,
    ),
    IncidentType.OTHER: (
        replace(DETAILS, optional=False, prompt="q-other-details"),
        PLATFORM,
        LINKS,
        AFFECTED_Q,
        CLASS,
        WHEN,
    ),
}


# --- navigation ------------------------------------------------------------------------------------


def questions_for(incident_type: IncidentType | str) -> list[Question]:
    """All follow-up questions of a type, in order, whether or not they will apply."""
    return list(FLOWS[IncidentType(incident_type)])


def get_question(incident_type: IncidentType | str, key: str) -> Question:
    """The question `key` of a type; KeyError if that type does not ask it (e.g. a stale callback)."""
    for question in FLOWS[IncidentType(incident_type)]:
        if question.key == key:
            return question
    raise KeyError(f"{incident_type}: no question {key!r}")


def applicable_questions(incident_type: IncidentType | str, answers: Answers) -> list[Question]:
    """The questions that apply to these answers, in order (what the summary lists).

    Conditions are evaluated against the answers of questions that themselves apply, so an answer
    left over from a branch the user backed out of (an amount after switching money_sent to "no")
    does not switch anything on.
    """
    live: dict[str, object] = {}
    result: list[Question] = []
    for question in FLOWS[IncidentType(incident_type)]:
        if question.applies(live):
            result.append(question)
            if question.key in answers:
                live[question.key] = answers[question.key]
    return result


def prune_answers(incident_type: IncidentType | str, answers: Answers) -> dict[str, object]:
    """Only the answers of applicable questions: what is stored when the report is confirmed."""
    return {
        question.key: answers[question.key]
        for question in applicable_questions(incident_type, answers)
        if question.key in answers
    }


def first_question(incident_type: IncidentType | str, answers: Answers | None = None) -> Question | None:
    """The first question to ask for a type."""
    applicable = applicable_questions(incident_type, answers or {})
    return applicable[0] if applicable else None


def next_question(
    incident_type: IncidentType | str, answers: Answers, current_key: str | None
) -> Question | None:
    """The question after `current_key` that applies to `answers`; None when the follow-ups are done."""
    if current_key is None:
        return first_question(incident_type, answers)
    keys = _keys(incident_type)
    position = _position(keys, incident_type, current_key)
    for question in applicable_questions(incident_type, answers):
        if keys.index(question.key) > position:
            return question
    return None


def previous_question(
    incident_type: IncidentType | str, answers: Answers, current_key: str | None
) -> Question | None:
    """The applicable question before `current_key` (the "back" button); None at the first one.

    With `current_key=None` (the follow-ups are finished) it is the last applicable question.
    """
    applicable = applicable_questions(incident_type, answers)
    if current_key is None:
        return applicable[-1] if applicable else None
    keys = _keys(incident_type)
    position = _position(keys, incident_type, current_key)
    earlier = [question for question in applicable if keys.index(question.key) < position]
    return earlier[-1] if earlier else None


def _keys(incident_type: IncidentType | str) -> list[str]:
    return [question.key for question in FLOWS[IncidentType(incident_type)]]


def _position(keys: list[str], incident_type: IncidentType | str, key: str) -> int:
    """Index of `key` in the flow; KeyError (not ValueError) for a key the type does not ask."""
    if key not in keys:
        raise KeyError(f"{incident_type}: no question {key!r}")
    return keys.index(key)


def pending_question(incident_type: IncidentType | str, answers: Answers) -> Question | None:
    """The first applicable question not answered (nor skipped) yet: where to resume after an edit."""
    for question in applicable_questions(incident_type, answers):
        if question.key not in answers:
            return question
    return None


def is_optional(incident_type: IncidentType | str, key: str) -> bool:
    """Whether the question may be skipped (show a "skip" button)."""
    return get_question(incident_type, key).optional


def all_questions() -> list[Question]:
    """Every distinct question object, including role and type (for checking Fluent ids)."""
    seen: dict[tuple[str, str, str], Question] = {}
    for question in (ROLE_QUESTION, TYPE_QUESTION, *COMMON_QUESTIONS):
        seen.setdefault((question.key, question.prompt, question.choice_prefix), question)
    for flow in FLOWS.values():
        for question in flow:
            seen.setdefault((question.key, question.prompt, question.choice_prefix), question)
    return list(seen.values())
