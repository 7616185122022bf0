"""The root router: it hands an event only to the routers whose filters may take it.

aiogram offers an event to each router in turn, and entering a router costs more than its filters do: the
outer middlewares are wrapped, the handler data (twenty keys) is copied three times, and the root
filters and every handler's filters are awaited one by one. A report's button or typed answer went through
five to seven routers before the one that takes it: nearly a quarter of the bot's CPU per update (bench B1).

`Switchboard` first asks each router's filters synchronously, as plain tests, and enters only a router
where some handler may match. It never decides more than aiogram would: a filter it cannot ask as a test
counts as passing, and a router that might take the event is entered and decides with its real filters,
in the usual order, so the handler chosen is the one aiogram's own propagation chooses
(`tests/test_switchboard.py` holds the two side by side on every kind of event the bot handles).

A router that is a plain list of handlers (no sub-routers and no outer middlewares: every router of the
bot) is entered without aiogram's wrapping (`Leaf`): a handler whose tests fail is not asked at all, and
each handler's chain of inner middlewares is built once instead of for every event.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import TelegramObject

from handlers.filters import Check

Test = Callable[[Any, Mapping[str, Any]], bool]
"""Of an event and the handler data; a router's gate is one too."""
ALWAYS: Test = lambda event, data: True  # noqa: E731
NEVER: Test = lambda event, data: False  # noqa: E731
Enter = Callable[[str, TelegramObject, dict[str, Any]], Awaitable[Any]]
"""Offers an event to a router (update type, event, handler data); UNHANDLED when none of it takes it."""


class Switchboard(Router):
    """A root router with no handlers of its own, whose sub-routers are entered only when they may match."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._routes: dict[str, tuple[tuple[Test, Enter], ...]] = {}

    async def _propagate_event(self, observer: TelegramEventObserver | None, update_type: str,
                               event: TelegramObject, **kwargs: Any) -> Any:
        routes = self._routes.get(update_type)
        if routes is None:
            routes = self._routes[update_type] = self._route(observer, update_type)
        for may_take, enter in routes:
            if may_take is ALWAYS or may_take(event, kwargs):
                response = await enter(update_type, event, kwargs)
                if response is not UNHANDLED:
                    return response
        return UNHANDLED

    def _route(self, observer: TelegramEventObserver | None, update_type: str) -> tuple[tuple[Test, Enter], ...]:
        """Built at the first event of its type, when every handler and middleware is registered."""
        if observer is not None and (observer.handlers or observer._handler.filters):
            raise TypeError(f"{self.name}: a switchboard has no {update_type} handlers or filters of its own")
        routes = []
        for router in self.sub_routers:
            may_take = gate(router, update_type)
            if may_take is not NEVER:
                leaf = Leaf.of(router, update_type)
                routes.append((may_take, leaf.enter if leaf is not None else _propagating(router)))
        return tuple(routes)


def _propagating(router: Router) -> Enter:
    """aiogram's own way into `router`."""
    def enter(update_type: str, event: TelegramObject, data: dict[str, Any]) -> Awaitable[Any]:
        return router.propagate_event(update_type=update_type, event=event, **data)
    return enter


class Leaf:
    """A router that is a plain list of handlers for one update type, entered as aiogram would enter it
    (`Router.propagate_event`, then `TelegramEventObserver.trigger`: the handlers in order, the first whose
    filters pass runs inside the inner middlewares, `SkipHandler` goes on to the next), less the work that
    cannot change the outcome: the outer-middleware wrapping it does not have, the handlers whose tests
    fail, and rebuilding each handler's middleware chain."""

    def __init__(self, router: Router, observer: TelegramEventObserver) -> None:
        self.router = router
        self.root = observer._handler if observer._handler.filters else None  # the router's own filters
        middlewares = observer._resolve_middlewares()  # the inner ones of this router and those above it
        self.handlers = tuple((handler, _tests(handler.filters), _chain(middlewares, handler))
                              for handler in observer.handlers)

    @classmethod
    def of(cls, router: Router, update_type: str) -> Leaf | None:
        observer = router.observers.get(update_type)
        if router.sub_routers or observer is None or observer.outer_middleware:
            return None
        return cls(router, observer)

    async def enter(self, update_type: str, event: TelegramObject, kwargs: dict[str, Any]) -> Any:
        data = {**kwargs, "event_router": self.router}
        if self.root is not None:
            matched, data = await self.root.check(event, **data)
            if not matched:
                return UNHANDLED
        for handler, tests, chain in self.handlers:
            if not _passes(tests, event, data):
                continue
            data["handler"] = handler
            matched, found = await handler.check(event, **data)
            if not matched:
                continue
            data.update(found)
            try:
                response = await chain(event, data)
            except SkipHandler:
                continue
            return UNHANDLED if response is REJECTED else response
        return UNHANDLED


def _chain(middlewares: list[Any], handler: HandlerObject) -> Callable[[TelegramObject, dict[str, Any]], Any]:
    """What aiogram's `MiddlewareManager.wrap_middlewares` builds for every event, built once."""
    def call(event: TelegramObject, data: dict[str, Any]) -> Any:
        return handler.call(event, **data)
    chain = call
    for middleware in reversed(middlewares):
        chain = functools.partial(middleware, chain)
    return chain


def _passes(tests: tuple[Test, ...], event: Any, data: Mapping[str, Any]) -> bool:
    for test in tests:
        if not test(event, data):
            return False
    return True


def gate(router: Router, update_type: str) -> Test:
    """A test that is False only where `router` would certainly leave the event unhandled."""
    if router.sub_routers:
        return ALWAYS
    observer = router.observers.get(update_type)
    if observer is None or not observer.handlers:
        return NEVER
    if observer.outer_middleware:
        return ALWAYS  # its middlewares see every event of the type, handled or not
    root = _tests(observer._handler.filters)
    handlers = tuple(dict.fromkeys(_tests(handler.filters) for handler in observer.handlers))
    if () in handlers:
        handlers = ()  # a handler that may take anything: the root filters decide alone
    if not root and not handlers:
        return ALWAYS

    def may_take(event: Any, data: Mapping[str, Any]) -> bool:  # loops, not all()/any(): this runs per router
        for test in root:
            if not test(event, data):
                return False
        if not handlers:
            return True
        for tests in handlers:
            if _passes(tests, event, data):
                return True
        return False
    return may_take


def _tests(filters: list[FilterObject] | None) -> tuple[Test, ...]:
    return tuple(test for test in map(precheck, (f.callback for f in filters or ())) if test is not None)


def precheck(filter_: Any) -> Test | None:
    """A synchronous test that is False only where `filter_` would refuse; None when there is none."""
    if isinstance(filter_, Check):
        return filter_.test
    if isinstance(filter_, StateFilter):
        return _state_test(filter_)
    if isinstance(filter_, Command):  # CommandStart too
        names = None if any(isinstance(name, re.Pattern) for name in filter_.commands) else frozenset(filter_.commands)
        return _command_test(filter_.prefix, names, filter_.ignore_case)
    if isinstance(filter_, CallbackQueryFilter):
        return _callback_test(filter_.callback_data.__prefix__, filter_.callback_data.__separator__)
    return None


@functools.cache
def _command_test(prefixes: str, names: frozenset[str] | None, fold: bool) -> Test:
    """Text that begins with a prefix and, unless a pattern is allowed, one of the names (mention aside).
    One test per set of commands, so that handlers of the same commands share it in `gate`."""
    def test(message: Any, data: Mapping[str, Any]) -> bool:
        text = message.text or message.caption
        if not text or text[0] not in prefixes:
            return False
        if names is None:
            return True
        name = text.split(maxsplit=1)[0][1:].partition("@")[0]
        return (name.casefold() if fold else name) in names
    return test


@functools.cache
def _callback_test(prefix: str, separator: str) -> Test:
    return lambda query, data: (query.data or "").split(separator, 1)[0] == prefix


def _state_test(filter_: StateFilter) -> Test | None:
    allowed: set[str | None] = set()
    for state in filter_.states:
        group = type(state) if isinstance(state, StatesGroup) else state
        if isinstance(group, type) and issubclass(group, StatesGroup):
            allowed.update(group.__all_states_names__)
            continue
        name = state.state if isinstance(state, State) else state
        if name == "*":
            return None
        allowed.add(name)
    return lambda event, data: data.get("raw_state") in allowed
