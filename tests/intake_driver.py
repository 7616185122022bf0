"""A reporter who answers "whatever is asked": drives the intake through the real Dispatcher (tests.harness).

Every step also checks what Telegram would enforce and what DESIGN §6 forbids, so any test using the
driver fails on a message over 4096 characters, callback data over 64 bytes, text that is not valid
Telegram HTML, or an update whose handler raised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiogram.fsm.storage.base import StorageKey
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from aiogram.types import CallbackQuery, Chat, Message, Update, User
from sqlalchemy import func, select

from bot import consent
from bot.intake.flows import get_question
from bot.intake.model import AnswerKind
from bot.ratelimit import SlidingWindow
from handlers.callbacks import (
    AnonCb,
    AnswerCb,
    ConsentCb,
    EvidenceCb,
    NavCb,
    RoleCb,
    SummaryCb,
    TypeCb,
)
from handlers.middlewares import FloodMiddleware
from storage.models import Case, CaseEvent, Evidence, FsmRecord, InboxUpdate, Indicator
from tests.harness import Harness

BOT_ID = 42
MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
MENU_REPORT = "📝 Báo cáo sự cố"
STALE = "Nút này không còn hiệu lực. Xin Anh/Chị dùng tin nhắn mới nhất."
PRESS_BUTTON = "Xin Anh/Chị bấm một trong các nút bên dưới."

SKIP = "\x00skip"
"""Answer value: press the question's «Bỏ qua» button."""


class Typed(str):
    """Answer value that is typed even when it is also a choice key ("zalo" typed, not pressed)."""


# --- a migrated database, fast -------------------------------------------------------------------------

# --- what Telegram accepts ---------------------------------------------------------------------------

_TAGS = ("b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "blockquote", "tg-spoiler",
         "span", "a", "tg-emoji")
_TAG = re.compile(r"</?(" + "|".join(_TAGS) + r")(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#\d+|#x[0-9a-fA-F]+);")


def html_problem(text: str) -> str | None:
    """Why `text` is not valid Telegram HTML (unknown tag, raw < > &, unbalanced tags), or None."""
    stack: list[str] = []
    for match in _TAG.finditer(text):
        name = match.group(1)
        if match.group(0).startswith("</"):
            if not stack or stack.pop() != name:
                return f"unbalanced </{name}>"
        else:
            stack.append(name)
    if stack:
        return f"unclosed <{stack[-1]}>"
    rest = _ENTITY.sub("", _TAG.sub("", text))
    for char in "<>&":
        if char in rest:
            index = rest.index(char)
            return f"raw {char!r} near {rest[max(0, index - 30):index + 30]!r}"
    return None


def check_calls(calls: Iterable[Any]) -> None:
    for call in calls:
        text = getattr(call, "text", None)
        if isinstance(call, SendMessage | EditMessageText) and text is not None:
            assert len(text) <= MAX_TEXT, f"message of {len(text)} characters: {text[:200]!r}"
            problem = html_problem(text)
            assert problem is None, f"invalid HTML ({problem}) in {text!r}"
        if isinstance(call, AnswerCallbackQuery) and call.text:
            assert len(call.text) <= 200, f"alert too long: {call.text!r}"
        for label, data in Harness.buttons([call]):
            if data is not None:
                assert len(data.encode()) <= MAX_CALLBACK_BYTES, f"callback data {data!r} of button {label!r}"


# --- the reporter ----------------------------------------------------------------------------------------


class Reporter:
    """One person talking to the bot. `calls` is what the bot sent in answer to the latest step."""

    def __init__(self, h: Harness, user_id: int = 1001, first_name: str = "Lan") -> None:
        self.h = h
        self.user: User = h.user(user_id, first_name=first_name)
        self.calls: list[Any] = []
        self._where: tuple[str | None, dict[str, Any]] = (None, {})  # (state, data) after the latest step
        self._relax_flood_control()

    def _relax_flood_control(self) -> None:
        """Stories send dozens of messages within seconds; flood control is not what these tests are about."""
        for middleware in self.h.dp.update.outer_middleware:
            if isinstance(middleware, FloodMiddleware):
                middleware.limiter = SlidingWindow(100_000, 1)

    @property
    def id(self) -> int:
        return self.user.id

    # steps ------------------------------------------------------------------------------------------------

    async def _after(self, before: int) -> list[Any]:
        """Check what the bot sent, that no handler raised, and note where the conversation now is."""
        self.calls = self.h.requests[before:]
        check_calls(self.calls)
        async with self.h.db.session() as session:
            broken = await session.scalar(select(func.count()).select_from(InboxUpdate)
                                          .where(InboxUpdate.status != "done"))
            record = await session.get(FsmRecord, self.h.dp.storage.key_builder.build(self.key))
            self._where = (record.state, dict(record.data or {})) if record else (None, {})
        assert not broken, "a handler raised (the update is not marked done in the inbox)"
        return self.calls

    async def send(self, text: str | None = None, **fields: Any) -> list[Any]:
        before = len(self.h.requests)
        await self.h.feed(self.h.message_update(self.user, text, **fields))
        return await self._after(before)

    async def press(self, data: str) -> list[Any]:
        before = len(self.h.requests)
        await self.h.press(self.user, data)
        return await self._after(before)

    async def feed(self, update: Update) -> list[Any]:
        before = len(self.h.requests)
        await self.h.feed(update)
        return await self._after(before)

    def callback_update(self, data: str) -> Update:
        """A press as an Update object, e.g. to deliver the very same update twice."""
        ids = next(self.h._update_ids)
        message = Message(message_id=1, date=datetime.now(UTC), chat=Chat(id=self.id, type="private"),
                          from_user=self.h.bot_user(), text="…")
        query = CallbackQuery(id=str(ids), from_user=self.user, chat_instance="ci", message=message, data=data)
        return Update(update_id=ids, callback_query=query)

    async def press_button(self, data: str) -> list[Any]:
        """Press a button the bot actually showed in its latest answer."""
        shown = [d for _, d in self.h.buttons(self.calls)]
        assert data in shown, f"no button {data!r} in the bot's last answer; buttons: {shown}, texts: {self.texts}"
        return await self.press(data)

    # what the user sees ------------------------------------------------------------------------------

    @property
    def texts(self) -> list[str]:
        return self.h.texts(self.calls)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def alerts(self) -> list[str]:
        return self.h.alerts(self.calls)

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        return self.h.buttons(self.calls)

    def sent_anything(self) -> bool:
        return bool(self.texts)

    # the conversation's memory -----------------------------------------------------------------------

    @property
    def key(self) -> StorageKey:
        return StorageKey(bot_id=BOT_ID, chat_id=self.id, user_id=self.id)

    async def state(self) -> str | None:
        return await self.h.dp.storage.get_state(self.key)

    async def draft(self) -> dict[str, Any] | None:
        return (await self.h.dp.storage.get_data(self.key)).get("draft")

    async def current(self) -> str | None:
        """The question waiting for an answer, or None when the intake is at another step."""
        if await self.state() != "Intake:question":
            return None
        draft = await self.draft()
        return draft["current"] if draft else None

    def _current_after_last_step(self) -> str | None:
        state, data = self._where
        draft = data.get("draft")
        return draft["current"] if state == "Intake:question" and draft else None

    async def draft_id(self) -> str:
        draft = await self.draft()
        assert draft is not None, "no report is being written"
        return str(draft["id"])

    # story steps --------------------------------------------------------------------------------------

    async def join(self, school: Any) -> None:
        """Open the school's poster link and agree to the notice."""
        await self.send(f"/start s_{school.public_token}")
        await self.press_button(ConsentCb(action="agree").pack())

    async def agreed(self, school: Any) -> None:
        """Someone who agreed to the notice for `school` earlier (onboarding itself is test_onboarding's)."""
        async with self.h.db.session() as session:
            await consent.agree(session, self.id, locale="vi", unit_id=school.id)

    async def start_report(self) -> list[Any]:
        return await self.send(MENU_REPORT)

    async def choose(self, incident_type: str, role: str | None = "parent") -> list[Any]:
        """Start a report, answer the role question if it is asked, pick the type."""
        await self.start_report()
        role_button = RoleCb(role=role or "parent").pack()
        if role_button in [d for _, d in self.buttons]:
            await self.press_button(role_button)
        return await self.press_button(TypeCb(type=incident_type).pack())

    async def answer(self, key: str, value: Any) -> list[Any]:
        draft = self._where[1].get("draft")
        assert draft is not None and draft["type"] and self._where[0] == "Intake:question"
        question = get_question(draft["type"], key)
        if value == SKIP and not isinstance(value, Typed):
            return await self.press_button(NavCb(a="skip", q=key).pack())
        if isinstance(value, list):
            assert question.kind == AnswerKind.MULTI, f"{key} is not a multi-choice question"
            for choice in value:
                await self.press_button(AnswerCb(q=key, v=choice).pack())
            return await self.press_button(NavCb(a="done", q=key).pack())
        if not isinstance(value, Typed) and value in question.choices:
            return await self.press_button(AnswerCb(q=key, v=value).pack())
        return await self.send(str(value))

    async def answer_all(self, answers: Mapping[str, Any], *, partial: bool = False) -> list[str]:
        """Answer every question the bot asks from `answers`; returns the keys asked, in order.

        With `partial`, stop at the first question `answers` has no answer for."""
        asked: list[str] = []
        while (key := self._current_after_last_step()) is not None:
            if partial and key not in answers:
                break
            assert key in answers, f"unexpected question {key!r} (asked so far: {asked}); bot said {self.texts}"
            assert key not in asked[-1:], f"question {key!r} asked again: {self.texts}"
            asked.append(key)
            await self.answer(key, answers[key])
            assert len(asked) < 40, "the questions never end"
        return asked

    async def add_evidence(self, *messages: Mapping[str, Any]) -> None:
        for fields in messages:
            fields = dict(fields)
            text = fields.pop("text", None)
            await self.send(text, **fields)

    async def finish_evidence(self) -> list[Any]:
        draft = (await self.h.dp.storage.get_data(self.key)).get("draft")
        action = "done" if draft and draft["evidence"] else "none"
        return await self.press_button(EvidenceCb(a=action).pack())

    async def stay_anonymous(self) -> list[Any]:
        return await self.press_button(AnonCb(a="anon").pack())

    async def to_summary(self, answers: Mapping[str, Any], evidence: Iterable[Mapping[str, Any]] = ()) -> list[Any]:
        await self.answer_all(answers)
        assert self._where[0] == "Intake:evidence", f"not at the evidence step: {self.texts}"
        await self.add_evidence(*evidence)
        await self.finish_evidence()
        calls = await self.stay_anonymous()
        assert self._where[0] == "Intake:summary", self.texts
        return calls

    async def confirm(self) -> list[Any]:
        return await self.press_button(SummaryCb(a="confirm", d=await self.draft_id()).pack())

    async def report(self, incident_type: str, answers: Mapping[str, Any], *, role: str | None = "parent",
                     evidence: Iterable[Mapping[str, Any]] = ()) -> list[Any]:
        """A whole report, from the menu button to the receipt."""
        await self.choose(incident_type, role)
        await self.to_summary(answers, evidence)
        return await self.confirm()


# --- what was stored --------------------------------------------------------------------------------------


async def all_cases(h: Harness) -> list[Case]:
    async with h.db.session() as session:
        return list(await session.scalars(select(Case).order_by(Case.id)))


async def only_case(h: Harness) -> Case:
    found = await all_cases(h)
    assert len(found) == 1, f"expected exactly one case, found {[c.code for c in found]}"
    return found[0]


async def rows_of(h: Harness, model: Any, case: Case) -> list[Any]:
    async with h.db.session() as session:
        return list(await session.scalars(select(model).where(model.case_id == case.id).order_by(model.id)))


async def indicators_of(h: Harness, case: Case) -> set[tuple[str, str]]:
    return {(i.kind, i.value) for i in await rows_of(h, Indicator, case)}


async def evidence_of(h: Harness, case: Case) -> list[Evidence]:
    return await rows_of(h, Evidence, case)


async def events_of(h: Harness, case: Case) -> list[CaseEvent]:
    return await rows_of(h, CaseEvent, case)
