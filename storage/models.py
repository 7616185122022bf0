"""The relational model. Portable column types only, so one set of migrations serves SQLite and PostgreSQL.

Times are stored in UTC (`UTCDateTime` gives back aware datetimes on both dialects); conversion to
Asia/Ho_Chi_Minh happens only when text is shown to a person.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The conditions of the partial indexes; `storage.outbox` and `storage.evidence` write the same into their queries.
EVIDENCE_COPY_DUE_SQL = "copy_due_at IS NOT NULL"
OUTBOX_CLAIMABLE_SQL = "status IN ('pending', 'uncertain')"
OUTBOX_ACTIVE_SQL = "status IN ('pending', 'sending', 'uncertain')"
OUTBOX_SENDING_SQL = "status IN ('sending')"


def _where(condition: str) -> dict[str, Any]:
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite would otherwise hand back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


class Unit(Base):
    """A province (Sở), district (Phòng) or school, arranged in a tree."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    name_folded: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Random, unguessable deep-link payload for the school's reporters (`/start s_<token>`).
    public_token: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], lazy="raise")


class Member(Base):
    """A responder: a Telegram user bound to a unit with a role (leader, police, officer, admin)."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("user_id", "unit_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(128), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invites.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invite(Base):
    """A one- or few-use deep link that makes whoever opens it a member of a unit."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    uses_left: Mapped[int] = mapped_column(Integer, default=1)
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InviteUse(Base):
    """Who redeemed an invite and when, for the audit trail of who got access to cases."""

    __tablename__ = "invite_uses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("invites.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reporter(Base):
    """A person who agreed to the privacy notice; nothing about a person is stored before that."""

    __tablename__ = "reporters"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    locale: Mapped[str | None] = mapped_column(String(8))
    role: Mapped[str | None] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    consent_version: Mapped[str | None] = mapped_column(String(16))
    consent_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FsmRecord(Base):
    """Conversation state per chat/user key, so a restart resumes a half-written report."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InboxUpdate(Base):
    """Every update Telegram handed over, recorded before it is confirmed, until it has been handled.

    With several instances, a pending row belongs to the instance that claimed it (`claimed_by`) until
    `claimed_until`; the owner renews the lease while it works, and a row whose lease ran out (its owner
    died) is claimed by another instance. `done` rows are kept INBOX_TTL_HOURS to recognise redeliveries.
    """

    __tablename__ = "inbox_updates"
    __table_args__ = (Index("ix_inbox_updates_status_claimed_until", "status", "claimed_until"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column()


class Case(Base):
    """A confirmed report: answers, evidence, indicators and an append-only timeline."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", "seq"),
        Index("ix_cases_unit_id_status", "unit_id", "status"),
        Index("ix_cases_reporter_id_created_at", "reporter_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    # The draft's id: a confirm delivered twice finds the case the first one created.
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    reporter_id: Mapped[int | None] = mapped_column(BigInteger)
    reporter_role: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    incident_type: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(16), index=True)
    severity_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    outcome: Mapped[str | None] = mapped_column(String(24))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)
    contact_name: Mapped[str | None] = mapped_column(String(128))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    money_lost: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    assignee_id: Mapped[int | None] = mapped_column(BigInteger)
    ack_due_at: Mapped[datetime | None] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None] = mapped_column()
    # How many times the case was escalated for being acknowledged late.
    overdue_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CaseCounter(Base):
    """Per unit and year, the last sequence number handed out for human case codes."""

    __tablename__ = "case_counters"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class Evidence(Base):
    """A photo, file, video, forwarded message or link attached to a case (files kept by Telegram id).

    With EVIDENCE_DIR set, `bot.evidence_copies` downloads each file after the case is saved: `copy_due_at`
    is when the next attempt may start (NULL once copied or given up), `copy_attempts` how many have begun.
    """

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_copy_due_at", "copy_due_at", **_where(EVIDENCE_COPY_DUE_SQL)),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[str | None] = mapped_column(String(255))
    file_unique_id: Mapped[str | None] = mapped_column(String(128))
    file_name: Mapped[str | None] = mapped_column(String(255))
    mime_type: Mapped[str | None] = mapped_column(String(128))
    size: Mapped[int | None] = mapped_column(BigInteger)
    media_group_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64))
    local_path: Mapped[str | None] = mapped_column(String(512))
    copy_due_at: Mapped[datetime | None] = mapped_column(default=None)
    copy_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Indicator(Base):
    """A normalised phone number, bank account, URL, domain or profile found in a case."""

    __tablename__ = "indicators"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "value"),
        Index("ix_indicators_kind_value", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(255))
    display: Mapped[str] = mapped_column(String(255))


class CaseEvent(Base):
    """One line of a case's timeline. Rows are only ever inserted, never updated or deleted by the app."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ResponderGroup(Base):
    """A Telegram group bound as a unit's case desk: cards go there instead of to each responder."""

    __tablename__ = "responder_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    title: Mapped[str] = mapped_column(String(255), default="")
    is_forum: Mapped[bool] = mapped_column(Boolean, default=False)
    bound_by: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseRecipient(Base):
    """Who a case was routed to and why; `reachable` turns false when Telegram refuses them for good."""

    __tablename__ = "case_recipients"
    __table_args__ = (UniqueConstraint("case_id", "chat_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # member | group | admin
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"))
    role: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)  # the case's forum topic in a group
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CardMessage(Base):
    """A case card as sent to one chat, so every copy can be edited when the case changes."""

    __tablename__ = "card_messages"
    __table_args__ = (UniqueConstraint("chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)



class OutboxMessage(Base):
    """A notification written in the same transaction as the change that causes it, then delivered.

    `key` is the idempotency key (unique): writing the same notification twice is a no-op. Status:
    pending → sending → sent | failed (permanent refusal) | uncertain (a crash mid-send; see delivery).
    """

    __tablename__ = "outbox"
    # Partial indexes over the few unfinished rows, however many were ever sent: claiming walks the claimable
    # rows in id order and stops after the first few (bench B2: with 10,000 queued, reading every due row
    # through a (status, due_at) index and sorting them took 61% of the worker, 3 ms a claim; now 0.01 ms).
    # No index leads with `status`: without statistics SQLite's planner would pick it and sort.
    __table_args__ = (
        Index("ix_outbox_claimable_id", "id", **_where(OUTBOX_CLAIMABLE_SQL)),
        Index("ix_outbox_claimable_due_at", "due_at", **_where(OUTBOX_CLAIMABLE_SQL)),
        Index("ix_outbox_active_chat_id", "chat_id", "id", **_where(OUTBOX_ACTIVE_SQL)),
        Index("ix_outbox_sending_due_at", "due_at", **_where(OUTBOX_SENDING_SQL)),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[str] = mapped_column(String(24))  # card | status | relay | reminder | edit | topic | notice | replies
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
