"""Last line of defence: a handler that fails tells the user politely instead of going silent.

The update stays pending in the inbox and is retried; the apology is sent only on the final attempt,
so a transient fault that a retry fixes is invisible to the user.
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.types import ErrorEvent

from bot.health import dependency_of
from bot.i18n import Catalog

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, bot: Bot, catalog: Catalog, final_attempt: bool = True,
                   locale: str | None = None) -> bool:
    update = event.update
    if dependency_of(event.exception) is None:
        log.error("update %s failed: %r", update.update_id, event.exception, exc_info=event.exception)
    # else: the database or Redis may be gone; the update processor checks and logs it once per outage.
    if not final_attempt:
        raise event.exception
    chat_id = _chat_id(event)
    if chat_id is not None:
        try:
            await bot.send_message(chat_id, catalog.translator(locale).t("error-generic"))
        except Exception as exc:  # the apology itself must never raise
            log.warning("could not send the error notice: %r", exc)
    raise event.exception


def _chat_id(event: ErrorEvent) -> int | None:
    update = event.update
    if update.message is not None:
        return update.message.chat.id
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    return None


def build() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
