"""What happens to a case after it is saved: routing, cards, triage actions, relays, reminders.

Every side effect is a row in the outbox written in the caller's transaction (`storage.outbox`), so a
status change and the messages announcing it commit together or not at all. Outbox keys derive from
the timeline event that caused the message, so replaying an update can never send a message twice.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import cards, routing
from bot.i18n import Catalog, Html, Translator
from bot.lifecycle import CLOSED, ESCALATED, NEW, OUTCOMES, TRANSITIONS, allowed
from bot.presenting import type_label
from bot.settings import Settings
from storage import cases, outbox, reporters, units
from storage import routing as routing_store
from storage.models import CardMessage, Case, CaseRecipient, Evidence, Indicator, Member

log = logging.getLogger(__name__)
SWEEP_BATCH = 500  # cases per sweep; the next tick takes the rest


class NewCase(Protocol):
    """A case just created in the caller's transaction, with its children (`reports.Submitted`)."""

    evidence: Sequence[Evidence]
    indicators: Sequence[Indicator]
    school: units.School | None


@dataclass(frozen=True)
class Outcome:
    """The result of a responder's press, for the handler to tell them."""

    status: str  # done | denied | not_allowed | conflict | missing
    case: Case | None = None
    by: str | None = None


@dataclass
class Casework:
    settings: Settings
    catalog: Catalog

    # --- small helpers ----------------------------------------------------------------------------------

    async def translator(self, session: AsyncSession, chat_id: int) -> Translator:
        """A responder's or reporter's own language; groups get the default."""
        return self.catalog.translator(await reporters.locale_of(session, chat_id) if chat_id > 0 else None)

    def ack_window(self, severity: str) -> timedelta:
        s = self.settings
        minutes = {"critical": s.ack_critical_minutes, "high": s.ack_high_minutes, "medium": s.ack_medium_minutes,
                   "low": s.ack_low_minutes}
        return timedelta(minutes=minutes.get(severity, s.ack_medium_minutes))

    async def view(self, session: AsyncSession, case: Case, changed_by: str | None = None, *,
                   new: NewCase | None = None) -> cards.CardView:
        school = new.school if new is not None else None
        if school is None:
            school = await units.school(session, case.unit_id)
        assert school is not None
        if new is not None:
            evidence, indicators = list(new.evidence), list(new.indicators)
        else:
            evidence = (await cases.children_of(session, [case.id], Evidence))[case.id]
            indicators = (await cases.children_of(session, [case.id], Indicator))[case.id]
        return cards.CardView(case, school, evidence, indicators, changed_by)

    async def actor_label(self, session: AsyncSession, actor_id: int, role: str) -> str:
        """How responders see who acted: role and name. Never shown to the reporter."""
        name = await session.scalar(select(Member.display_name).where(Member.user_id == actor_id).limit(1))
        return f"{self.catalog.translator(None).plain(f'role-{role}')} {name or ''}".strip()

    # --- routing and cards -----------------------------------------------------------------------------

    async def dispatch(self, session: AsyncSession, case: Case, now: datetime, *,
                       new: NewCase | None = None) -> list[CaseRecipient]:
        """Route a case and queue its card (and evidence) for every recipient not reached yet.

        `new`: the case was created in this transaction (`reports.submit`), so it has no recipients yet,
        reachable or not, and its school, evidence and indicators are in hand: none of it is read back
        (five of the queries of confirming a report, bench B1)."""
        # A new case's children wait for the flush that writes its recipients: the directory is not theirs.
        with session.no_autoflush if new is not None else contextlib.nullcontext():
            directory = await routing_store.load_directory(session, case.unit_id)
        exclude = frozenset() if new is not None else frozenset(await routing_store.unreachable_chats(session, case.id))
        chosen = routing.route(routing.CaseFacts.of(case), directory, admin_ids=self.settings.admin_ids,
                               leak_threshold=self.settings.leak_threshold, exclude=exclude)
        if case.ack_due_at is None:
            case.ack_due_at = now + self.ack_window(case.severity)
        return await self.deliver_to(session, case, chosen, now, "routed", new=new)

    async def deliver_to(self, session: AsyncSession, case: Case, chosen: list[routing.Recipient], now: datetime,
                         event_kind: str, *, new: NewCase | None = None) -> list[CaseRecipient]:
        """Record new recipients with the reason they were chosen, and queue their cards."""
        if not chosen:
            log.error("case %s: no recipient could be found (no responder, no officer, no ADMIN_IDS)", case.code)
        forum = {r.chat_id for r in chosen if r.is_forum}
        reasons = {r.chat_id: r.reasons for r in chosen}
        added = await routing_store.record(session, case.id, chosen, recorded=set() if new is not None else None)
        view = await self.view(session, case, new=new)
        routed = []
        for recipient in added:
            why = reasons.get(recipient.chat_id) or (recipient.reason,)
            routed.append((recipient, why, cases.new_event(session, case.id, event_kind, at=now, data={
                "chat_id": recipient.chat_id, "kind": recipient.kind, "role": recipient.role,
                "unit_id": recipient.unit_id, "reason": recipient.reason, "reasons": list(why)})))
        await session.flush()  # the recipients and their events at once: each card's key names its event
        for recipient, why, event in routed:
            await self._queue_card(session, case, recipient, why, view, event.id, recipient.chat_id in forum)
        return added

    async def _queue_card(self, session: AsyncSession, case: Case, recipient: CaseRecipient, why: Sequence[str],
                          view: cards.CardView, event_id: int, forum: bool) -> None:
        i18n = await self.translator(session, recipient.chat_id)
        chat = recipient.chat_id
        if forum and recipient.thread_id is None:
            title = f"{case.code} · {i18n.plain(f'severity-{case.severity}')} · {type_label(case.incident_type, i18n)}"
            await outbox.enqueue(session, key=f"topic:{case.id}:{chat}:{event_id}", chat_id=chat, kind="topic",
                                 case_id=case.id, payload={"title": title[:128]})
        reason = Html("; ".join(i18n.t(f"route-{r.replace('_', '-')}") for r in why))
        text = cards.render(view, i18n, self.settings.tz) + "\n" + i18n.t("card-why", reason=reason)
        await outbox.enqueue(session, key=f"card:{case.id}:{chat}:{event_id}", chat_id=chat, kind="card",
                             case_id=case.id, payload={"text": text, "buttons": cards.buttons(case, i18n),
                                                       "thread_id": recipient.thread_id, "version": case.version})
        files = [e for e in view.evidence if e.file_id]
        if files:
            items = [{"type": e.kind if e.kind in ("photo", "video") else "document", "file_id": e.file_id}
                     for e in files]
            await outbox.enqueue(session, key=f"media:{case.id}:{chat}:{event_id}", chat_id=chat, kind="media",
                                 case_id=case.id, payload={"items": items, "thread_id": recipient.thread_id})

    async def refresh_cards(self, session: AsyncSession, case: Case, event_id: int, changed_by: str | None) -> None:
        """Edit every copy of the card to show the new state and who changed it."""
        view = await self.view(session, case, changed_by)
        copies = list(await session.scalars(select(CardMessage).where(CardMessage.case_id == case.id)))
        for copy in copies:
            i18n = await self.translator(session, copy.chat_id)
            await outbox.enqueue(session, key=f"edit:{event_id}:{copy.chat_id}:{copy.message_id}",
                                 chat_id=copy.chat_id, kind="edit", case_id=case.id,
                                 payload={"message_id": copy.message_id, "text": cards.render(view, i18n,
                                          self.settings.tz), "buttons": cards.buttons(case, i18n)})

    async def tell_reporter(self, session: AsyncSession, case: Case, event_id: int, key: str, **args: str) -> None:
        """A status change in the reporter's language; nothing about who the responder is."""
        if case.reporter_id is None:
            return
        i18n = self.catalog.translator(case.locale)
        await outbox.enqueue(session, key=f"status:{event_id}:{case.reporter_id}", chat_id=case.reporter_id,
                             kind="status", case_id=case.id, payload={"text": i18n.t(key, code=case.code, **args)})

    # --- triage ----------------------------------------------------------------------------------------

    async def authorise(self, session: AsyncSession, case: Case, user_id: int, action: str) -> str | None:
        """The role with which `user_id` may act on `case`, or None (and the attempt is audited)."""
        role = await routing_store.can_act(session, user_id, case.unit_id)
        if role is None and user_id in self.settings.admin_ids:
            role = "admin"  # the configured administrators are every case's last resort
        if role is None:
            await cases.add_event(session, case.id, "denied", actor_id=user_id, data={"action": action})
        return role

    async def act(self, session: AsyncSession, case_id: int, action: str, user_id: int, now: datetime, *,
                  outcome: str | None = None, note: str | None = None) -> Outcome:
        case = await session.get(Case, case_id, with_for_update=True, populate_existing=True)
        if case is None:
            return Outcome("missing")
        role = await self.authorise(session, case, user_id, action)
        if role is None:
            return Outcome("denied", case)
        transition = TRANSITIONS[action]
        if not allowed(action, case.status):
            return Outcome("not_allowed", case, await self._last_actor(session, case))
        if action == "close" and outcome not in OUTCOMES:
            return Outcome("not_allowed", case)
        values: dict[str, Any] = {"version": case.version + 1, "updated_at": now}
        if transition.to is not None:
            values["status"] = transition.to
        if action == "ack":
            values["assignee_id"] = user_id
        if action == "close":
            values["outcome"] = outcome
        if action == "reopen":
            values["outcome"] = None
        result = await session.execute(
            update(Case).where(Case.id == case.id, Case.version == case.version).values(**values)
            .execution_options(synchronize_session=False))
        if not result.rowcount:
            await session.refresh(case)
            return Outcome("conflict", case, await self._last_actor(session, case))
        await session.refresh(case)
        data = {"outcome": outcome, "note": note} if action == "close" else {}
        event = await cases.add_event(session, case.id, transition.event, actor_id=user_id, actor_role=role,
                                      public=True, data={k: v for k, v in data.items() if v}, at=now)
        who = await self.actor_label(session, user_id, role)
        await self._after(session, case, action, event.id, now)
        await self.refresh_cards(session, case, event.id, who)
        return Outcome("done", case, who)

    async def _after(self, session: AsyncSession, case: Case, action: str, event_id: int, now: datetime) -> None:
        if action == "ack":
            await self.tell_reporter(session, case, event_id, "notify-acknowledged")
        elif action in ("police", "district"):
            directory = await routing_store.load_directory(session, case.unit_id)
            exclude = frozenset(await routing_store.unreachable_chats(session, case.id))
            facts = routing.CaseFacts.of(case)
            admins = self.settings.admin_ids
            targets = (routing.police_targets(facts, directory, exclude=exclude, admin_ids=admins)
                       if action == "police" else
                       routing.escalation_targets(facts, directory, exclude=exclude, admin_ids=admins,
                                                  reason="escalated_district",
                                                  above_unit_id=await self._highest_unit(session, case)))
            await self.deliver_to(session, case, targets, now, f"escalation_{action}")
            await self.tell_reporter(session, case, event_id, f"notify-escalated-{action}")
        elif action == "close":
            await self.tell_reporter(session, case, event_id, f"notify-closed-{case.outcome.replace('_', '-')}")
        elif action == "reopen":
            await self.tell_reporter(session, case, event_id, "notify-reopened")

    async def _highest_unit(self, session: AsyncSession, case: Case) -> int:
        """The highest unit already involved (private police rows aside), so escalation goes one level up."""
        directory = await routing_store.load_directory(session, case.unit_id)
        return routing.highest_involved(routing.CaseFacts.of(case), directory,
                                        await routing_store.recipients_of(session, case.id))

    async def _last_actor(self, session: AsyncSession, case: Case) -> str | None:
        for event in reversed(await cases.timeline(session, case.id, public_only=True)):
            if event.actor_id is not None and event.actor_role:
                return await self.actor_label(session, event.actor_id, event.actor_role)
        return None

    async def opened(self, session: AsyncSession, case: Case, user_id: int, role: str) -> None:
        """Audit: a responder looked at the case."""
        await cases.add_event(session, case.id, "viewed", actor_id=user_id, actor_role=role)

    # --- relays between responder and reporter ----------------------------------------------------------

    async def ask_reporter(self, session: AsyncSession, case: Case, user_id: int, role: str, text: str,
                           reply_chat: int, reply_thread: int | None) -> bool:
        if case.reporter_id is None or case.status == CLOSED:
            return False
        event = await cases.add_event(session, case.id, "asked", actor_id=user_id, actor_role=role, public=True,
                                      data={"text": text, "reply_chat": reply_chat, "reply_thread": reply_thread})
        i18n = self.catalog.translator(case.locale)
        await outbox.enqueue(session, key=f"relay:{event.id}:{case.reporter_id}", chat_id=case.reporter_id,
                             kind="relay", case_id=case.id, payload={
                                 "text": i18n.t("relay-question", code=case.code, text=text),
                                 "buttons": [[{"text": i18n.plain("btn-reply"), "data": f"rp:{case.id}"}]]})
        return True

    async def answer_responders(self, session: AsyncSession, case: Case, reporter_id: int, text: str) -> bool:
        """The reporter's answer goes to where the last question came from (else to every recipient)."""
        if case.reporter_id != reporter_id:
            return False
        event = await cases.add_event(session, case.id, "answered", actor_role="reporter", public=True,
                                      data={"text": text})
        targets = await self._answer_targets(session, case)
        for chat_id, thread_id in targets:
            i18n = await self.translator(session, chat_id)
            await outbox.enqueue(session, key=f"relay:{event.id}:{chat_id}", chat_id=chat_id, kind="relay",
                                 case_id=case.id, payload={"text": i18n.t("relay-answer", code=case.code, text=text),
                                                           "thread_id": thread_id})
        return True

    async def _answer_targets(self, session: AsyncSession, case: Case) -> list[tuple[int, int | None]]:
        for event in reversed(await cases.timeline(session, case.id, public_only=True)):
            if event.kind == "asked" and event.data.get("reply_chat"):
                return [(int(event.data["reply_chat"]), event.data.get("reply_thread"))]
        return [(r.chat_id, r.thread_id) for r in await routing_store.recipients_of(session, case.id) if r.reachable]

    # --- delivery hooks ---------------------------------------------------------------------------------

    async def on_sent(self, session: AsyncSession, row: Any, result: Any) -> None:
        """Remember where each card landed (to edit it later) and the forum topic of each case."""
        if row.kind == "card" and result.message_id:
            # Lock the case before inserting the copy: the insert's foreign-key check share-locks the case
            # row, and two hooks each holding that share while asking for the exclusive lock deadlock.
            case = await session.get(Case, row.case_id, with_for_update=True, populate_existing=True)
            copy = CardMessage(case_id=row.case_id, chat_id=row.chat_id, message_id=result.message_id,
                               thread_id=(row.payload or {}).get("thread_id"))
            session.add(copy)
            await self._catch_up(session, case, copy, (row.payload or {}).get("version"))
        elif row.kind == "topic" and result.message_id and row.case_id is not None:
            await routing_store.set_thread(session, row.case_id, row.chat_id, result.message_id)
            await outbox.set_thread(session, row.case_id, row.chat_id, result.message_id)

    async def _catch_up(self, session: AsyncSession, case: Case | None, copy: CardMessage,
                        rendered_version: int | None) -> None:
        """A card that was in flight while the case changed was missed by `refresh_cards`: edit it now.

        The caller holds the case row's lock, so this and a concurrent status change serialise: either the
        change sees this copy, or this sees the change.
        """
        if case is None or rendered_version is None or case.version == rendered_version:
            return
        view = await self.view(session, case, await self._last_actor(session, case))
        i18n = await self.translator(session, copy.chat_id)
        await outbox.enqueue(session, key=f"edit:v{case.version}:{copy.chat_id}:{copy.message_id}",
                             chat_id=copy.chat_id, kind="edit", case_id=case.id,
                             payload={"message_id": copy.message_id, "text": cards.render(view, i18n, self.settings.tz),
                                      "buttons": cards.buttons(case, i18n)})

    async def on_thread_gone(self, session: AsyncSession, row: Any) -> None:
        """Someone deleted the case's forum topic: open a new one, put the card there again, and resend the
        message that found the topic gone (it follows the card into the new topic)."""
        if row.case_id is None:
            return
        case = await session.get(Case, row.case_id, with_for_update=True, populate_existing=True)
        recipient = await routing_store.recipient(session, row.case_id, row.chat_id)
        if case is None or recipient is None or recipient.thread_id is None:
            return  # already recreated by an earlier failure of the same topic
        await routing_store.set_thread(session, case.id, row.chat_id, None)
        recipient.thread_id = None
        event = await cases.add_event(session, case.id, "topic_recreated", data={"chat_id": row.chat_id})
        await self._queue_card(session, case, recipient, (recipient.reason,), await self.view(session, case),
                               event.id, forum=True)
        if row.kind != "card":
            await outbox.enqueue(session, key=f"{row.key}:t{event.id}", chat_id=row.chat_id, kind=row.kind,
                                 case_id=case.id, payload={**(row.payload or {}), "thread_id": None})

    async def on_failed(self, session: AsyncSession, row: Any) -> None:
        """A recipient refused for good (blocked the bot): mark them and route the case onwards."""
        if row.case_id is None:
            return
        case = await session.get(Case, row.case_id)
        if case is None:
            return
        await routing_store.mark_unreachable(session, case.id, row.chat_id)
        await cases.add_event(session, case.id, "recipient_unreachable", data={"chat_id": row.chat_id})
        if row.kind == "card" and case.status != CLOSED:
            from storage.models import utcnow

            await self.dispatch(session, case, utcnow())

    # --- time limits -----------------------------------------------------------------------------------

    async def sweep(self, session: AsyncSession, now: datetime) -> tuple[int, int]:
        """Remind when an acknowledgement is due, escalate one level up when it is overdue.

        Driven by stored due times, so it survives restarts and any instance can run it: the due cases are
        locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's single writer does the same), so two sweepers
        never remind or escalate one case twice, and a case a responder is acting on right now is left for
        the next tick, which sees its new state.
        """
        reminded = escalated = 0
        due = await session.scalars(
            select(Case).where(Case.status.in_((NEW, ESCALATED)), Case.ack_due_at <= now)
            .order_by(Case.ack_due_at).limit(SWEEP_BATCH).with_for_update(skip_locked=True, of=Case)
        )
        for case in list(due):
            window = self.ack_window(case.severity)
            if case.reminded_at is None:
                case.reminded_at = now
                event = await cases.add_event(session, case.id, "reminded", at=now)
                await self._remind(session, case, event.id)
                reminded += 1
            elif now >= case.ack_due_at + window / 2 and case.overdue_level < 3:
                case.overdue_level += 1
                case.ack_due_at, case.reminded_at = now + window, None
                event = await cases.add_event(session, case.id, "escalated_overdue", at=now,
                                              data={"level": case.overdue_level})
                directory = await routing_store.load_directory(session, case.unit_id)
                exclude = frozenset(await routing_store.unreachable_chats(session, case.id))
                targets = routing.escalation_targets(routing.CaseFacts.of(case), directory, exclude=exclude,
                                                     admin_ids=self.settings.admin_ids,
                                                     above_unit_id=await self._highest_unit(session, case))
                await self.deliver_to(session, case, targets, now, "escalation_overdue")
                await self.refresh_cards(session, case, event.id, None)
                escalated += 1
        return reminded, escalated

    async def _remind(self, session: AsyncSession, case: Case, event_id: int) -> None:
        for recipient in await routing_store.recipients_of(session, case.id):
            if not recipient.reachable:
                continue
            i18n = await self.translator(session, recipient.chat_id)
            await outbox.enqueue(session, key=f"remind:{event_id}:{recipient.chat_id}", chat_id=recipient.chat_id,
                                 kind="reminder", case_id=case.id, payload={
                                     "text": i18n.t("reminder", code=case.code,
                                                    severity=i18n.plain(f"severity-{case.severity}")),
                                     "thread_id": recipient.thread_id,
                                     "buttons": [[{"text": i18n.plain("btn-triage-ack"),
                                                   "data": cards.action_data("ack", case.id)}]]})


