"""Cases, their evidence, indicators and timeline."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.direct import Direct, Sql
from storage.models import Case, CaseCounter, CaseEvent, Evidence, Indicator, Unit

# Confirming a report runs these once each; through SQLAlchemy's statement path each cost 0.3–0.6 ms of CPU
# on the slow VM, the database's own work microseconds, so they go to the driver (`storage.direct`).
_COUNTERS = CaseCounter.__tablename__
_NEXT_SEQUENCE = Sql.numbered(
    f"INSERT INTO {_COUNTERS} (unit_id, year, last_seq) VALUES (?, ?, 1) ON CONFLICT (unit_id, year) "
    f"DO UPDATE SET last_seq = {_COUNTERS}.last_seq + 1 RETURNING last_seq")
_ID_BY_SUBMISSION = Sql.numbered(f"SELECT id FROM {Case.__tablename__} WHERE submission_key = ?")
_COUNT_SINCE = Sql.numbered(f"SELECT count(*) FROM {Case.__tablename__} WHERE reporter_id = ? AND created_at >= ?")


async def next_sequence(session: AsyncSession, unit_id: int, year: int) -> int:
    """The next number of the unit's case codes for `year`, in one statement: the first case of a year
    creates the counter and concurrent writers (several instances, PostgreSQL) queue on its row lock
    instead of colliding on its insert."""
    found = await (await Direct.of(session)).row(_NEXT_SEQUENCE, (unit_id, year))
    assert found is not None
    return int(found[0])


async def by_submission(session: AsyncSession, submission_key: str) -> Case | None:
    """The case a draft became, if it did: asked at every confirmation, where the answer is nearly always
    "none", so the id is looked up on the driver and the case loaded only when there is one."""
    found = await (await Direct.of(session)).row(_ID_BY_SUBMISSION, (submission_key,))
    return await session.get(Case, found[0]) if found else None


async def by_code(session: AsyncSession, code: str) -> Case | None:
    return await session.scalar(select(Case).where(Case.code == code.strip().upper()))


async def add(session: AsyncSession, case: Case, evidence: Iterable[Evidence], indicators: Iterable[Indicator],
              events: Iterable[CaseEvent]) -> Case:
    """The case written (it has its id), its children added to the session: the next flush writes them,
    with the recipients routing adds (`bot.casework.dispatch`), in one unit of work instead of two."""
    session.add(case)
    await session.flush()
    for row in (*evidence, *indicators, *events):
        row.case_id = case.id
        session.add(row)
    return case


async def naming(session: AsyncSession, kind: str, values: Sequence[str], *, limit: int = 500) -> list[int]:
    """Ids of the cases (newest first) with an indicator of `kind` whose value is one of `values`: "who else
    reported this number / account / site?". `values` are the stored forms of one thing
    (`bot.intake.indicators.stored_forms`); the (kind, value) index serves the lookup.

    It is one call to the driver on the session's connection: through SQLAlchemy's statement path the
    lookup cost ~0.9 ms, of which the database's own work was under 0.1 ms (bench B3)."""
    values = list(values)
    if not values:
        return []
    connection = await session.connection()
    dialect = connection.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        return list(await session.scalars(naming_query(kind, values, limit=limit)))
    sql, params = naming_sql(dialect, kind, values, limit)
    driver = (await connection.get_raw_connection()).driver_connection
    if dialect == "sqlite":
        rows = await driver.execute_fetchall(sql, params)  # type: ignore[union-attr]
    else:
        rows = await driver.fetch(sql, *params)  # type: ignore[union-attr]
    return [row[0] for row in rows]


def naming_sql(dialect: str, kind: str, values: Sequence[str], limit: int = 500) -> tuple[str, tuple[Any, ...]]:
    """The SQL `naming` sends, and its parameters (SQLite's ? or PostgreSQL's $n)."""
    table = Indicator.__table__.name
    if dialect == "sqlite":
        marks = ", ".join("?" * len(values))
        return (f"SELECT DISTINCT case_id FROM {table} WHERE kind = ? AND value IN ({marks}) "
                "ORDER BY case_id DESC LIMIT ?", (kind, *values, limit))
    return (f"SELECT DISTINCT case_id FROM {table} WHERE kind = $1 AND value = ANY($2::varchar[]) "
            "ORDER BY case_id DESC LIMIT $3", (kind, list(values), limit))


def naming_query(kind: str, values: Sequence[str], *, limit: int = 500) -> Any:
    """The same lookup as a SQLAlchemy statement (other dialects)."""
    return (select(Indicator.case_id).where(Indicator.kind == kind, Indicator.value.in_(list(values)))
            .distinct().order_by(Indicator.case_id.desc()).limit(limit))


async def count_since(session: AsyncSession, reporter_id: int, since: datetime) -> int:
    direct = await Direct.of(session)
    found = await direct.row(_COUNT_SINCE, (reporter_id, direct.time_in(since)))
    return int(found[0]) if found else 0


async def of_reporter(session: AsyncSession, reporter_id: int, limit: int = 20) -> list[Case]:
    rows = await session.scalars(
        select(Case).where(Case.reporter_id == reporter_id).order_by(Case.created_at.desc()).limit(limit)
    )
    return list(rows)


async def timeline(session: AsyncSession, case_id: int, *, public_only: bool) -> list[CaseEvent]:
    query = select(CaseEvent).where(CaseEvent.case_id == case_id)
    if public_only:
        query = query.where(CaseEvent.public)
    return list(await session.scalars(query.order_by(CaseEvent.at, CaseEvent.id)))


async def add_event(session: AsyncSession, case_id: int, kind: str, *, actor_id: int | None = None,
                    actor_role: str | None = None, public: bool = False, data: dict[str, Any] | None = None,
                    at: datetime | None = None) -> CaseEvent:
    """The event, written (it has its id)."""
    event = new_event(session, case_id, kind, actor_id=actor_id, actor_role=actor_role, public=public, data=data,
                      at=at)
    await session.flush()
    return event


def new_event(session: AsyncSession, case_id: int, kind: str, *, actor_id: int | None = None,
              actor_role: str | None = None, public: bool = False, data: dict[str, Any] | None = None,
              at: datetime | None = None) -> CaseEvent:
    """The event, added to the session: the caller's next flush writes it (with others: one flush each costs
    the ORM's unit of work, ~0.3 ms of CPU in bench B1)."""
    event = CaseEvent(case_id=case_id, kind=kind, actor_id=actor_id, actor_role=actor_role, public=public,
                      data=data or {})
    if at is not None:
        event.at = at
    session.add(event)
    return event


async def forget_reporter(session: AsyncSession, reporter_id: int) -> None:
    """Consent withdrawn: cases stay (the school must still act on them) but lose the person's identity."""
    await session.execute(
        update(Case).where(Case.reporter_id == reporter_id)
        .values(reporter_id=None, contact_name=None, contact_phone=None, anonymous=True)
    )


async def for_export(session: AsyncSession, *, unit_ids: Sequence[int] | None, since: datetime | None
                     ) -> list[tuple[Case, Unit]]:
    query = select(Case, Unit).join(Unit, Unit.id == Case.unit_id).order_by(Case.created_at, Case.id)
    if unit_ids is not None:
        query = query.where(Case.unit_id.in_(unit_ids))
    if since is not None:
        query = query.where(Case.created_at >= since)
    return [(case, unit) for case, unit in (await session.execute(query)).all()]


async def children_of(session: AsyncSession, case_ids: Sequence[int], model: Any) -> dict[int, list[Any]]:
    """Evidence or indicators of many cases in one query, grouped by case."""
    grouped: dict[int, list[Any]] = {case_id: [] for case_id in case_ids}
    if case_ids:
        for row in await session.scalars(_children_query(model), {"case_ids": list(case_ids)}):
            grouped[row.case_id].append(row)
    return grouped


@functools.cache
def _children_query(model: Any) -> Any:
    """Built once per model: every card rendered runs it (see `_next_sequence`)."""
    return select(model).where(model.case_id.in_(bindparam("case_ids", expanding=True))).order_by(model.id)


SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


async def open_for_units(session: AsyncSession, unit_ids: Sequence[int], *, offset: int, limit: int
                         ) -> tuple[list[Case], int]:
    """Open cases of these units, most severe first, then newest; with the total for paging."""
    from sqlalchemy import case as case_when

    where = (Case.unit_id.in_(unit_ids), Case.status != "closed")
    rank = case_when(SEVERITY_RANK, value=Case.severity, else_=9)
    rows = await session.scalars(select(Case).where(*where).order_by(rank, Case.created_at.desc())
                                 .offset(offset).limit(limit))
    total = await session.scalar(select(func.count()).select_from(Case).where(*where))
    return list(rows), int(total or 0)
