"""getUpdates, keeping each update as Telegram sent it.

The poller stores every update in the inbox as JSON before handling it. Dumping aiogram's parsed `Update`
back to JSON cost 8% of the event loop's busy time under load (bench B1), for a copy of what Telegram
had just sent. The session decodes the answer's JSON anyway; this keeps that decoded
list for the call that asked for it (a context variable set around the call, so concurrent requests are
never confused). When the session does not decode JSON (a test double), the models are dumped instead.

The poller may ask again for updates it has already stored (`bot.runtime.InboxPoller`: their sync was not
over yet); `skip_below` drops those from the decoded answer before aiogram validates a single one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.types import Update


class _Sink:
    """What one `get_updates` call decoded, and the update ids it does not want."""

    def __init__(self, skip_below: int | None) -> None:
        self.answers: list[Any] = []
        self.skip_below = skip_below

    def keep(self, data: Any) -> None:
        result = data.get("result") if isinstance(data, dict) else None
        if self.skip_below is not None and isinstance(result, list):
            data["result"] = [raw for raw in result if not (isinstance(raw, dict) and _id_below(raw, self.skip_below))]
        self.answers.append(data)


def _id_below(raw: dict[str, Any], bound: int) -> bool:
    update_id = raw.get("update_id")
    return isinstance(update_id, int) and update_id < bound


_decoded: ContextVar[_Sink | None] = ContextVar("decoded_answers", default=None)


class _Remembering:
    """Wraps a session's `json_loads`: what it decodes during a `get_updates` below is kept."""

    def __init__(self, loads: Callable[..., Any]) -> None:
        self.loads = loads

    def __call__(self, content: str | bytes) -> Any:
        data = self.loads(content)
        sink = _decoded.get()
        if sink is not None:
            sink.keep(data)
        return data


def _raw_list(decoded: list[Any], updates: list[Update]) -> list[dict[str, Any]] | None:
    result = decoded[-1].get("result") if decoded and isinstance(decoded[-1], dict) else None
    if not isinstance(result, list) or len(result) != len(updates):
        return None
    if any(not isinstance(raw, dict) or raw.get("update_id") != update.update_id
           for raw, update in zip(result, updates, strict=True)):
        return None
    return result


async def get_updates(bot: Bot, *, skip_below: int | None = None,
                      **kwargs: Any) -> tuple[list[Update], list[dict[str, Any]]]:
    """`bot.get_updates(**kwargs)`, and each update's JSON object as received; without those whose id is
    below `skip_below` where the session decodes JSON (the caller filters the rest)."""
    if not isinstance(bot.session.json_loads, _Remembering):
        bot.session.json_loads = _Remembering(bot.session.json_loads)
    sink = _Sink(skip_below)
    token = _decoded.set(sink)
    try:
        updates = await bot.get_updates(**kwargs)
    finally:
        _decoded.reset(token)
    raw = _raw_list(sink.answers, updates)
    if raw is None:
        raw = [u.model_dump(mode="json", exclude_none=True, by_alias=True) for u in updates]
    return updates, raw
