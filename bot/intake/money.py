"""Amounts of money as Vietnamese parents type them: "5tr", "5 triệu", "500k", "5.000.000đ", "1,2tr",
"5 triệu 500", "3 triệu rưỡi", "1 tỷ 2" … → an integer number of đồng.

Severity and police routing depend on the amount (≥ 50 million is critical), so we would rather ask
again than guess: an ambiguous answer gives None and the user is asked to rephrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .textnorm import fold

MIN_AMOUNT = 1_000
"""Below this a bare number ("5") almost surely means "5 triệu" typed without a unit: ask again."""
MAX_AMOUNT = 10**13

UNITS: dict[str, int] = {
    "ty": 1_000_000_000,
    "ti": 1_000_000_000,
    "trieu": 1_000_000,
    "tr": 1_000_000,
    "cu": 1_000_000,  # "5 củ", colloquial for a million
    "m": 1_000_000,
    "nghin": 1_000,
    "ngan": 1_000,
    "k": 1_000,
    "vnd": 1,
    "dong": 1,
    "d": 1,
}
"""Unit words after folding (đ→d, no diacritics), largest multiplier first where prefixes overlap."""

_UNIT_RE = "|".join(sorted(UNITS, key=len, reverse=True))
_TOKEN = re.compile(
    rf"(?<![\d.,])(?P<num>\d+(?:[.,]\d+)*)(?:\s*(?P<unit>{_UNIT_RE})(?P<half>\s*ruoi)?)?(?![a-z])"
)


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    number: str
    multiplier: int | None  # None: no unit
    half: bool


def _to_decimal(number: str) -> Decimal | None:
    """ "5.000.000" and "5,000,000" are grouped thousands; "5,5" and "1.2" are decimals."""
    separators = re.findall(r"[.,]", number)
    groups = re.split(r"[.,]", number)
    try:
        if not separators:
            return Decimal(number)
        if len(set(separators)) == 1 and all(len(group) == 3 for group in groups[1:]):
            return Decimal("".join(groups))
        if len(separators) == 1:
            return Decimal(f"{groups[0]}.{groups[1]}")
    except InvalidOperation:
        return None
    return None


def _tokens(folded: str) -> list[_Token]:
    result = []
    for match in _TOKEN.finditer(folded):
        unit = match.group("unit")
        result.append(
            _Token(
                match.start(),
                match.end(),
                match.group("num"),
                UNITS[unit] if unit else None,
                bool(match.group("half")),
            )
        )
    return result


def _expressions(folded: str) -> list[tuple[Decimal, bool]]:
    """Group tokens into amounts; returns (value, has_unit) for each.

    "2 triệu 500 nghìn" is one amount (units decreasing, only spaces between); a bare number right
    after a unit fills the next digits ("5tr5" = 5,5 triệu, "5 triệu 500" = 5.500.000, "1 tỷ 2" =
    1,2 tỷ) when nothing but punctuation or the end follows it.
    """
    tokens = _tokens(folded)
    amounts: list[tuple[Decimal, bool]] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        value = _to_decimal(token.number)
        if value is None:
            return []
        multiplier = token.multiplier or 1
        total = value * multiplier + (Decimal(multiplier) / 2 if token.half else 0)
        has_unit = token.multiplier is not None
        last_multiplier = token.multiplier
        index += 1
        while index < len(tokens) and last_multiplier and last_multiplier > 1:
            following = tokens[index]
            if folded[tokens[index - 1].end : following.start].strip():
                break
            if following.multiplier is None:
                rest = folded[following.end :].lstrip()
                if (
                    (rest and rest[0].isalpha())
                    or len(following.number) > 3
                    or not following.number.isdigit()
                ):
                    break
                total += Decimal(following.number) * last_multiplier / (10 ** len(following.number))
                index += 1
                break
            if following.multiplier >= last_multiplier:
                break
            part = _to_decimal(following.number)
            if part is None:
                return []
            total += part * following.multiplier
            last_multiplier = following.multiplier
            index += 1
        amounts.append((total, has_unit))
    return amounts


def parse_amount(text: str) -> int | None:
    """The amount of money in `text` in đồng, or None when there is none or it is ambiguous.

    When several numbers appear ("chuyển 2 lần, tổng 5tr") the one with a money unit wins; two
    amounts with units, or a bare number below 1.000 đ, give None so the user is asked again.
    """
    folded = fold(text or "")[:200]
    expressions = _expressions(folded)
    with_unit = [value for value, has_unit in expressions if has_unit]
    if len(with_unit) == 1:
        value = with_unit[0]
    elif not with_unit and len(expressions) == 1:
        value = expressions[0][0]
    else:
        return None
    amount = int(value.to_integral_value())
    if amount < MIN_AMOUNT or amount > MAX_AMOUNT:
        return None
    return amount


def format_amount(amount: int) -> str:
    """Vietnamese display: 5000000 → "5.000.000 đ"."""
    return f"{amount:,}".replace(",", ".") + " đ"
