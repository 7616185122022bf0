"""Vietnamese phone numbers → E.164, so "0912 345 678", "+84912345678", "84912345678" and
"0912.345.678" are one number when a parent later asks whether it was already reported."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

REGION = "VN"
MAX_TEXT = 5000
_LEFTOVER_DIGITS = re.compile(r"\+?\d(?:[\s.\-()]?\d){4,}")


@dataclass(frozen=True, slots=True)
class PhoneMatch:
    e164: str
    start: int
    end: int


def find_phones(text: str) -> list[PhoneMatch]:
    """Every valid phone number in `text` (mobiles, landlines, 1900/1800 lines), with its position."""
    result = []
    for match in phonenumbers.PhoneNumberMatcher(
        text[:MAX_TEXT], REGION, leniency=phonenumbers.Leniency.VALID
    ):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        result.append(PhoneMatch(e164, match.start, match.end))
    return result


def parse_phones(text: str) -> list[str]:
    """The distinct valid numbers in `text` as E.164, in order of appearance."""
    return list(dict.fromkeys(match.e164 for match in find_phones(text or "")))


def invalid_numbers(text: str) -> list[str]:
    """Digit runs that look like an attempt at a phone number but are not valid ones.

    A typo in one of several numbers must be reported to the user, not silently dropped.
    """
    text = (text or "")[:MAX_TEXT]
    masked = list(text)
    for match in find_phones(text):
        masked[match.start : match.end] = " " * (match.end - match.start)
    return [run.group(0).strip() for run in _LEFTOVER_DIGITS.finditer("".join(masked))]


def normalize_phone(text: str) -> str | None:
    """One number → E.164, or None if it is not a valid Vietnamese (or international) number."""
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Display form: "+84912345678" → "0912 345 678" (national format for Vietnamese numbers)."""
    try:
        number = phonenumbers.parse(e164, REGION)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 84:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
