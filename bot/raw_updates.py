"""getUpdates, keeping each update as Telegram sent it.

The poller stores every update in the inbox as JSON before handling it. Dumping aiogram's parsed `Update`
back to JSON cost 8% of the event loop's busy time under load (bench B1), for a copy of what Telegram
had just sent. The session decodes the answer's JSON anyway; this keeps that decoded
list for the call that asked for it (a context variable set around the call, so concurrent requests are
never confused). When the session does not decode JSON (a test double), the models are dumped instead.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.types import Update

_decoded: ContextVar[list[Any] | None] = ContextVar("decoded_answers", default=None)


class _Remembering:
    """Wraps a session's `json_loads`: what it decodes during a `get_updates` below is kept."""

    def __init__(self, loads: Callable[..., Any]) -> None:
        self.loads = loads

    def __call__(self, content: str | bytes) -> Any:
        data = self.loads(content)
        sink = _decoded.get()
        if sink is not None:
            sink.append(data)
        return data


def _raw_list(decoded: list[Any], updates: list[Update]) -> list[dict[str, Any]] | None:
    result = decoded[-1].get("result") if decoded and isinstance(decoded[-1], dict) else None
    if not isinstance(result, list) or len(result) != len(updates):
        return None
    if any(not isinstance(raw, dict) or raw.get("update_id") != update.update_id
           for raw, update in zip(result, updates, strict=True)):
        return None
    return result


async def get_updates(bot: Bot, **kwargs: Any) -> tuple[list[Update], list[dict[str, Any]]]:
    """`bot.get_updates(**kwargs)`, and each update's JSON object as received."""
    if not isinstance(bot.session.json_loads, _Remembering):
        bot.session.json_loads = _Remembering(bot.session.json_loads)
    sink: list[Any] = []
    token = _decoded.set(sink)
    try:
        updates = await bot.get_updates(**kwargs)
    finally:
        _decoded.reset(token)
    raw = _raw_list(sink, updates)
    if raw is None:
        raw = [u.model_dump(mode="json", exclude_none=True, by_alias=True) for u in updates]
    return updates, raw
