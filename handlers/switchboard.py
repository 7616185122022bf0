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
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import FilterObject
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


class Switchboard(Router):
    """A root router with no handlers of its own, whose sub-routers are entered only when they may match."""

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._routes: dict[str, tuple[tuple[Router, Test], ...]] = {}

    async def _propagate_event(self, observer: TelegramEventObserver | None, update_type: str,
                               event: TelegramObject, **kwargs: Any) -> Any:
        routes = self._routes.get(update_type)
        if routes is None:
            routes = self._routes[update_type] = self._route(observer, update_type)
        for router, gate in routes:
            if gate is ALWAYS or gate(event, kwargs):
                response = await router.propagate_event(update_type=update_type, event=event, **kwargs)
                if response is not UNHANDLED:
                    return response
        return UNHANDLED

    def _route(self, observer: TelegramEventObserver | None, update_type: str) -> tuple[tuple[Router, Test], ...]:
        """Built at the first event of its type, when every handler is registered."""
        if observer is not None and (observer.handlers or observer._handler.filters):
            raise TypeError(f"{self.name}: a switchboard has no {update_type} handlers or filters of its own")
        routes = ((router, gate(router, update_type)) for router in self.sub_routers)
        return tuple((router, found) for router, found in routes if found is not NEVER)


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
            for test in tests:
                if not test(event, data):
                    break
            else:
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
