"""Indicators: the phone numbers, bank accounts, links and profiles a report names.

They are what lets a parent ask later "was this number / account / link already reported?", so each
one is normalised to a canonical value: equal things must compare equal however they were typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .banks import BANKS_BY_CODE, Bank, bank_mentions, bank_name
from .flows import FLOWS
from .links import (
    canonical_profile,
    find_url_spans,
    is_platform_host,
    normalize_url,
    profile_display,
    url_host,
)
from .model import AnswerKind, IncidentType, Question
from .phones import find_phones, format_phone, normalize_phone
from .textnorm import fold_words, phrases

PHONE, BANK_ACCOUNT, URL, DOMAIN, PROFILE = "phone", "bank_account", "url", "domain", "profile"
KINDS = (PHONE, BANK_ACCOUNT, URL, DOMAIN, PROFILE)


def kind_label_id(kind: str) -> str:
    """Fluent id naming an indicator kind ("bank_account" → "indicator-bank-account")."""
    return "indicator-" + kind.replace("_", "-")


ACCOUNT_KEYWORDS = phrases(
    "stk | so tk | so tai khoan | tai khoan | tk | account | acc | acct | a c | chuyen khoan | ck"
    " | chuyen vao | nap vao | so the | the atm | atm"
)
"""Folded words announcing an account number ("STK: …", "số tài khoản …", "chuyển khoản vào …")."""

_DIGITS = re.compile(r"(?<![\d])\+?\d(?:[ .\-]?\d){5,18}(?!\d)")
_MAX_WORDS_BETWEEN = 4
_MONEY_AFTER = re.compile(r"^(?:d|vnd|dong|k|tr|trieu|nghin|ngan|ty|cu)(?![a-z0-9])")


@dataclass(frozen=True, slots=True)
class Indicator:
    """`kind` is one of KINDS; `value` the canonical form compared across reports; `display` for people.

    Values: phone "+84912345678"; bank_account "VCB:0123456789" (":0123456789" when the bank is not
    known); url "https://facebook.com/abc"; domain "abc.vn"; profile "facebook:abc", "tiktok:@abc",
    "zalo:+84912345678".
    """

    kind: str
    value: str
    display: str

    @property
    def lookup_key(self) -> str:
        """What to compare when checking "already reported?": a bank account matches on its number
        alone, because one reporter may name the bank and another not."""
        if self.kind == BANK_ACCOUNT:
            return f"{BANK_ACCOUNT}:{self.value.partition(':')[2]}"
        return f"{self.kind}:{self.value}"


SHARED_KINDS = (PHONE, BANK_ACCOUNT, DOMAIN)
"""The kinds that tie reports together: the same scammer's number, account or site."""


def stored_forms(kind: str, value: str) -> list[str]:
    """Every stored `value` of `kind` that names the same thing as `value`, for "already reported?" lookups
    (`storage.cases.naming`). A bank account matches on its number alone (see `Indicator.lookup_key`), so
    it is looked up under every known bank code and none — an IN list the (kind, value) index serves."""
    if kind == BANK_ACCOUNT:
        number = value.partition(":")[2] if ":" in value else value
        return [f"{code}:{number}" for code in ("", *BANKS_BY_CODE)]
    return [value]


class _Collector:
    """Ordered, de-duplicated indicators (the first display of a value wins)."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str], Indicator] = {}

    def add(self, kind: str, value: str, display: str) -> None:
        self.found.setdefault((kind, value), Indicator(kind, value, display))

    def phone(self, e164: str) -> None:
        self.add(PHONE, e164, format_phone(e164))

    def bank_account(self, bank: str | None, digits: str) -> None:
        code = bank or ""
        self.add(BANK_ACCOUNT, f"{code}:{digits}", f"{bank_name(code)} {digits}" if code else digits)

    def url(self, url: str) -> None:
        normalised = normalize_url(url)
        if normalised is None:
            return
        self.add(URL, normalised, normalised)
        host = url_host(normalised)
        if host and not is_platform_host(host):
            self.add(DOMAIN, host, host)
        profile = canonical_profile(normalised)
        if profile:
            self.add(PROFILE, profile, profile_display(profile))
            if profile.startswith("zalo:+"):
                self.phone(profile.removeprefix("zalo:"))

    def text(self, text: str) -> None:
        for indicator in indicators_in_text(text):
            self.found.setdefault((indicator.kind, indicator.value), indicator)

    def result(self) -> list[Indicator]:
        return list(self.found.values())


# --- free text ------------------------------------------------------------------------------------------

_KEYWORD = re.compile(
    r"(?<![a-z0-9])(" + "|".join(sorted(ACCOUNT_KEYWORDS, key=len, reverse=True)) + r")(?![a-z0-9])"
)
_BANK_AFTER = re.compile(r"^\s*(?:(?:tai|o|bank|cua)\s+)*(\S.*)$")

FILLER_WORDS = frozenset(
    phrases(
        "so | la | cua | toi | minh | em | anh | chi | vao | den | qua | ngan | hang | nh | tai | khoan"
        " | tk | stk | chu | thu | huong | nhan | sau | day | o | ben | a | gap | ngay | giup | cho | nguoi"
        " | the | atm | is | number | no | to | at"
    )
)
"""Words that may stand between "STK"/a bank name and the number: "số tài khoản của tôi là …"."""


def _only_filler(folded_tail: str) -> bool:
    """Whether the words after a keyword are only filler and bank names (at most a few of them)."""
    rest = folded_tail
    for start, end, _ in reversed(bank_mentions(rest)):
        rest = rest[:start] + " " + rest[end:]
    words = rest.split()
    return len(words) <= _MAX_WORDS_BETWEEN and all(word in FILLER_WORDS for word in words)


def _bank_before(gap: str) -> tuple[bool, Bank | None]:
    """(is an account number, bank) judged from the few words just before a digit run:
    "STK: …", "số tài khoản Vietcombank của tôi là …", "VCB 0123…" — but not "Vietcombank, liên hệ 09…"."""
    folded = fold_words(gap)[-80:]
    mentions = bank_mentions(folded)
    keywords = list(_KEYWORD.finditer(folded))
    by_keyword = bool(keywords) and _only_filler(folded[keywords[-1].end() :])
    by_bank = bool(mentions) and _only_filler(folded[mentions[-1][1] :])
    is_account = by_keyword or by_bank
    return is_account, (mentions[-1][2] if is_account and mentions else None)


def _bank_after(gap: str) -> Bank | None:
    """A bank named right after a digit run ("0123456789 - Vietcombank", "0123456789 tại NH Á Châu")."""
    match = _BANK_AFTER.match(fold_words(gap)[:40])
    if not match:
        return None
    rest = match.group(1)
    for candidate in (rest, re.sub(r"^(?:ngan hang|nh)\s+", "", rest)):
        mentions = bank_mentions(candidate)
        if mentions and mentions[0][0] == 0:
            return mentions[0][2]
    return None


def indicators_in_text(text: str) -> list[Indicator]:
    """Indicators in running text such as a forwarded scam message.

    Links first (their digits are not numbers of their own); then digit runs: one announced by an
    account word ("stk", "số tài khoản") or a bank name is a bank account — even when it is shaped like
    a phone number, since many banks let customers use their phone number as account number; any
    other valid Vietnamese number is a phone.
    """
    text = (text or "")[:20_000]
    collector = _Collector()
    masked = list(text)
    for start, end, url in find_url_spans(text):
        collector.url(url)
        masked[start:end] = " " * (end - start)
    plain = "".join(masked)
    runs = list(_DIGITS.finditer(plain))
    account_spans: list[tuple[int, int]] = []
    for index, run in enumerate(runs):
        gap_before = plain[runs[index - 1].end() if index else 0 : run.start()]
        gap_after = plain[run.end() : runs[index + 1].start() if index + 1 < len(runs) else len(plain)]
        digits = re.sub(r"\D", "", run.group(0))
        if _MONEY_AFTER.match(fold_words(gap_after)):
            continue  # "chuyển khoản 5.000.000đ": an amount, not an account
        is_account, bank = _bank_before(gap_before)
        after = _bank_after(gap_after)
        if not is_account and after is not None and normalize_phone(run.group(0)) is None:
            is_account = True
        bank = bank or after
        if is_account and 6 <= len(digits) <= 19 and not run.group(0).startswith("+"):
            collector.bank_account(bank.code if bank else None, digits)
            account_spans.append((run.start(), run.end()))
    for match in find_phones(plain):
        if not any(start <= match.start < end for start, end in account_spans):
            collector.phone(match.e164)
    return collector.result()


# --- answers ------------------------------------------------------------------------------------------


def _questions(incident_type: IncidentType | str) -> dict[str, Question]:
    try:
        return {question.key: question for question in FLOWS[IncidentType(incident_type)]}
    except ValueError:
        return {}


def extract_indicators(
    incident_type: IncidentType | str, answers: Mapping[str, Any], extra_texts: Iterable[str] = ()
) -> list[Indicator]:
    """Every indicator named by the answers of a report and by extra texts (forwarded messages,
    captions), de-duplicated, in order of appearance.

    Answers are read by the kind of their question: phone lists, link lists and bank accounts are taken
    as given; free text is scanned (except where the question says not to, like the victim's name).
    Unknown keys holding text are scanned too.
    """
    questions = _questions(incident_type)
    collector = _Collector()
    for key, value in answers.items():
        question = questions.get(key)
        kind = question.kind if question else None
        if kind == AnswerKind.PHONES and isinstance(value, list):
            for phone in value:
                normalised = normalize_phone(str(phone))
                if normalised:
                    collector.phone(normalised)
        elif kind == AnswerKind.URLS and isinstance(value, list):
            for url in value:
                collector.url(str(url))
        elif kind == AnswerKind.BANK_ACCOUNT and isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and str(item.get("account", "")).isdigit():
                    collector.bank_account(item.get("bank"), str(item["account"]))
        elif kind in (AnswerKind.TEXT, None) and isinstance(value, str):
            if question is None or question.scan_indicators:
                collector.text(value)
    for text in extra_texts:
        collector.text(text)
    return collector.result()


def query_indicators(text: str) -> list[Indicator]:
    """What a parent's "was this reported?" query may mean: a bare number is both a phone (when valid)
    and an account number; a link gives its URL, domain and profile."""
    found = indicators_in_text(text)
    digits = re.sub(r"[\s.\-]", "", (text or "").strip())
    if re.fullmatch(r"\+?\d{6,19}", digits):
        collector = _Collector()
        for indicator in found:
            collector.found.setdefault((indicator.kind, indicator.value), indicator)
        phone = normalize_phone(digits)
        if phone:
            collector.phone(phone)
        if not digits.startswith("+"):
            collector.bank_account(None, digits)
        return collector.result()
    return found
