"""Dispatcher-level tests of first contact: deep links, the privacy notice, finding the school."""

from __future__ import annotations

from sqlalchemy import func, select

from bot import invites
from handlers.callbacks import ConsentCb, LangCb, SchoolCb
from storage.models import FsmRecord, Member, Reporter
from tests.factories import make_tree


async def count(db, model) -> int:  # type: ignore[no-untyped-def]
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_school_link_shows_notice_and_stores_nothing_before_consent(harness, db):
    tree = await make_tree(db)
    parent = harness.user()
    calls = await harness.send(parent, f"/start s_{tree['ns'].public_token}")
    texts = harness.texts(calls)
    assert "THCS Ngọc Sơn" in texts[0]
    assert "91/2025/QH15" in texts[1]
    assert ("✅ Tôi đồng ý", ConsentCb(action="agree").pack()) in harness.buttons(calls)
    assert await count(db, Reporter) == 0

    calls = await harness.press(parent, ConsentCb(action="agree").pack())
    assert any("THCS Ngọc Sơn" in t for t in harness.texts(calls))
    async with db.session() as session:
        reporter = await session.get(Reporter, parent.id)
    assert reporter is not None and reporter.consent_version and reporter.unit_id == tree["ns"].id


async def test_plain_start_then_search_without_diacritics(harness, db):
    tree = await make_tree(db)
    parent = harness.user()
    await harness.send(parent, "/start")
    calls = await harness.press(parent, ConsentCb(action="agree").pack())
    assert any("nhập tên trường" in t for t in harness.texts(calls))

    calls = await harness.send(parent, "thcs ngoc son")
    assert (tree["ns"].name, SchoolCb(unit_id=tree["ns"].id).pack()) in harness.buttons(calls)

    calls = await harness.send(parent, "truong khong ton tai xyz")
    assert "Không tìm thấy" in harness.texts(calls)[0]

    calls = await harness.press(parent, SchoolCb(unit_id=tree["ns"].id).pack())
    assert any("Đã ghi nhận trường <b>THCS Ngọc Sơn</b>" in t for t in harness.texts(calls))


async def test_school_search_escapes_what_the_user_typed(harness, db):
    await make_tree(db)
    parent = harness.user()
    await harness.send(parent, "/start")
    await harness.press(parent, ConsentCb(action="agree").pack())
    calls = await harness.send(parent, "<b>Tom & Jerry</b>")
    assert "«&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;»" in harness.texts(calls)[0]


async def test_a_district_cannot_be_picked_as_a_school_with_forged_data(harness, db):
    tree = await make_tree(db)
    parent = harness.user()
    await harness.send(parent, "/start")
    await harness.press(parent, ConsentCb(action="agree").pack())
    calls = await harness.press(parent, SchoolCb(unit_id=tree["ka"].id).pack())
    assert harness.alerts(calls) == ["Nút này không còn hiệu lực. Xin Anh/Chị dùng tin nhắn mới nhất."]


async def test_decline_stores_nothing(harness, db):
    parent = harness.user()
    await harness.send(parent, "/start")
    calls = await harness.press(parent, ConsentCb(action="decline").pack())
    assert "Không có thông tin nào được lưu" in harness.texts(calls)[0]
    assert await count(db, Reporter) == 0
    assert await count(db, FsmRecord) == 0


async def test_typing_on_the_notice_repeats_the_buttons(harness, db):
    parent = harness.user()
    await harness.send(parent, "/start")
    calls = await harness.send(parent, "xin chào")
    assert "Tôi đồng ý" in harness.texts(calls)[0]
    assert harness.buttons(calls)


async def test_invite_makes_a_leader_once(harness, db):
    tree = await make_tree(db)
    async with db.session() as session:
        invite, _ = await invites.create(session, "KA-NS", "leader", uses=1)
    leader = harness.user(2001, first_name="Hiệu trưởng")
    calls = await harness.send(leader, f"/start i_{invite.token}")
    assert "Lãnh đạo đơn vị" in harness.texts(calls)[0] and "THCS Ngọc Sơn" in harness.texts(calls)[0]
    calls = await harness.send(leader, f"/start i_{invite.token}")
    assert "đã là" in harness.texts(calls)[0]
    other = harness.user(2002)
    calls = await harness.send(other, f"/start i_{invite.token}")
    assert "đã được sử dụng hết" in harness.texts(calls)[0]
    forged = await harness.send(other, "/start i_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert "không hợp lệ" in harness.texts(forged)[0]
    async with db.session() as session:
        members = list(await session.scalars(select(Member)))
    assert [(m.user_id, m.role, m.unit_id) for m in members] == [(2001, "leader", tree["ns"].id)]


async def test_language_switch_before_and_after_consent(harness, db):
    await make_tree(db)
    parent = harness.user()
    await harness.send(parent, "/start")
    calls = await harness.press(parent, LangCb(code="en").pack())
    assert harness.texts(calls) == ["Switched to English."]
    calls = await harness.send(parent, "/help")
    assert "How to use the bot" in harness.texts(calls)[0]
    assert await count(db, Reporter) == 0
    await harness.press(parent, ConsentCb(action="agree").pack())
    async with db.session() as session:
        assert (await session.get(Reporter, parent.id)).locale == "en"


async def test_withdraw_deletes_the_profile(harness, db):
    await make_tree(db)
    parent = harness.user()
    await harness.send(parent, "/start")
    await harness.press(parent, ConsentCb(action="agree").pack())
    calls = await harness.send(parent, "/privacy")
    assert ("🗑 Rút lại đồng ý và xóa dữ liệu", ConsentCb(action="withdraw").pack()) in harness.buttons(calls)
    await harness.press(parent, ConsentCb(action="withdraw").pack())
    assert await count(db, Reporter) == 0


async def test_sticker_and_unknown_text_get_an_answer(harness, db):
    await make_tree(db)
    parent = harness.user()
    await harness.send(parent, "/start")
    await harness.press(parent, ConsentCb(action="agree").pack())
    from aiogram.types import Sticker

    sticker = Sticker(file_id="s", file_unique_id="s", type="regular", width=1, height=1, is_animated=False,
                      is_video=False)
    calls = await harness.send(parent, None, sticker=sticker)
    assert harness.texts(calls) == ["Xin Anh/Chị nhập tên trường bằng chữ."]


async def test_forged_callback_data_gets_a_clear_answer(harness, db):
    parent = harness.user()
    calls = await harness.press(parent, "zz:garbage:" + "ả" * 10)
    assert harness.alerts(calls) == ["Nút này không còn hiệu lực. Xin Anh/Chị dùng tin nhắn mới nhất."]
