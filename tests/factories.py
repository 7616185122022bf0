"""Small builders for test data that does not come through the CSV import."""

from __future__ import annotations

from bot.deeplinks import new_school_token
from bot.text import fold
from storage.db import Database
from storage.models import Unit


async def make_unit(db: Database, code: str, name: str, kind: str, parent: Unit | None = None) -> Unit:
    async with db.session() as session:
        unit = Unit(code=code, name=name, name_folded=fold(name), kind=kind,
                    parent_id=parent.id if parent else None, public_token=new_school_token())
        session.add(unit)
        await session.flush()
        return unit


async def make_tree(db: Database) -> dict[str, Unit]:
    """Hải Phòng → Kiến An → two schools, plus an upper-secondary school directly under the province."""
    hp = await make_unit(db, "HP", "Sở GD&ĐT Hải Phòng", "province")
    ka = await make_unit(db, "KA", "Phòng GD&ĐT Kiến An", "district", hp)
    ns = await make_unit(db, "KA-NS", "THCS Ngọc Sơn", "school", ka)
    ts = await make_unit(db, "KA-TS", "Tiểu học Trần Thành Ngọ", "school", ka)
    thpt = await make_unit(db, "HP-KA1", "THPT Kiến An", "school", hp)
    return {"hp": hp, "ka": ka, "ns": ns, "ts": ts, "thpt": thpt}
