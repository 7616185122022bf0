"""The intake: what the bot asks about an incident, how answers are validated, how serious a report
is, what advice to give at once and which indicators (phones, bank accounts, links, profiles) it names.

Pure domain code: no Telegram, no database. Every text is a Fluent id from `locales/*/intake.ftl`:
  q-<key>                       the question (Question.prompt; a few types use q-<type>-<key>)
  label-<key>                   short label for the summary and case card (Question.label)
  <Question.choice_prefix>-<k>  a choice's button label (choice-<key>-<k>, choice-yesno-<k>,
                                choice-when-<k>, role-<k>, type-<k>); underscores become hyphens
  err-…, advice-…, reason-…, severity-…
"""

from .advice import ADVICE_RULES, BASE_ADVICE, advice_for, new_advice
from .answers import (
    ERROR_IDS,
    SYNONYMS,
    is_skip,
    labels_with_synonyms,
    match_choice,
    match_choices,
    parse_answer,
    parse_bank_accounts,
    parse_button,
    parse_class,
    parse_integer,
    skip_answer,
    value_is_valid,
)
from .banks import BANKS, Bank, bank_name, find_bank, find_banks
from .dates import VN_TZ, format_when, local_today, parse_when
from .display import AnswerDisplay, SummaryItem, describe_answer, summary_items
from .flows import (
    COMMON_QUESTIONS,
    FLOWS,
    ROLE_QUESTION,
    TYPE_QUESTION,
    all_questions,
    applicable_questions,
    first_question,
    get_question,
    is_optional,
    next_question,
    pending_question,
    previous_question,
    prune_answers,
    questions_for,
)
from .indicators import Indicator, extract_indicators, indicators_in_text, kind_label_id, query_indicators
from .links import canonical_profile, find_urls, normalize_url
from .model import AnswerKind, Condition, IncidentType, Parsed, Question, Role, Severity, slug, when
from .money import format_amount, parse_amount
from .phones import format_phone, normalize_phone, parse_phones
from .severity import RULES, Assessment, Rule, assess_severity
from .textnorm import fold

__all__ = [
    "ADVICE_RULES",
    "BANKS",
    "BASE_ADVICE",
    "COMMON_QUESTIONS",
    "ERROR_IDS",
    "FLOWS",
    "ROLE_QUESTION",
    "RULES",
    "SYNONYMS",
    "TYPE_QUESTION",
    "VN_TZ",
    "AnswerDisplay",
    "AnswerKind",
    "Assessment",
    "Bank",
    "Condition",
    "IncidentType",
    "Indicator",
    "Parsed",
    "Question",
    "Role",
    "Rule",
    "Severity",
    "SummaryItem",
    "advice_for",
    "all_questions",
    "applicable_questions",
    "assess_severity",
    "bank_name",
    "canonical_profile",
    "describe_answer",
    "extract_indicators",
    "find_bank",
    "find_banks",
    "find_urls",
    "first_question",
    "fold",
    "format_amount",
    "format_phone",
    "format_when",
    "get_question",
    "indicators_in_text",
    "is_optional",
    "is_skip",
    "kind_label_id",
    "labels_with_synonyms",
    "local_today",
    "match_choice",
    "match_choices",
    "new_advice",
    "next_question",
    "normalize_phone",
    "normalize_url",
    "parse_amount",
    "parse_answer",
    "parse_bank_accounts",
    "parse_button",
    "parse_class",
    "parse_integer",
    "parse_phones",
    "parse_when",
    "pending_question",
    "previous_question",
    "prune_answers",
    "query_indicators",
    "questions_for",
    "skip_answer",
    "slug",
    "summary_items",
    "value_is_valid",
    "when",
]
