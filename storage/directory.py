"""SQL for the directory of units: load it whole, upsert an imported file, look units up by code.

The directory is small (a province has a few thousand schools at most), so it is read in one SELECT and
indexed in memory rather than queried row by row; that keeps an import or a tree print to a handful of
statements on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Unit

SCHOOL = "school"


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """One unit as the import wants it to be; the parent is named by code, ids are the database's business."""

    code: str
    name: str
    name_folded: str
    kind: str
    parent_code: str | None


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    created: int
    updated: int
    unchanged: int


async def all_units(session: AsyncSession) -> list[Unit]:
    """Every unit, in one SELECT (the tree and the import index it in memory)."""
    return list(await session.scalars(select(Unit).order_by(Unit.id)))


async def units_by_code(session: AsyncSession) -> dict[str, Unit]:
    return {unit.code: unit for unit in await all_units(session)}


async def unit_by_code(session: AsyncSession, code: str) -> Unit | None:
    return await session.scalar(select(Unit).where(Unit.code == code))


async def school_by_code(session: AsyncSession, code: str) -> Unit | None:
    return await session.scalar(select(Unit).where(Unit.code == code, Unit.kind == SCHOOL))


async def upsert_units(
    session: AsyncSession,
    specs: Sequence[UnitSpec],
    current: MutableMapping[str, Unit],
    new_token: Callable[[], str],
) -> UpsertCounts:
    """Create or update `specs`, given parent-before-child, against `current` (all units by code).

    A created unit gets `new_token()` as its public deep-link token.

    An existing unit is touched only when a value differs, so re-importing the same file issues no UPDATE
    and leaves `updated_at` alone. Its `public_token` is never written here: printed QR posters carry it.
    `current` gains the created units. The session flushes only when a spec's parent was created in this
    batch and has no id yet, which with parent-first order is at most once per level of the tree.
    """
    created = updated = 0
    for spec in specs:
        parent_id = await _parent_id(session, spec, current)
        unit = current.get(spec.code)
        if unit is None:
            unit = Unit(code=spec.code, public_token=new_token(), **_values(spec, parent_id))
            session.add(unit)
            current[spec.code] = unit
            created += 1
        elif _apply(unit, _values(spec, parent_id)):
            updated += 1
    await session.flush()
    return UpsertCounts(created=created, updated=updated, unchanged=len(specs) - created - updated)


async def _parent_id(session: AsyncSession, spec: UnitSpec, current: MutableMapping[str, Unit]) -> int | None:
    if spec.parent_code is None:
        return None
    parent = current[spec.parent_code]
    if parent.id is None:
        await session.flush()
    return parent.id


def _values(spec: UnitSpec, parent_id: int | None) -> dict[str, object]:
    return {"name": spec.name, "name_folded": spec.name_folded, "kind": spec.kind, "parent_id": parent_id}


def _apply(unit: Unit, values: dict[str, object]) -> bool:
    """Set only the attributes that differ; report whether anything did."""
    changed = {key: value for key, value in values.items() if getattr(unit, key) != value}
    for key, value in changed.items():
        setattr(unit, key, value)
    return bool(changed)
