"""The switchboard enters fewer routers than aiogram would, and never chooses another handler."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import UNHANDLED, SkipHandler
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import StatesGroup
from aiogram.types import CallbackQuery, Chat, ChatMemberLeft, ChatMemberMember, ChatMemberUpdated, Message, User

from bot.i18n import load_catalog
from handlers import build_router, callbacks, states
from handlers.filters import MenuText
from handlers.switchboard import Switchboard

USER = User(id=5, is_bot=False, first_name="Lan")
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _walk(router: Router) -> list[Router]:
    return [router, *itertools.chain.from_iterable(_walk(child) for child in router.sub_routers)]


def _raw_states() -> list[str | None]:
    groups = [value for value in vars(states).values()
              if isinstance(value, type) and issubclass(value, StatesGroup) and value is not StatesGroup]
    return [None, "Unknown:state", *(name for group in groups for name in group.__all_states_names__)]


def _texts(root: Router, catalog: Any) -> list[str | None]:
    i18n = catalog.translator(catalog.default)
    menu = {f.callback.key for router in _walk(root) for observer in router.observers.values()
            for handler in observer.handlers for f in handler.filters or [] if isinstance(f.callback, MenuText)}
    assert menu, "the tree has menu buttons"
    labels = [label for key in sorted(menu) for label in i18n.labels(key)]
    commands = ["/start", "/start i_abc", "/start x", "/help", "/report", "/cancel", "/cases", "/case 12",
                "/reply", "/bind", "/language", "/privacy", "/mycases", "/school", "/nonsense", "/"]
    return [None, "", "Xin chào", "0912345678", " " + labels[0] + " ", *labels, *commands]


def _messages(texts: list[str | None]) -> list[Message]:
    found = []
    for chat_type, text, as_caption in itertools.product(("private", "group", "supergroup"), texts, (False, True)):
        if as_caption and text is None:
            continue
        chat = Chat(id=-100 if chat_type != "private" else USER.id, type=chat_type)
        fields = {"caption": text} if as_caption else {"text": text}
        found.append(Message(message_id=1, date=NOW, chat=chat, from_user=USER, **fields))
    return found


def _callback_data() -> list[str | None]:
    """Every button the bot makes, packed with plausible values, and data nobody's button carries."""
    found: list[str | None] = [None, "", "x", ":", "zz:1", "t", "t:", "is:confirm"]
    for kind in CallbackData.__subclasses__():
        if kind.__module__ != callbacks.__name__:
            continue
        for text in ("agree", "withdraw", "confirm", "x"):
            values = {name: 1 if field.annotation in (int, "int") else text
                      for name, field in kind.model_fields.items()}
            found.append(kind(**values).pack())
        found += [f"{kind.__prefix__}:", f"{kind.__prefix__}:junk:junk:junk"]
    return found


def _queries(data: list[str | None]) -> list[CallbackQuery]:
    message = Message(message_id=1, date=NOW, chat=Chat(id=USER.id, type="private"), from_user=USER, text="?")
    return [CallbackQuery(id="1", from_user=USER, chat_instance="i", data=value, message=message) for value in data]


def _membership() -> ChatMemberUpdated:
    return ChatMemberUpdated(chat=Chat(id=-100, type="group"), from_user=USER, date=NOW,
                             old_chat_member=ChatMemberLeft(user=USER),
                             new_chat_member=ChatMemberMember(user=USER))


@pytest.fixture
def chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Handlers are not run: the propagation returns the name of the one it chose."""
    async def name(self: HandlerObject, *args: Any, **kwargs: Any) -> str:
        return f"{self.callback.__module__}.{self.callback.__qualname__}"
    monkeypatch.setattr(HandlerObject, "call", name)


async def _both(root: Router, update_type: str, event: Any, data: dict[str, Any]) -> tuple[Any, Any]:
    """(what aiogram's own propagation chooses, what the switchboard chooses)."""
    observer = root.observers.get(update_type)
    plain = await Router._propagate_event(root, observer, update_type, event, event_router=root, **data)
    switched = await root.propagate_event(update_type, event, **data)
    return plain, switched


async def test_every_event_reaches_the_handler_aiogram_would_choose(chosen: None) -> None:
    """Every text, command, menu label and caption in every conversation state and kind of chat, every
    button the bot makes and forged ones: the same handler, or none, either way."""
    catalog = load_catalog()
    root = build_router()
    assert isinstance(root, Switchboard)
    bot = Bot("42:TEST-TOKEN-aaaaaaaaaaaaaaaaaaaa")
    differences, handled = [], set()
    events = [("message", m) for m in _messages(_texts(root, catalog))]
    events += [("callback_query", q) for q in _queries(_callback_data())]
    events += [("my_chat_member", _membership())]
    for (update_type, event), raw_state, locale in itertools.product(events, _raw_states(), ("vi", "en")):
        data = {"bot": bot, "raw_state": raw_state, "i18n": catalog.translator(locale)}
        plain, switched = await _both(root, update_type, event, data)
        handled.add(plain)
        if plain != switched:
            differences.append((update_type, getattr(event, "text", None) or getattr(event, "data", None),
                                raw_state, plain, switched))
    assert differences == []
    assert len(handled) > 40, "the corpus reaches most handlers of the tree"


def _asking(root: Router, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The routers whose handlers are asked, in order (a router once for a run of its handlers)."""
    owner = {id(handler): router.name for router in _walk(root) for observer in router.observers.values()
             for handler in observer.handlers}
    asked: list[str] = []
    original = HandlerObject.check

    async def counted(self: HandlerObject, *args: Any, **kwargs: Any) -> Any:
        name = owner.get(id(self))
        if name is not None and asked[-1:] != [name]:
            asked.append(name)
        return await original(self, *args, **kwargs)
    monkeypatch.setattr(HandlerObject, "check", counted)
    return asked


@pytest.mark.parametrize(("update_type", "event", "raw_state", "expected"), [
    ("callback_query", _queries([callbacks.SummaryCb(a="confirm", d="1").pack()])[0], "Intake:summary",
     ["summary"]),
    ("message", _messages(["Xin chào"])[0], "Intake:question", ["intake"]),
    ("message", _messages(["/cases"])[0], None, ["triage"]),
    ("message", _messages(["just typing"])[0], None, ["fallback"]),
])
async def test_a_report_step_asks_only_the_router_that_takes_it(chosen: None, monkeypatch: pytest.MonkeyPatch,
                                                                update_type: str, event: Any, raw_state: str,
                                                                expected: list[str]) -> None:
    catalog = load_catalog()
    root = build_router()
    asked = _asking(root, monkeypatch)
    data = {"bot": Bot("42:TEST-TOKEN-aaaaaaaaaaaaaaaaaaaa"), "raw_state": raw_state,
            "i18n": catalog.translator("vi")}
    assert await root.propagate_event(update_type, event, **data) is not UNHANDLED
    assert asked == expected


class _Opaque(Filter):
    """A filter the switchboard cannot ask beforehand."""

    async def __call__(self, message: Message) -> bool:
        return message.text == "open sesame"


async def test_a_router_whose_filters_cannot_be_asked_beforehand_is_entered(chosen: None,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = Switchboard(name="root")
    opaque, guarded = Router(name="opaque"), Router(name="watched")
    opaque.message.register(lambda message: None, _Opaque())
    guarded.message.outer_middleware(lambda handler, event, data: handler(event, data))
    guarded.message.register(lambda message: None, MenuText("menu-help"))
    root.include_routers(opaque, guarded)
    asked = _asking(root, monkeypatch)
    data = {"raw_state": None, "i18n": load_catalog().translator("vi")}
    # a router with an outer middleware sees every message of its type, handled or not
    for text, handled, routers in (("open sesame", True, ["opaque"]),
                                   ("no", False, ["opaque", "watched"])):
        asked.clear()
        result = await root.propagate_event("message", _messages([text])[0], **data)
        assert (asked, result is not UNHANDLED) == (routers, handled)


async def test_a_leaf_runs_its_handler_as_aiogram_does() -> None:
    """Inner middlewares of the router and of those above it, in order; a handler that skips hands the
    event to the next one with the filters' data (the router's own and the handler's); the handler sees
    the router it belongs to."""
    def tree(root: Router) -> tuple[Router, list[Any]]:
        seen: list[Any] = []
        leaf = Router(name="leaf")

        def inner(name: str) -> Any:
            async def middleware(handler: Any, event: Any, data: dict[str, Any]) -> Any:
                seen.append(name)
                return await handler(event, data)
            return middleware

        async def skipping(message: Message) -> None:
            seen.append("skipping")
            raise SkipHandler

        async def taking(message: Message, event_router: Router, word: str, place: str) -> str:
            seen.append(f"taking {word} in {event_router.name}, {place}")
            return "taken"

        root.message.middleware(inner("root"))
        leaf.message.middleware(inner("leaf"))
        leaf.message.filter(lambda message: {"place": message.chat.type})  # the router's own filter
        leaf.message.register(skipping, lambda message: {"word": message.text})
        leaf.message.register(taking, MenuText("menu-help"))
        root.include_router(leaf)
        return root, seen

    data = {"raw_state": None, "i18n": load_catalog().translator("vi")}
    help_label = load_catalog().translator("vi").labels("menu-help")[0]
    message = _messages([help_label])[0]
    plain_root, plain = tree(Router(name="root"))
    switched_root, switched = tree(Switchboard(name="root"))
    assert await plain_root.propagate_event("message", message, **data) == "taken"
    assert await switched_root.propagate_event("message", message, **data) == "taken"
    assert switched == plain == ["root", "leaf", "skipping", "root", "leaf",
                                  f"taking {help_label} in leaf, private"]


def test_a_switchboard_refuses_handlers_of_its_own() -> None:
    root = Switchboard(name="root")
    root.message.register(lambda message: None)
    with pytest.raises(TypeError, match="no message handlers"):
        root._route(root.message, "message")
