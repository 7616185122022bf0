"""The reporter's intake conversation end to end, through the real Dispatcher: every incident type from the
menu button to the receipt, navigation (back, skip, conditional questions, edit), idempotent confirmation,
the hourly limit, anonymity, evidence, "my cases", resuming and expiry of unfinished drafts."""

from __future__ import annotations

import gc
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram.methods import SendMessage
from aiogram.types import Contact, Document, MessageOriginHiddenUser, MessageOriginUser, PhotoSize, User

import handlers.evidence
import handlers.summary
from bot.housekeeping import expire_drafts
from handlers.callbacks import (
    AnonCb,
    AnswerCb,
    EditCb,
    MyCaseCb,
    NavCb,
    ResumeCb,
    RoleCb,
    SummaryCb,
    TypeCb,
)
from storage import inbox, sqlite_inline
from storage.models import FsmRecord, Unit
from storage.models import Reporter as Profile
from tests.databases import SentStatements
from tests.factories import make_unit
from tests.intake_driver import (
    SKIP,
    STALE,
    Reporter,
    Typed,
    all_cases,
    check_calls,
    events_of,
    evidence_of,
    indicators_of,
    only_case,
)

pytestmark = pytest.mark.usefixtures("fast_retries")

VN = ZoneInfo("Asia/Ho_Chi_Minh")

SCAM = {
    "platform": "zalo", "pretended": "school", "asked_for": ["money"], "phones": "0912 345 678",
    "bank_account": "stk 0123456789 vietcombank", "profile": "facebook.com/scammer.page", "money_sent": "yes",
    "amount": "5tr", "money_when": "today", "when": "yesterday", "details": SKIP,
}
HACKED = {
    "account": "school_fanpage", "access": "no",
    "attacker_doing": "Đổi tên trang, nhắn phụ huynh vay tiền, bảo gọi 0987 654 321", "links": SKIP,
    "when": "today", "details": SKIP,
}
HARMFUL = {
    "platform": "tiktok", "links": "https://www.tiktok.com/@ke.xau/video/7300000000000000000?is_from_webapp=1",
    "target": "school", "spread": "viral", "still_online": "yes", "when": "today", "details": SKIP,
}
DATA_LEAK = {
    "platform": "facebook", "leak_where": "Nhóm Facebook «Phụ huynh khối 6»", "data_kinds": ["names", "phones"],
    "people_count": "khoảng 120 em", "affected": "student", "class": "6a", "when": "this_week", "details": SKIP,
}
BULLYING = {
    "danger": "yes", "victim": "Cháu Minh, số của cháu 0912 000 111", "is_student": "yes", "class": "7A",
    "platform": "facebook", "links": SKIP, "intimate": "no", "threats": "no", "when": "today", "details": SKIP,
}
OTHER = {"details": "Có người lạ vào nhóm lớp gửi link quảng cáo", "platform": "other", "links": SKIP,
         "affected": "school", "when": "today"}


def year() -> str:
    return f"{datetime.now(VN).year % 100:02d}"


def photo(n: int, group: str | None = None, caption: str | None = None) -> dict:
    return {"photo": [PhotoSize(file_id=f"small{n}", file_unique_id=f"s{n}", width=90, height=90),
                      PhotoSize(file_id=f"photo{n}", file_unique_id=f"p{n}", width=1280, height=960,
                                file_size=200_000)],
            "media_group_id": group, "caption": caption}


def pdf(name: str = "tin-nhan.pdf") -> dict:
    return {"document": Document(file_id="doc1", file_unique_id="d1", file_name=name, mime_type="application/pdf",
                                 file_size=50_000)}


def forwarded_from_user(text: str) -> dict:
    sender = User(id=777, is_bot=False, first_name="Cô Hà (giả)")
    return {"text": text, "forward_origin": MessageOriginUser(date=datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
                                                              sender_user=sender)}


def forwarded_from_hidden(text: str) -> dict:
    return {"text": text, "forward_origin": MessageOriginHiddenUser(
        date=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), sender_user_name="Ngân hàng XYZ")}





@pytest.fixture
async def newcomer(harness, tree):  # type: ignore[no-untyped-def]
    """A parent of THCS Ngọc Sơn who just scanned the school's poster and agreed to the notice."""
    reporter = Reporter(harness)
    await reporter.join(tree["ns"])
    return reporter


def advice(catalog, key: str) -> str:  # type: ignore[no-untyped-def]
    return catalog.translator("vi").t(key)


# --- one full report per incident type ------------------------------------------------------------------


async def test_scam_with_money_sent_is_high_with_its_indicators(harness, newcomer, catalog):
    lan = newcomer
    receipt = await lan.report("scam", SCAM)

    case = await only_case(harness)
    assert (case.incident_type, case.severity, case.money_lost) == ("scam", "high", 5_000_000)
    assert case.code == f"KA-NS-{year()}-0001"
    assert case.reporter_role == "parent" and case.status == "new"
    assert await indicators_of(harness, case) == {
        ("phone", "+84912345678"),
        ("bank_account", "VCB:0123456789"),
        ("url", "https://facebook.com/scammer.page"),
        ("profile", "facebook:scammerpage"),
    }
    assert [e.kind for e in await events_of(harness, case)] == ["created"]
    text = "\n".join(harness.texts(receipt))
    assert f"<code>{case.code}</code>" in text
    assert advice(catalog, "advice-scam") in text and advice(catalog, "advice-scam-bank") in text
    assert await lan.state() is None, "the draft must be gone once the case exists"


async def test_hacked_school_fanpage_is_high(harness, newcomer, catalog):
    lan = newcomer
    await lan.choose("hacked")
    asked = await lan.answer_all(HACKED)
    assert "platform" not in asked, "the platform is only asked for personal accounts"
    await lan.finish_evidence()
    await lan.stay_anonymous()
    receipt = await lan.confirm()

    case = await only_case(harness)
    assert (case.incident_type, case.severity) == ("hacked", "high")
    assert "reason-official-channel" in case.severity_reasons
    assert await indicators_of(harness, case) == {("phone", "+84987654321")}
    text = "\n".join(harness.texts(receipt))
    assert case.code in text and advice(catalog, "advice-hacked") in text
    assert advice(catalog, "advice-hacked-official") in text


async def test_harmful_viral_is_high(harness, newcomer, catalog):
    lan = newcomer
    receipt = await lan.report("harmful", HARMFUL)
    case = await only_case(harness)
    assert (case.incident_type, case.severity) == ("harmful", "high")
    assert case.answers["links"] == ["https://tiktok.com/@ke.xau/video/7300000000000000000"]
    assert ("profile", "tiktok:@ke.xau") in await indicators_of(harness, case)
    assert advice(catalog, "advice-harmful") in "\n".join(harness.texts(receipt))


@pytest.mark.parametrize(("people", "severity"), [("khoảng 120 em", "high"), ("10", "medium")])
async def test_data_leak_severity_depends_on_how_many_people(harness, newcomer, catalog, people, severity):
    lan = newcomer
    receipt = await lan.report("data_leak", {**DATA_LEAK, "people_count": people})
    case = await only_case(harness)
    assert (case.incident_type, case.severity) == ("data_leak", severity)
    assert case.answers["people_count"] in (120, 10)
    assert case.answers["class"] == "6A"
    assert case.answers["data_kinds"] == ["names", "phones"]
    assert advice(catalog, "advice-data-leak") in "\n".join(harness.texts(receipt))


async def test_bullying_child_in_danger_is_critical_and_113_comes_at_once(harness, newcomer, catalog):
    lan = newcomer
    await lan.choose("bullying")
    assert await lan.current() == "danger"
    calls = await lan.press_button(AnswerCb(q="danger", v="yes").pack())
    texts = harness.texts(calls)
    danger = advice(catalog, "advice-danger")
    assert "113" in danger and "111" in danger
    urgent = next(i for i, t in enumerate(texts) if danger in t)
    next_question = next(i for i, t in enumerate(texts) if "Người bị bắt nạt" in t)
    assert urgent < next_question, f"the 113/111 advice must come before the next question: {texts}"

    await lan.to_summary({k: v for k, v in BULLYING.items() if k != "danger"})
    receipt = await lan.confirm()
    case = await only_case(harness)
    assert (case.incident_type, case.severity) == ("bullying", "critical")
    assert case.severity_reasons[0] == "reason-child-danger"
    assert await indicators_of(harness, case) == set(), "the victim's own phone is not a reported indicator"
    assert danger in "\n".join(harness.texts(receipt))


async def test_other_is_low(harness, newcomer, catalog):
    lan = newcomer
    receipt = await lan.report("other", OTHER)
    case = await only_case(harness)
    assert (case.incident_type, case.severity) == ("other", "low")
    assert case.answers["details"] == OTHER["details"]
    text = "\n".join(harness.texts(receipt))
    assert case.code in text and advice(catalog, "advice-other") in text


async def test_codes_count_per_school(harness, tree, lan):
    await lan.report("other", OTHER)
    await lan.report("other", OTHER)
    other_school = Reporter(harness, 1002, "Hùng")
    await other_school.agreed(tree["ts"])
    await other_school.report("other", OTHER)
    assert [c.code for c in await all_cases(harness)] == [
        f"KA-NS-{year()}-0001", f"KA-NS-{year()}-0002", f"KA-TS-{year()}-0001"]


async def test_the_code_year_is_vietnamese_time(harness, lan, monkeypatch):
    # 31/12/2025 18:30 UTC is already 01:30 on 1 January 2026 in Hà Nội.
    monkeypatch.setattr(handlers.summary, "utcnow", lambda: datetime(2025, 12, 31, 18, 30, tzinfo=UTC))
    await lan.report("other", OTHER)
    case = await only_case(harness)
    assert case.code == "KA-NS-26-0001" and case.year == 2026


# --- the order of the conversation -----------------------------------------------------------------------


async def test_role_is_asked_on_the_first_report_only(harness, db, lan):
    calls = await lan.start_report()
    assert RoleCb(role="parent").pack() in [d for _, d in harness.buttons(calls)]
    await lan.press_button(RoleCb(role="staff").pack())
    await lan.press_button(TypeCb(type="other").pack())
    await lan.to_summary(OTHER)
    await lan.confirm()

    calls = await lan.start_report()
    data = [d for _, d in harness.buttons(calls)]
    assert not any(d.startswith("ir:") for d in data), "the role must not be asked again"
    assert TypeCb(type="scam").pack() in data
    await lan.press_button(TypeCb(type="other").pack())
    await lan.to_summary(OTHER)
    await lan.confirm()
    assert [c.reporter_role for c in await all_cases(harness)] == ["staff", "staff"]
    async with db.session() as session:
        assert (await session.get(Profile, lan.id)).role == "staff"


async def test_a_role_typed_instead_of_pressed_is_remembered_too(harness, db, lan):
    await lan.start_report()
    await lan.send("giao vien, nhan vien")  # no diacritics
    assert TypeCb(type="scam").pack() in [d for _, d in lan.buttons]
    async with db.session() as session:
        assert (await session.get(Profile, lan.id)).role == "staff"


async def test_a_reporter_whose_school_left_the_directory_is_asked_for_it_again(harness, db, tree):
    gone = await make_unit(db, "KA-SN", "THCS Đã Sáp Nhập", "school", tree["ka"])
    reporter = Reporter(harness, 1003, "Mai")
    await reporter.agreed(gone)
    async with db.session() as session:
        await session.delete(await session.get(Unit, gone.id))
        await session.commit()
    await reporter.start_report()
    assert reporter.text == harness.catalog.translator("vi").t("school-ask")
    assert await reporter.draft() is None


async def test_advice_comes_as_soon_as_the_type_is_chosen(harness, lan, catalog):
    calls = await lan.choose("scam")
    texts = harness.texts(calls)
    assert texts[0] == "Loại sự cố: <b>Lừa đảo, mạo danh</b>.\n\n" + advice(catalog, "advice-scam")
    assert "Kẻ gian liên hệ với Anh/Chị qua kênh nào?" in texts[1]
    assert len(texts) == 2
    assert await lan.current() == "platform"


async def test_each_answer_costs_one_message_noting_it_and_asking_the_next_question(harness, lan):
    """A chat of one bubble per step: "noted" opens the next question instead of coming alone (every
    message also counts against Telegram's send limits, which a scam wave reaches first)."""
    await lan.choose("scam")
    pressed = await lan.answer("platform", "zalo")
    assert [type(c).__name__ for c in pressed] == ["AnswerCallbackQuery", "EditMessageReplyMarkup", "SendMessage"]
    assert harness.texts(pressed)[0] == "✔️ Đã ghi nhận.\n\n<i>Câu 2/9</i>\nKẻ gian đã giả danh ai?"
    await lan.answer("pretended", "teacher")
    await lan.answer("asked_for", ["money"])
    typed = await lan.answer("phones", "0912 345 678")
    assert [type(c).__name__ for c in typed] == ["SendMessage"]
    assert harness.texts(typed)[0].startswith("✔️ Đã ghi nhận.\n\n")


async def test_an_answer_reads_the_conversation_and_the_language_in_one_statement(harness, db, lan):
    """Every update reads its sender's conversation and then their chosen language: one statement brings
    both (bench B1), and the language it brought is the one the answer is in."""
    async with db.session() as session:
        (await session.get(Profile, lan.id)).locale = "en"
        await session.commit()
    await lan.choose("scam")
    async with SentStatements(db) as sent:  # the bot's statements alone (not the driver's look at the draft)
        pressed = await harness.press(lan.user, AnswerCb(q="platform", v="zalo").pack())
    assert harness.texts(pressed)[0].startswith("✔️ Noted.")
    reads = [s for s in sent.starting("SELECT") if "fsm_states" in s or "reporters" in s]
    assert len(reads) == 1, reads


async def test_back_returns_to_the_previous_question_keeping_answers(harness, lan):
    await lan.choose("scam")
    await lan.answer("platform", "zalo")
    await lan.answer("pretended", "teacher")
    assert await lan.current() == "asked_for"

    calls = await lan.press_button(NavCb(a="back", q="asked_for").pack())
    assert "Kẻ gian đã giả danh ai?" in "\n".join(harness.texts(calls))
    assert await lan.current() == "pretended"
    assert (await lan.draft())["answers"] == {"platform": "zalo", "pretended": "teacher"}

    await lan.press_button(NavCb(a="back", q="pretended").pack())
    assert await lan.current() == "platform"
    calls = await lan.press_button(NavCb(a="back", q="platform").pack())
    assert await lan.state() == "Intake:type", "back from the first question goes to the type"
    assert TypeCb(type="scam").pack() in [d for _, d in harness.buttons(calls)]
    await lan.press_button(TypeCb(type="scam").pack())
    assert (await lan.draft())["answers"]["pretended"] == "teacher", "same type again keeps the answers"

    await lan.to_summary({**SCAM, "platform": "facebook"})
    await lan.confirm()
    case = await only_case(harness)
    assert case.answers["platform"] == "facebook" and case.answers["pretended"] == "school"


async def test_skip_stores_a_skipped_answer(harness, lan):
    await lan.choose("scam")
    await lan.answer_all({"platform": "sms", "pretended": "bank", "asked_for": ["otp"]}, partial=True)
    assert await lan.current() == "phones"
    assert ("Bỏ qua ⏭", NavCb(a="skip", q="phones").pack()) in lan.buttons
    await lan.answer_all({"phones": SKIP, "bank_account": SKIP, "profile": SKIP}, partial=True)
    assert await lan.current() == "money_sent"
    assert NavCb(a="skip", q="money_sent").pack() not in [d for _, d in lan.buttons], "a required question"
    summary = await lan.to_summary({**SCAM, "money_sent": "no"})
    assert "• Tài khoản nhận tiền: (bỏ qua)" in "\n".join(harness.texts(summary))
    assert "• Số điện thoại của kẻ gian: (bỏ qua)" in "\n".join(harness.texts(summary))
    await lan.confirm()
    case = await only_case(harness)
    assert "phones" in case.answers and case.answers["phones"] is None
    assert not any(kind == "phone" for kind, _ in await indicators_of(harness, case))


async def test_amount_is_asked_only_when_money_was_sent(harness, lan):
    await lan.choose("scam")
    await lan.answer_all({k: SCAM[k] for k in ("platform", "pretended", "asked_for", "phones", "bank_account",
                                               "profile")}, partial=True)
    calls = await lan.answer("money_sent", "yes")
    assert await lan.current() == "amount"
    assert "Câu 8/11" in "\n".join(harness.texts(calls))

    await lan.press_button(NavCb(a="back", q="amount").pack())
    assert await lan.current() == "money_sent"
    calls = await lan.answer("money_sent", "no")
    assert await lan.current() == "when", "no amount nor transfer date once money_sent is no"
    assert "Câu 8/9" in "\n".join(harness.texts(calls))
    await lan.to_summary(SCAM)
    await lan.confirm()
    case = await only_case(harness)
    assert "amount" not in case.answers and "money_when" not in case.answers
    assert (case.severity, case.money_lost) == ("medium", None)


async def test_choices_typed_without_diacritics_or_with_typos(harness, lan):
    await lan.choose("scam")
    await lan.answer("platform", Typed("facebok"))
    assert (await lan.draft())["answers"]["platform"] == "facebook"
    await lan.answer("pretended", Typed("giao vien"))
    await lan.answer("asked_for", Typed("tien va otp"))
    await lan.answer_all({"phones": SKIP, "bank_account": SKIP, "profile": SKIP, "money_sent": Typed("khong"),
                          "when": Typed("hom qua"), "details": SKIP})
    answers = (await lan.draft())["answers"]
    assert answers["pretended"] == "teacher"
    assert answers["asked_for"] == ["money", "otp"]
    assert answers["money_sent"] == "no"
    assert answers["when"]["period"] == "yesterday"

    await lan.finish_evidence()
    await lan.stay_anonymous()
    await lan.confirm()

    await lan.choose("bullying")
    await lan.answer_all({**BULLYING, "danger": Typed("khong"), "is_student": Typed("co"),
                          "platform": Typed("zalo")})
    answers = (await lan.draft())["answers"]
    assert (answers["danger"], answers["is_student"], answers["platform"]) == ("no", "yes", "zalo")


# --- the summary ---------------------------------------------------------------------------------------


async def test_edit_an_answer_from_the_summary(harness, lan):
    await lan.choose("scam")
    await lan.to_summary({**SCAM, "money_sent": "no"})
    draft = await lan.draft_id()

    calls = await lan.press_button(SummaryCb(a="edit", d=draft).pack())
    assert (("Nền tảng", EditCb(q="platform").pack())) in harness.buttons(calls)
    await lan.press_button(EditCb(q="platform").pack())
    assert await lan.current() == "platform"
    calls = await lan.answer("platform", "tiktok")
    summary = "\n".join(harness.texts(calls))
    assert "• Nền tảng: TikTok" in summary and "Zalo" not in summary
    assert await lan.state() == "Intake:summary"

    # Changing "money sent" to yes opens its follow-ups, then comes back to the summary.
    await lan.press_button(SummaryCb(a="edit", d=draft).pack())
    await lan.press_button(EditCb(q="money_sent").pack())
    asked = await lan.answer_all({"money_sent": "yes", "amount": "2 triệu rưỡi", "money_when": "today"})
    assert asked == ["money_sent", "amount", "money_when"]
    assert "• Số tiền đã chuyển: 2.500.000 đ" in lan.text

    await lan.confirm()
    case = await only_case(harness)
    assert case.answers["platform"] == "tiktok"
    assert (case.severity, case.money_lost) == ("high", 2_500_000)


async def test_confirm_twice_makes_one_case_and_names_it(harness, lan):
    await lan.choose("other")
    await lan.to_summary(OTHER)
    confirm = SummaryCb(a="confirm", d=await lan.draft_id()).pack()
    await lan.press(confirm)
    second = await lan.press(confirm)
    case = await only_case(harness)
    assert lan.alerts == [f"Báo cáo này đã được gửi, mã {case.code}."]
    # The receipt again, same code: after a crash between saving and replying, this is how it arrives.
    assert [t for t in harness.texts(second) if "Mã báo cáo" in t] and case.code in "\n".join(harness.texts(second))


@pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL commits every transaction durably
async def test_the_conversation_moves_on_without_waiting_for_the_disk_and_the_receipt_waits_for_it(
        harness, lan, monkeypatch):
    synced_at: list[int] = []  # how many API calls had been made when each fsync of a handler's commit ran
    handling = [0]
    handle, sync_file = harness.processor.handle, sqlite_inline.sync_file

    async def counted_handle(update):  # type: ignore[no-untyped-def]
        handling[0] += 1
        try:
            await handle(update)
        finally:
            handling[0] -= 1

    def counted_sync(path: str) -> None:
        sync_file(path)
        if handling[0]:  # not the test harness's own store of each update
            synced_at.append(len(harness.requests))

    monkeypatch.setattr(harness.processor, "handle", counted_handle)
    monkeypatch.setattr(sqlite_inline, "sync_file", counted_sync)
    await lan.choose("other")
    await lan.to_summary(OTHER)
    assert synced_at == []  # every answer, the evidence and identity steps: committed, no fsync waited for
    before = len(harness.requests)
    await lan.confirm()
    case = await only_case(harness)
    assert case.code in lan.text
    assert synced_at and synced_at[0] == before  # the case was on disk before the receipt was sent


async def test_the_same_confirm_update_delivered_twice_makes_one_case(harness, lan):
    await lan.choose("other")
    await lan.to_summary(OTHER)
    update = lan.callback_update(SummaryCb(a="confirm", d=await lan.draft_id()).pack())
    first = await lan.feed(update)
    second = await lan.feed(update)
    case = await only_case(harness)
    assert case.code in "\n".join(harness.texts(first))
    assert not harness.texts(second)  # a redelivery of a handled update is a no-op


async def test_hourly_limit_refuses_the_third_report_politely(harness, lan):
    harness.settings.reports_per_hour = 2
    await lan.report("other", OTHER)
    await lan.report("other", OTHER)
    calls = await lan.start_report()
    assert harness.texts(calls) == [
        "Anh/Chị đã gửi 2 báo cáo trong một giờ qua. Xin Anh/Chị đợi một lát rồi gửi tiếp. "
        "Nếu có người đang gặp nguy hiểm, hãy gọi ngay 113."]
    assert await lan.state() is None
    assert len(await all_cases(harness)) == 2


# --- anonymity -------------------------------------------------------------------------------------------


async def test_anonymous_by_default(harness, lan):
    await lan.choose("other")
    await lan.answer_all(OTHER)
    await lan.finish_evidence()
    assert lan.buttons[0] == ("🕶 Giữ ẩn danh (khuyến nghị)", AnonCb(a="anon").pack())
    calls = await lan.stay_anonymous()
    assert "Danh tính: ẩn danh" in "\n".join(harness.texts(calls))
    await lan.confirm()
    case = await only_case(harness)
    assert case.anonymous is True
    assert (case.contact_name, case.contact_phone) == (None, None)


async def test_sharing_ones_own_contact(harness, lan):
    await lan.choose("other")
    await lan.answer_all(OTHER)
    await lan.finish_evidence()
    calls = await lan.press_button(AnonCb(a="share").pack())
    keyboard = [c for c in calls if isinstance(c, SendMessage)][-1].reply_markup
    assert keyboard.keyboard[0][0].request_contact is True

    stranger = Contact(phone_number="0987000111", first_name="Người khác", user_id=5555)
    await lan.send(None, contact=stranger)
    assert "chính mình" in lan.text
    assert await lan.state() == "Intake:contact"
    card = Contact(phone_number="0987000111", first_name="Danh bạ")  # a phone-book card: no user id
    await lan.send(None, contact=card)
    assert "chính mình" in lan.text

    own = Contact(phone_number="0912345678", first_name="Lan", last_name="Nguyễn", user_id=lan.id)
    calls = await lan.send(None, contact=own)
    summary = "\n".join(harness.texts(calls))
    assert "Đã ghi nhận thông tin liên hệ." in summary
    assert "Danh tính: Lan Nguyễn, +84912345678" in summary
    await lan.confirm()
    case = await only_case(harness)
    assert case.anonymous is False
    assert (case.contact_name, case.contact_phone) == ("Lan Nguyễn", "+84912345678")


# --- evidence -------------------------------------------------------------------------------------------


async def test_each_kind_of_evidence_is_stored(harness, lan):
    await lan.choose("scam")
    await lan.answer_all({**SCAM, "money_sent": "no"})
    await lan.send(None, **photo(1, caption="Ảnh chụp màn hình"))
    assert "Đã nhận 1/10 bằng chứng" in lan.text
    await lan.send(None, **pdf())
    await lan.send(**forwarded_from_user("Cô Hà đây, phụ huynh chuyển gấp học phí vào 0977 123 456 nhé"))
    await lan.send(**forwarded_from_hidden("Tài khoản của quý khách bị khóa, bấm vào vcb-xacminh.top"))
    calls = await lan.send("Trang giả mạo: https://hocphi-ngocson.online/dong-tien")
    assert "Đã nhận 5/10 bằng chứng" in "\n".join(harness.texts(calls))
    assert ("✔️ Xong (5)", "ie:done") in harness.buttons(calls)
    await lan.finish_evidence()
    summary = await lan.stay_anonymous()
    assert "Bằng chứng: 1 ảnh, 1 tệp, 2 tin nhắn chuyển tiếp, 1 đường link" in "\n".join(harness.texts(summary))
    await lan.confirm()

    case = await only_case(harness)
    rows = await evidence_of(harness, case)
    assert [e.kind for e in rows] == ["photo", "document", "forward", "forward", "link"]
    assert rows[0].file_id == "photo1", "the largest size of a photo is kept"
    assert (rows[1].file_name, rows[1].mime_type) == ("tin-nhan.pdf", "application/pdf")
    assert "Cô Hà (giả)" in rows[2].origin and "Ngân hàng XYZ" in rows[3].origin
    assert rows[4].text == "https://hocphi-ngocson.online/dong-tien"
    found = await indicators_of(harness, case)
    assert ("phone", "+84977123456") in found, "a number inside a forwarded message is an indicator"
    assert ("domain", "vcb-xacminh.top") in found and ("domain", "hocphi-ngocson.online") in found


async def test_with_evidence_dir_files_are_queued_for_copying_not_downloaded_while_the_reporter_waits(
        harness, lan, tmp_path):
    harness.settings.evidence_dir = tmp_path / "evidence"
    await lan.choose("scam")
    await lan.answer_all({**SCAM, "money_sent": "no"})
    await lan.send(None, **photo(1))
    assert "Đã nhận 1/10 bằng chứng" in lan.text
    await lan.send("https://hocphi-ngocson.online/dong-tien")
    await lan.finish_evidence()
    await lan.stay_anonymous()
    await lan.confirm()

    assert not [r for r in harness.requests if type(r).__name__ == "GetFile"], "no download inside an update"
    photo_row, link_row = await evidence_of(harness, await only_case(harness))
    assert photo_row.copy_due_at is not None and link_row.copy_due_at is None
    assert not (tmp_path / "evidence").exists()


async def test_an_abandoned_report_leaves_no_file_behind(harness, lan, tmp_path):
    harness.settings.evidence_dir = tmp_path / "evidence"
    await lan.choose("scam")
    await lan.answer_all({**SCAM, "money_sent": "no"})
    await lan.send(None, **photo(1))
    await lan.send("/cancel")
    assert not [r for r in harness.requests if type(r).__name__ == "GetFile"]
    assert not (tmp_path / "evidence").exists()


async def send_album(harness, lan, group: str, count: int) -> list:  # type: ignore[no-untyped-def]
    """An album arrives as several updates in one batch, handled back to back like the poller does."""
    before = len(harness.requests)
    updates = [harness.message_update(lan.user, None, **photo(n, group)) for n in range(count)]
    async with harness.db.session() as session:
        await inbox.store(session, [u.model_dump(mode="json", exclude_none=True, by_alias=True) for u in updates])
    for update in updates:
        harness.processor.submit(update)
    await harness.processor.wait_idle()
    await handlers.evidence.settle_albums()
    calls = harness.requests[before:]
    check_calls(calls)
    return calls


def database_is_locked(harness) -> bool:  # type: ignore[no-untyped-def]
    """A leaked open write transaction blocks every writer on SQLite (PostgreSQL locks rows, not the file)."""
    if harness.db.dialect != "sqlite":
        return False
    path = harness.settings.database_url.split(":///", 1)[1]
    connection = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        connection.close()


async def test_an_album_gets_one_reply_and_all_its_photos(harness, lan, monkeypatch):
    monkeypatch.setattr(handlers.evidence, "ALBUM_SETTLE_SECONDS", 0.15)
    await lan.choose("other")
    await lan.answer_all(OTHER)
    calls = await send_album(harness, lan, "album-1", 3)
    assert harness.texts(calls) == ["Đã nhận album 3 tệp.\nĐã nhận 3/10 bằng chứng. Gửi thêm hoặc bấm «Xong»."]
    # The delayed reply once ran on the finished update's closed session and left SQLite write-locked.
    locked = database_is_locked(harness)
    if locked:
        gc.collect()  # release the leaked connection so the fixtures can still close the database
    assert not locked, "after the album reply nobody can write to the database"

    lan.calls = calls
    await lan.finish_evidence()
    await lan.stay_anonymous()
    await lan.confirm()
    rows = await evidence_of(harness, await only_case(harness))
    assert [(e.kind, e.media_group_id) for e in rows] == [("photo", "album-1")] * 3


async def test_two_albums_in_a_row_get_one_reply_each(harness, lan, monkeypatch):
    monkeypatch.setattr(handlers.evidence, "ALBUM_SETTLE_SECONDS", 0.15)
    await lan.choose("other")
    await lan.answer_all(OTHER)
    first = await send_album(harness, lan, "album-a", 2)
    second = await send_album(harness, lan, "album-b", 4)
    assert harness.texts(first) == ["Đã nhận album 2 tệp.\nĐã nhận 2/10 bằng chứng. Gửi thêm hoặc bấm «Xong»."]
    assert harness.texts(second) == ["Đã nhận album 4 tệp.\nĐã nhận 6/10 bằng chứng. Gửi thêm hoặc bấm «Xong»."]
    assert len((await lan.draft())["evidence"]) == 6


async def test_the_eleventh_piece_of_evidence_is_refused(harness, lan):
    await lan.choose("other")
    await lan.answer_all(OTHER)
    for n in range(1, 10):
        await lan.send(f"https://bang-chung-{n}.vn/anh")
    calls = await lan.send("https://bang-chung-10.vn/anh")
    assert "Đã nhận 10/10 bằng chứng" in "\n".join(harness.texts(calls))
    calls = await lan.send(None, **photo(11))
    assert harness.texts(calls) == ["Đã đủ 10 bằng chứng, là số lượng tối đa cho một báo cáo."]
    assert ("✔️ Xong (10)", "ie:done") in harness.buttons(calls)
    assert len((await lan.draft())["evidence"]) == 10
    await lan.finish_evidence()
    await lan.stay_anonymous()
    await lan.confirm()
    assert len(await evidence_of(harness, await only_case(harness))) == 10


# --- after the report ---------------------------------------------------------------------------------


async def test_my_cases_lists_own_cases_and_hides_others(harness, tree, lan):
    await lan.report("other", OTHER)
    case = await only_case(harness)
    calls = await lan.send("/mycases")
    text = "\n".join(harness.texts(calls))
    assert f"<code>{case.code}</code>" in text and "Sự việc khác" in text and "Đã tiếp nhận" in text
    assert (f"{case.code} · Đã tiếp nhận", MyCaseCb(id=case.id).pack()) in harness.buttons(calls)
    calls = await lan.press_button(MyCaseCb(id=case.id).pack())
    assert "Anh/Chị đã gửi báo cáo" in "\n".join(harness.texts(calls))

    stranger = Reporter(harness, 2002, "Tuấn")
    await stranger.agreed(tree["ts"])
    calls = await stranger.press(MyCaseCb(id=case.id).pack())
    assert stranger.alerts == [STALE]
    assert not harness.texts(calls)
    calls = await stranger.send("/mycases")
    assert harness.texts(calls) == ["Anh/Chị chưa gửi báo cáo nào."]


async def test_start_in_the_middle_offers_to_continue(harness, lan):
    await lan.choose("scam")
    await lan.answer_all({"platform": "zalo", "pretended": "official"}, partial=True)
    assert await lan.current() == "asked_for"

    calls = await lan.send("/start")
    assert harness.texts(calls) == [
        "Anh/Chị đang có một báo cáo chưa gửi. Anh/Chị muốn tiếp tục báo cáo đó hay bắt đầu lại?"]
    calls = await lan.press_button(ResumeCb(a="continue").pack())
    assert "Kẻ gian đã yêu cầu Anh/Chị điều gì?" in "\n".join(harness.texts(calls))
    assert await lan.current() == "asked_for"
    assert (await lan.draft())["answers"] == {"platform": "zalo", "pretended": "official"}
    await lan.to_summary({**SCAM, "money_sent": "no"})
    await lan.confirm()
    assert (await only_case(harness)).answers["pretended"] == "official"


async def test_report_button_in_the_middle_offers_to_continue_or_restart(harness, lan):
    await lan.choose("scam")
    await lan.answer("platform", "zalo")
    calls = await lan.start_report()
    assert (("🔄 Bắt đầu lại", ResumeCb(a="restart").pack())) in harness.buttons(calls)
    calls = await lan.press_button(ResumeCb(a="restart").pack())
    assert await lan.state() == "Intake:type"
    assert (await lan.draft())["answers"] == {}


async def test_opening_the_school_link_in_the_middle_offers_to_continue(harness, tree, lan):
    await lan.choose("scam")
    await lan.answer_all({"platform": "zalo", "pretended": "official"}, partial=True)
    # Scanning the school's poster again must not silently throw the report away.
    calls = await lan.send(f"/start s_{tree['ns'].public_token}")
    assert await lan.draft() is not None, f"the report was thrown away; the bot said {harness.texts(calls)}"
    assert "báo cáo chưa gửi" in "\n".join(harness.texts(calls))
    await lan.press_button(ResumeCb(a="continue").pack())
    assert await lan.current() == "asked_for"


async def test_an_abandoned_draft_expires_and_the_reporter_is_told(harness, tree, lan):
    await lan.choose("other")
    await lan.answer("details", "Chưa xong")
    mai = Reporter(harness, 3003, "Mai")
    await mai.send("/start")  # at the privacy notice: not a draft

    told: list[tuple[int, str | None]] = []

    async def notify(chat_id: int, locale: str | None) -> None:
        told.append((chat_id, locale))

    now = datetime.now(UTC) + timedelta(days=3)
    assert await expire_drafts(harness.db, now, timedelta(hours=24), notify) == 1
    assert told == [(lan.id, "vi")]
    assert await lan.draft() is None and await lan.state() is None
    assert await mai.state() == "Onboarding:consent"
    assert await expire_drafts(harness.db, now, timedelta(hours=24), notify) == 0
    assert len(told) == 1

    calls = await lan.start_report()
    assert not any("báo cáo chưa gửi" in t for t in harness.texts(calls)), "nothing left to resume"
    async with harness.db.session() as session:
        assert await session.get(FsmRecord, f"fsm:{lan.id}:{lan.id}") is not None  # the new draft


async def test_a_fresh_draft_does_not_expire(harness, lan):
    await lan.choose("other")

    async def notify(chat_id: int, locale: str | None) -> None:
        raise AssertionError("nobody should be told")

    assert await expire_drafts(harness.db, datetime.now(UTC), timedelta(hours=24), notify) == 0
    assert await lan.current() == "details"
