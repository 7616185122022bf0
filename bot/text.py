"""Text helpers shared by every channel: accent folding (one implementation, the intake's) and truncation."""

from __future__ import annotations

from bot.intake.textnorm import fold

__all__ = ["cut", "fold"]


def cut(text: str, limit: int, ellipsis: str = "…") -> str:
    """Shorten `text` to at most `limit` characters, marking the cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(ellipsis))].rstrip() + ellipsis
