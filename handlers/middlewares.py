"""Middlewares: one database session per update, and the user's translator.

The session is committed in exactly one place, here, together with marking the update handled in the
inbox, so an update's effects and its "done" mark land atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.fsm.context import FSMContext
from aiogram.types import TelegramObject, Update, User

from bot import replies
from bot.i18n import Catalog
from bot.ratelimit import SlidingWindow
from storage import inbox, outbox, reporters
from storage.db import Database, current_session

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
log = logging.getLogger(__name__)

CONVERSATION_STEP = {"commit": "lazy"}
"""Flags of a handler whose work concerns only the person it answers: a step of their own conversation
(an answer noted in their draft, the next question asked). Its update commits without waiting for an fsync
(`LazyCommitMiddleware`), so a slow disk never stands between a reporter and the next question. The commit
is kept if the process dies; a power cut may lose it, and then it is lost together with the update's "done"
mark, while the update itself was on disk before Telegram was told it arrived (`bot.runtime`): it is
handled again, repeating at worst the last reply, as after a crash. Anything that reaches someone else
(the outbox) makes the commit durable whatever the flags say."""


class DbSessionMiddleware(BaseMiddleware):
    """Outermost of ours, and ahead of aiogram's FSM middleware (see `bot.app.make_dispatcher`), so that
    reading the conversation state, the handlers and the inbox mark share one transaction.

    The update is marked handled *first*: if it already was (a redelivery, or another instance took it after
    this one's lease ran out), nothing runs and the caller is told so; otherwise the mark and the effects
    commit together or not at all. On PostgreSQL the mark also locks the inbox row, so a second instance
    handling the same update waits for the first and then skips it.

    What the handlers say to the user is held until the commit and sent after it, with the database
    connection already released (`bot.replies`): nobody waits for Telegram's round trip but the user it
    answers, and nothing is announced that the commit did not keep."""

    def __init__(self, db: Database, on_commit: Callable[[], None] | None = None, *, instance: str) -> None:
        self.db, self.instance = db, instance
        self.on_commit = on_commit  # wakes the delivery worker when the commit queued messages
        self.ledger = replies.Ledger(db, wake=on_commit)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        held = replies.Replies(event.update_id if isinstance(event, Update) else 0, self.instance)
        replies.attach(data["bot"])
        token = replies.current.set(held)
        try:
            result = await self._in_transaction(handler, event, data, held)
        except BaseException:
            held.discard()
            raise
        finally:
            replies.current.reset(token)
        await held.send(self.ledger)
        return result

    async def _in_transaction(self, handler: Handler, event: TelegramObject, data: dict[str, Any],
                              held: replies.Replies) -> Any:
        async with self.db.transaction() as transaction:
            session = transaction.session
            token = current_session.set(session)
            try:
                if isinstance(event, Update) and not await inbox.mark_done(session, event.update_id):
                    log.info("update %s was already handled; not handling it again", event.update_id)
                    await transaction.rollback()
                    return inbox.ALREADY_HANDLED
                data["session"], data["transaction"] = session, transaction
                result = await handler(event, data)
                await held.record(session)
                enqueued = outbox.was_enqueued(session)
                transaction.durable |= enqueued  # what others are told is on disk first
                await transaction.commit()
                if self.on_commit is not None and enqueued:
                    self.on_commit()
                return result
            finally:
                current_session.reset(token)


class LazyCommitMiddleware(BaseMiddleware):
    """Inner, for every handler: one flagged `CONVERSATION_STEP` lowers its update's commit to a lazy one
    (flags are only known once the handler is chosen, after the outer `DbSessionMiddleware` began)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        transaction = data.get("transaction")
        if transaction is not None and get_flag(data, "commit") == "lazy":
            transaction.durable = False
        return await handler(event, data)


class I18nMiddleware(BaseMiddleware):
    """Picks the language: the reporter's saved choice, then the conversation's, then Telegram's."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        locale = await self._locale(data)
        data["locale"] = locale
        data["i18n"] = self.catalog.translator(locale)
        return await handler(event, data)

    async def _locale(self, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        if user is None:
            return self.catalog.default
        chosen = await reporters.locale_of(data["session"], user.id)
        if chosen:
            return chosen
        state: FSMContext | None = data.get("state")
        if state is not None:
            chosen = (await state.get_data()).get("locale")
            if chosen:
                return str(chosen)
        if user.language_code and user.language_code.startswith("en"):
            return "en"
        return self.catalog.default


class FloodMiddleware(BaseMiddleware):
    """Drops a user's messages beyond the flood limit with one polite warning; nothing else is blocked."""

    def __init__(self, limiter: SlidingWindow) -> None:
        self.limiter = limiter

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or not isinstance(event, Update) or event.message is None:
            return await handler(event, data)
        if self.limiter.hit(user.id):
            return await handler(event, data)
        if self.limiter.should_warn(user.id):
            await event.message.answer(data["i18n"].t("flood-warning"))
        return None
