"""Validation of answers: typed text or pressed buttons → a normalised JSON value, or an error id.

One parser per answer kind, picked from a table; errors are Fluent ids (`err-…`) that the channel
translates, so every rejection reaches the user as a clear sentence in their language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from . import dates
from .banks import find_banks
from .links import find_urls, normalize_url
from .model import AnswerKind, Parsed, Question
from .money import parse_amount
from .phones import invalid_numbers, parse_phones
from .textnorm import edit_distance, fold, fold_words, initials, phrases, typo_budget

ERROR_IDS = (
    "err-empty",
    "err-required",
    "err-choice",
    "err-choice-item",
    "err-phone",
    "err-url",
    "err-amount",
    "err-date",
    "err-date-future",
    "err-too-long",
    "err-number",
    "err-class",
    "err-bank-account",
    "err-too-many",
)
"""Every error a parser can return (Fluent ids in intake.ftl). Variables: err-choice-item $item,
err-phone $value, err-too-long $max $length, err-number $min $max, err-too-many $max."""

MAX_ITEMS = 10
"""At most this many phone numbers, links or accounts per answer."""
MAX_TYPED = 4000
"""Longer input is rejected before any parsing (Telegram messages are at most 4096 characters)."""

SKIP_WORDS = frozenset(
    phrases(
        "bo qua | skip | khong biet | khong ro | khong nho | k biet | ko biet | dont know | don t know | pass"
    )
)
"""Typed instead of pressing "skip"; only accepted for optional questions."""

NONE_WORDS = frozenset(
    phrases("khong | ko | k | khong co | ko co | k co | khong co gi | chua co | khong thay | none | no | nothing")
)
"""Typed to an optional question that asks for values (links, phone numbers, an account, an amount, a
class, free text): "there are none", so it is skipped too. Not for questions answered by choices, where
"không" may be the answer itself ("no")."""

ALL_WORDS = frozenset({"tat ca", "ca", "all", "toan bo", "het"})
"""A typed multi-choice answer meaning every choice except "other"."""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "yes": phrases(
        "co | c | u | uh | um | vang | da | da co | dung | dung roi | roi | co roi | y | ok | yes | yep"
    ),
    "no": phrases("khong | ko | k | kh | hok | khg | kg | chua | khong co | n | no | nope"),
    "unknown": phrases(
        "khong biet | ko biet | k biet | khong ro | chua ro | chua biet | dont know | not sure"
    ),
    "partly": phrases("mot phan | 1 phan | mot it | partly | partial | con mot phan"),
    "facebook": phrases("fb | face | phay buc | messenger | mess"),
    "zalo": phrases("zl | za lo"),
    "tiktok": phrases("tik tok | tt"),
    "instagram": phrases("ig | insta"),
    "youtube": phrases("yt | you tube"),
    "website": phrases("web | trang web | site"),
    "sms": phrases("tin nhan | nhan tin | tin nhan sms"),
    "phone_call": phrases("goi dien | cuoc goi | dien thoai | call | goi"),
    "today": tuple(word for word, days in dates.DAYS_AGO_WORDS.items() if days == 0),
    "yesterday": tuple(word for word, days in dates.DAYS_AGO_WORDS.items() if days == 1),
    "this_week": tuple(
        word for word, period in dates.PERIOD_WORDS.items() if period == dates.PERIOD_THIS_WEEK
    ),
    "earlier": tuple(word for word, period in dates.PERIOD_WORDS.items() if period == dates.PERIOD_EARLIER),
    "otp": phrases("ma otp | ma xac thuc | ma xac nhan"),
    "money": phrases("tien | chuyen tien"),
}
"""Extra folded spellings of choice keys, on top of the localised labels the caller passes."""

ABBREVIATIONS: dict[str, str] = {
    "tk": "tai khoan",
    "sdt": "so dien thoai",
    "dt": "dien thoai",
    "gv": "giao vien",
    "hs": "hoc sinh",
    "ph": "phu huynh",
    "nv": "nhan vien",
    "nh": "ngan hang",
    "ttcn": "thong tin ca nhan",
}
"""Abbreviations people type, expanded when the text as typed matches nothing ("tk hs")."""

_SPLIT_MULTI = re.compile(r"\s*(?:[,;/+&\n]|\bva\b|\band\b)\s*")
_POLITE_HEAD = re.compile(r"^(?:da|thua)\s+(?=\S)")
_POLITE_TAIL = re.compile(r"(?<=\S)\s+(?:a|nhe|nha|a oi|oi)$")


# --- choices ----------------------------------------------------------------------------------------


def _forms(key: str, labels: Sequence[str]) -> set[str]:
    """Every folded spelling of a choice: its key ("phone_call" → "phone call") and its labels."""
    forms = {fold_words(key.replace("_", " "))}
    forms.update(fold_words(label) for label in labels)
    forms.discard("")
    return forms


def _unique(keys: set[str]) -> str | None:
    return next(iter(keys)) if len(keys) == 1 else None


def match_choice(text: str, labels: Mapping[str, Sequence[str]]) -> str | None:
    """The choice key that typed `text` means, or None if it matches none or is ambiguous.

    `labels` maps each choice key to its labels (pass the labels of every language, e.g. ["Có", "Yes"]).
    Case, diacritics, punctuation and emoji are ignored; tried in order, each stage must give exactly
    one key: exact match, match without spaces ("tik tok"), initials ("sdt" for "Số điện thoại"),
    small typos ("facebok"), a unique prefix or words ("insta", "ten" for "Họ tên", "mao danh").
    """
    typed = _POLITE_TAIL.sub("", _POLITE_HEAD.sub("", fold_words(text or "")[:200]))
    if not typed:
        return None
    forms = {key: _forms(key, key_labels) for key, key_labels in labels.items()}
    expanded = " ".join(ABBREVIATIONS.get(word, word) for word in typed.split())
    for variant in dict.fromkeys((typed, expanded)):
        found, key = _match_variant(variant, forms)
        if found:
            return key
    return None


def _match_variant(typed: str, forms: Mapping[str, set[str]]) -> tuple[bool, str | None]:
    """(some stage matched, the unique key or None when that stage was ambiguous)."""
    compact = typed.replace(" ", "")
    stages: list[Callable[[str], bool]] = [
        lambda form: form == typed,
        lambda form: form.replace(" ", "") == compact,
        lambda form: len(compact) >= 2 and " " in form and initials(form) == compact,
        lambda form: edit_distance(compact, form.replace(" ", ""), 2) <= typo_budget(form.replace(" ", "")),
        lambda form: (
            len(compact) >= 3 and (form.replace(" ", "").startswith(compact) or f" {typed} " in f" {form} ")
        ),
    ]
    for stage in stages:
        hits = {key for key, key_forms in forms.items() if any(stage(form) for form in key_forms)}
        if hits:
            return True, _unique(hits)
    return False, None


def match_choices(text: str, labels: Mapping[str, Sequence[str]]) -> tuple[list[str], list[str]]:
    """A typed multi-choice answer ("tên, sđt và ảnh") → (matched keys in choice order, parts not understood).

    "tất cả"/"all" selects every choice except "other".
    """
    if fold_words(text or "") in ALL_WORDS:
        return [key for key in labels if key != "other"], []
    whole = match_choice(text, labels)
    if whole is not None:
        return [whole], []
    matched: set[str] = set()
    unknown: list[str] = []
    for part in _SPLIT_MULTI.split(fold(text or "")[:500]):
        if not part.strip():
            continue
        key = match_choice(part, labels)
        if key is None:
            unknown.append(part.strip())
        else:
            matched.add(key)
    return [key for key in labels if key in matched], unknown


def labels_with_synonyms(
    question: Question, choice_labels: Mapping[str, Sequence[str]] | None
) -> dict[str, list[str]]:
    """The labels to match typed text against: the caller's translations plus our SYNONYMS."""
    given = choice_labels or {}
    return {key: [*given.get(key, ()), *SYNONYMS.get(key, ())] for key in question.choices}


# --- other kinds --------------------------------------------------------------------------------------

_CLASS_SHORT = re.compile(r"^(1[0-2]|[1-9])\s*([a-z]{1,2})\s*(\d{1,2})?$")
_CLASS_SLASH = re.compile(r"^(1[0-2]|[1-9])\s*[/.\-]\s*(\d{1,2})$")
_CLASS_PREFIX = re.compile(r"^(?:lop|class|grade|khoi)\s*", re.I)
_INTEGER = re.compile(r"(?<![\d.,])(\d{1,3}(?:[.,]\d{3})+|\d+)(?:\s*(k|nghin|ngan)(?![a-z]))?")
_BANK_DIGITS = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){5,18}(?!\d)")


def parse_class(text: str) -> str | None:
    """A school class → canonical form: "6a" → "6A", "lớp 10 a1" → "10A1", "7/3" → "7/3",
    "10 Toán" → "10 Toán"; grades 1–12. None when it is not a class."""
    original = " ".join((text or "").split())[:40]
    folded = _CLASS_PREFIX.sub("", fold(original))
    match = _CLASS_SHORT.match(folded)
    if match:
        return f"{match.group(1)}{match.group(2).upper()}{match.group(3) or ''}"
    match = _CLASS_SLASH.match(folded)
    if match:
        return f"{match.group(1)}/{int(match.group(2))}"
    words = original.split()
    if words and fold(words[0]) in ("lop", "class", "grade", "khoi"):
        words = words[1:]
    if words and re.fullmatch(r"1[0-2]|[1-9]", words[0]) and len(words) <= 4:
        rest = " ".join(words[1:])
        if not rest or re.fullmatch(r"[^\W\d_][\w ]{0,19}", rest):
            return " ".join(words)
    return None


def parse_integer(text: str) -> int | None:
    """A count such as "khoảng 40", "hơn 1.200 em", "40-50" (→ 50, the larger), "2 nghìn" → 2000."""
    values = []
    for match in _INTEGER.finditer(fold(text or "")[:200]):
        value = int(re.sub(r"[.,]", "", match.group(1)))
        values.append(value * 1000 if match.group(2) else value)
    return max(values) if values else None


def parse_bank_accounts(text: str) -> list[dict[str, str | None]]:
    """Account numbers (6–19 digits, spaces allowed) with the bank named next to each.

    "VCB 0123456789" and "0123456789 - Vietcombank" both work; with several accounts the bank is read
    on the same side as for the first one ("VCB 1111111, MB 2222222").
    """
    text = (text or "")[:1000]
    runs = list(_BANK_DIGITS.finditer(text))
    if not runs:
        return []
    gaps = [text[: runs[0].start()]]
    gaps += [
        text[previous.end() : current.start()] for previous, current in zip(runs, runs[1:], strict=False)
    ]
    gaps.append(text[runs[-1].end() :])
    if len(runs) == 1:
        banks = find_banks(text)
        chosen = [banks[0] if banks else None]
    else:
        before = bool(find_banks(gaps[0]))
        sides = gaps[:-1] if before else gaps[1:]
        chosen = [next(iter(find_banks(side)), None) for side in sides]
    result: dict[str, dict[str, str | None]] = {}
    for run, bank in zip(runs, chosen, strict=True):
        digits = re.sub(r"\D", "", run.group(0))
        result.setdefault(
            f"{bank.code if bank else ''}:{digits}", {"bank": bank.code if bank else None, "account": digits}
        )
    return list(result.values())[:MAX_ITEMS]


# --- the parsers, one per kind ------------------------------------------------------------------------

Parser = Callable[[Question, str, datetime, Mapping[str, Sequence[str]] | None], Parsed]


def _single(
    question: Question, text: str, now: datetime, labels: Mapping[str, Sequence[str]] | None
) -> Parsed:
    key = match_choice(text, labels_with_synonyms(question, labels))
    return Parsed.success(key) if key else Parsed.failure("err-choice")


def _multi(
    question: Question, text: str, now: datetime, labels: Mapping[str, Sequence[str]] | None
) -> Parsed:
    keys, unknown = match_choices(text, labels_with_synonyms(question, labels))
    if unknown:
        return Parsed.failure("err-choice-item", item=unknown[0][:50])
    return Parsed.success(keys) if keys else Parsed.failure("err-choice")


def _when(question: Question, text: str, now: datetime, labels: Mapping[str, Sequence[str]] | None) -> Parsed:
    parsed = dates.parse_when(text, now)
    if parsed.ok or parsed.error == "err-date-future":
        return parsed
    key = match_choice(text, labels_with_synonyms(question, labels))
    return dates.for_choice(key, now) if key else parsed


def _text(question: Question, text: str, now: datetime, labels: Mapping[str, Sequence[str]] | None) -> Parsed:
    if len(text) > question.max_length:
        return Parsed.failure("err-too-long", max=question.max_length, length=len(text))
    return Parsed.success(text)


def _phones(
    question: Question, text: str, now: datetime, labels: Mapping[str, Sequence[str]] | None
) -> Parsed:
    bad = invalid_numbers(text)
    if bad:
        return Parsed.failure("err-phone", value=bad[0][:30])
    phones = parse_phones(text)
    if not phones:
        return Parsed.failure("err-phone", value=text[:30])
    if len(phones) > MAX_ITEMS:
        return Parsed.failure("err-too-many", max=MAX_ITEMS)
    return Parsed.success(phones)


def _urls(question: Question, text: str, now: datetime, labels: Mapping[str, Sequence[str]] | None) -> Parsed:
    urls = find_urls(text)
    if not urls:
        single = normalize_url(text)
        urls = [single] if single else []
    if not urls:
        return Parsed.failure("err-url")
    if len(urls) > MAX_ITEMS:
        return Parsed.failure("err-too-many", max=MAX_ITEMS)
    return Parsed.success(urls)


def _amount(
    question: Question, text: str, now: datetime, labels: Mapping[str, Sequence[str]] | None
) -> Parsed:
    amount = parse_amount(text)
    return Parsed.success(amount) if amount is not None else Parsed.failure("err-amount")


def _integer(
    question: Question, text: str, now: datetime, labels: Mapping[str, Sequence[str]] | None
) -> Parsed:
    value = parse_integer(text)
    if value is None or not question.min_value <= value <= question.max_value:
        return Parsed.failure("err-number", min=question.min_value, max=question.max_value)
    return Parsed.success(value)


def _class(
    question: Question, text: str, now: datetime, labels: Mapping[str, Sequence[str]] | None
) -> Parsed:
    value = parse_class(text)
    return Parsed.success(value) if value else Parsed.failure("err-class")


def _bank(question: Question, text: str, now: datetime, labels: Mapping[str, Sequence[str]] | None) -> Parsed:
    accounts = parse_bank_accounts(text)
    return Parsed.success(accounts) if accounts else Parsed.failure("err-bank-account")


PARSERS: dict[AnswerKind, Parser] = {
    AnswerKind.SINGLE: _single,
    AnswerKind.MULTI: _multi,
    AnswerKind.WHEN: _when,
    AnswerKind.TEXT: _text,
    AnswerKind.PHONES: _phones,
    AnswerKind.URLS: _urls,
    AnswerKind.AMOUNT: _amount,
    AnswerKind.INTEGER: _integer,
    AnswerKind.CLASS: _class,
    AnswerKind.BANK_ACCOUNT: _bank,
}


VALUE_KINDS = frozenset({AnswerKind.TEXT, AnswerKind.PHONES, AnswerKind.URLS, AnswerKind.AMOUNT, AnswerKind.INTEGER,
                         AnswerKind.CLASS, AnswerKind.BANK_ACCOUNT})


def is_skip(text: str) -> bool:
    """Whether typed text means "skip" ("bỏ qua", "không biết", "-")."""
    return fold_words(text or "") in SKIP_WORDS or (text or "").strip() == "-"


def skip_answer(question: Question) -> Parsed:
    """The "skip" button: None for an optional question, `err-required` otherwise."""
    return Parsed.success(None) if question.optional else Parsed.failure("err-required")


def parse_answer(
    question: Question,
    text: str,
    *,
    now: datetime | None = None,
    choice_labels: Mapping[str, Sequence[str]] | None = None,
) -> Parsed:
    """Validate a typed answer to `question`.

    `choice_labels` maps each choice key to its translated labels in every language (what the
    buttons show), so a typed "co" or "Yes" matches. `now` is the moment of answering (tests pass a
    fixed one); dates after it are refused. Never raises on user input.
    """
    text = (text or "").strip()
    if not text:
        return Parsed.failure("err-empty")
    if question.optional and (is_skip(text) or (question.kind in VALUE_KINDS and fold_words(text) in NONE_WORDS)):
        return Parsed.success(None)
    if question.kind != AnswerKind.TEXT and len(text) > MAX_TYPED:
        return Parsed.failure("err-too-long", max=MAX_TYPED, length=len(text))
    return PARSERS[question.kind](question, text, now or datetime.now(dates.VN_TZ), choice_labels)


def parse_button(question: Question, data: str | Sequence[str], *, now: datetime | None = None) -> Parsed:
    """Validate choice keys from pressed buttons (callback data is untrusted).

    SINGLE/WHEN take one key; MULTI takes the selected keys (returned in the question's order).
    """
    keys = [data] if isinstance(data, str) else list(data)
    if not keys or any(key not in question.choices for key in keys):
        return Parsed.failure("err-choice")
    if question.kind == AnswerKind.MULTI:
        return Parsed.success([choice for choice in question.choices if choice in keys])
    if len(keys) != 1:
        return Parsed.failure("err-choice")
    if question.kind == AnswerKind.WHEN:
        return dates.for_choice(keys[0], now or datetime.now(dates.VN_TZ))
    return Parsed.success(keys[0])


def value_is_valid(question: Question, value: Any) -> bool:
    """Cheap shape check of a stored value (e.g. answers restored from storage after an upgrade)."""
    if value is None:
        return question.optional
    if question.kind == AnswerKind.SINGLE:
        return value in question.choices
    if question.kind == AnswerKind.MULTI:
        return isinstance(value, list) and bool(value) and all(item in question.choices for item in value)
    if question.kind in (AnswerKind.AMOUNT, AnswerKind.INTEGER):
        return isinstance(value, int) and not isinstance(value, bool)
    if question.kind in (AnswerKind.PHONES, AnswerKind.URLS, AnswerKind.BANK_ACCOUNT):
        return isinstance(value, list)
    if question.kind == AnswerKind.WHEN:
        return isinstance(value, dict) and "period" in value
    return isinstance(value, str)
