"""Accent folding and fuzzy comparison for text that people type instead of pressing a button.

Parents often type Vietnamese without diacritics ("co", "khong", "hom qua") or with small typos
("facebok"); every comparison in the intake goes through these helpers so the behaviour is the same
everywhere.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics (incl. đ→d) and collapse whitespace.

    "Hôm  NAY" and "hom nay" fold to the same string, so matching does not depend on the keyboard.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", stripped.casefold()).strip()


def fold_words(text: str) -> str:
    """`fold`, then keep only letters and digits separated by single spaces.

    Used to compare a typed answer with a button label that may carry emoji or punctuation
    ("✅ Có", "Nhóm/OA Zalo").
    """
    return _NOT_WORD.sub(" ", fold(text)).strip()


def initials(text: str) -> str:
    """First letter of every folded word: "Số điện thoại" → "sdt" (how people abbreviate labels)."""
    return "".join(word[0] for word in fold_words(text).split())


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Optimal-string-alignment distance (typos incl. swapped letters), capped at `limit` + 1.

    The cap keeps comparison cheap: we only care whether two words are within a couple of typos.
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


def typo_budget(word: str) -> int:
    """How many typos we forgive for a word of this length: none for short words like "co"/"ko"."""
    if len(word) <= 3:
        return 0
    if len(word) <= 6:
        return 1
    return 2


def phrases(text: str) -> tuple[str, ...]:
    """A word list written compactly in a data table: "bo qua | skip | khong biet" → a tuple."""
    return tuple(item.strip() for item in text.split("|") if item.strip())
