"""Text helpers shared by every channel: accent folding and safe truncation."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics (đ→d) and collapse spaces, for matching typed input.

    Parents often type without diacritics ("thcs ngoc son"); matching on folded forms makes that
    find "THCS Ngọc Sơn".
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", stripped.casefold()).strip()


def cut(text: str, limit: int, ellipsis: str = "…") -> str:
    """Shorten `text` to at most `limit` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(ellipsis))].rstrip() + ellipsis
