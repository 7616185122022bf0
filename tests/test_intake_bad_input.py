"""What people really send during the intake: stickers and voice notes, walls of text, unparseable amounts,
HTML, typing where a button is expected, and forged or stale callback data. Every case must get a clear
Vietnamese answer, leave the conversation where it was, and never produce a message Telegram would reject
(the driver checks each step: ≤ 4096 characters, valid HTML, callback data ≤ 64 bytes, no handler error)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiogram.types import Contact, Document, Location, PhotoSize, Sticker, Voice

from handlers.callbacks import (
    AnonCb,
    AnswerCb,
    EditCb,
    EvidenceCb,
    MyCaseCb,
    NavCb,
    RoleCb,
    SummaryCb,
    TypeCb,
)
from tests.intake_driver import (
    PRESS_BUTTON,
    SKIP,
    STALE,
    Reporter,
    check_calls,
    only_case,
)

pytestmark = pytest.mark.usefixtures("fast_retries")

NOT_TEXT = "Câu hỏi này cần trả lời bằng chữ hoặc bằng nút bấm. Xin Anh/Chị trả lời lại."
EVIDENCE_LATER = ("Anh/Chị sẽ gửi ảnh, tệp và video ở bước «Bằng chứng» ngay sau các câu hỏi. "
                  "Bây giờ xin Anh/Chị trả lời câu hỏi bằng chữ hoặc bằng nút bấm.")
HOSTILE = "<b>x</b> & <script>"
HOSTILE_SHOWN = "&lt;b&gt;x&lt;/b&gt; &amp; &lt;script&gt;"

OTHER = {"details": "Có người lạ vào nhóm lớp", "platform": "other", "links": SKIP, "affected": "school",
         "when": "today"}
SCAM_START = {"platform": "zalo", "pretended": "school", "asked_for": ["money"], "phones": SKIP,
              "bank_account": SKIP, "profile": SKIP, "money_sent": "yes"}


def sticker() -> dict:
    return {"sticker": Sticker(file_id="st", file_unique_id="st", type="regular", width=512, height=512,
                               is_animated=False, is_video=False, emoji="😭")}


def voice() -> dict:
    return {"voice": Voice(file_id="vo", file_unique_id="vo", duration=7, mime_type="audio/ogg")}


def location() -> dict:
    return {"location": Location(latitude=20.81, longitude=106.62)}


def photo() -> dict:
    return {"photo": [PhotoSize(file_id="ph", file_unique_id="ph", width=800, height=600)]}





def data_of(reporter: Reporter) -> list[str | None]:
    return [d for _, d in reporter.buttons]


# --- not text where text is expected ------------------------------------------------------------------


async def test_sticker_voice_and_location_keep_the_question(harness, lan):
    await lan.choose("scam")
    await lan.answer("platform", "zalo")
    await lan.answer("pretended", "bank")
    await lan.answer("asked_for", ["otp"])
    assert await lan.current() == "phones"
    for fields in (sticker(), voice(), location()):
        await lan.send(None, **fields)
        assert lan.texts == [NOT_TEXT]
        assert NavCb(a="skip", q="phones").pack() in data_of(lan), "the question's buttons come again"
        assert await lan.current() == "phones"
    await lan.send(None, **photo())
    assert lan.texts == [EVIDENCE_LATER]
    assert (await lan.draft())["evidence"] == [], "a photo sent too early is not silently taken"

    await lan.send("0912 345 678")
    assert await lan.current() == "bank_account"
    assert (await lan.draft())["answers"]["phones"] == ["+84912345678"]


async def test_a_sticker_on_a_choice_question_shows_the_choices_again(harness, lan):
    await lan.choose("bullying")
    await lan.send(None, **sticker())
    assert lan.texts == [NOT_TEXT]
    assert AnswerCb(q="danger", v="yes").pack() in data_of(lan)
    await lan.press_button(AnswerCb(q="danger", v="no").pack())
    assert await lan.current() == "victim"


async def test_not_text_on_the_other_steps(harness, lan):
    await lan.start_report()
    await lan.send(None, **voice())
    assert lan.texts == [PRESS_BUTTON] and RoleCb(role="parent").pack() in data_of(lan)
    await lan.press_button(RoleCb(role="parent").pack())
    await lan.send(None, **location())
    assert lan.texts == [PRESS_BUTTON] and TypeCb(type="other").pack() in data_of(lan)
    await lan.press_button(TypeCb(type="other").pack())
    await lan.answer_all(OTHER)

    await lan.send(None, **sticker())
    assert "Nhãn dán, tin nhắn thoại và vị trí không được nhận làm bằng chứng." in lan.text
    assert EvidenceCb(a="none").pack() in data_of(lan)
    await lan.send(None, **voice())
    assert "không được nhận làm bằng chứng" in lan.text
    bad_file = Document(file_id="x", file_unique_id="x", file_name="virus.exe",
                        mime_type="application/x-msdownload", file_size=1000)
    await lan.send(None, document=bad_file)
    assert "Loại tệp này không được nhận" in lan.text
    huge = Document(file_id="y", file_unique_id="y", file_name="video.pdf", mime_type="application/pdf",
                    file_size=50 * 1024 * 1024)
    await lan.send(None, document=huge)
    assert "lớn hơn 20 MB" in lan.text
    assert (await lan.draft())["evidence"] == []
    await lan.finish_evidence()

    await lan.send(None, **sticker())
    assert lan.texts == [PRESS_BUTTON] and AnonCb(a="anon").pack() in data_of(lan)
    await lan.press_button(AnonCb(a="share").pack())
    await lan.send(None, **location())
    assert "Số điện thoại chưa đúng" in lan.text
    await lan.send("🕶 Giữ ẩn danh")
    assert await lan.state() == "Intake:summary"
    await lan.send(None, **sticker())
    assert lan.texts[0] == PRESS_BUTTON
    assert SummaryCb(a="confirm", d=await lan.draft_id()).pack() in data_of(lan)
    await lan.confirm()
    assert (await only_case(harness)).anonymous is True


# --- text the parsers refuse ---------------------------------------------------------------------------


async def test_a_wall_of_text_is_refused_and_the_conversation_goes_on(harness, lan):
    await lan.choose("other")
    assert await lan.current() == "details"
    await lan.send("Ả" * 5000)
    assert lan.texts == ["Câu trả lời dài 5000 ký tự, vượt quá giới hạn 1000 ký tự. Vui lòng rút gọn."]
    assert await lan.current() == "details"
    await lan.send("Bản ngắn gọn")
    assert await lan.current() == "platform"
    assert (await lan.draft())["answers"]["details"] == "Bản ngắn gọn"


async def test_each_bad_answer_gets_its_own_error(harness, lan):
    await lan.choose("scam")
    await lan.answer_all({"platform": "zalo", "pretended": "school", "asked_for": ["money"]}, partial=True)
    await lan.send("0912")
    assert lan.texts == ["Số điện thoại “0912” chưa đúng. Vui lòng kiểm tra lại, ví dụ: 0912 345 678."]
    await lan.press_button(NavCb(a="skip", q="phones").pack())
    await lan.send("không nhớ ngân hàng nào")
    assert lan.texts[0].startswith("Chưa thấy số tài khoản.")
    await lan.press_button(NavCb(a="skip", q="bank_account").pack())
    await lan.send("trang cá nhân của nó")
    assert lan.texts == ["Chưa nhận ra đường link. Vui lòng gửi link đầy đủ, ví dụ: facebook.com/tentaikhoan."]
    assert await lan.current() == "profile"
    await lan.press_button(NavCb(a="skip", q="profile").pack())
    await lan.answer("money_sent", "yes")

    await lan.send("nhieu lam")
    assert lan.texts == ["Chưa hiểu số tiền. Vui lòng nhập lại, ví dụ: 5 triệu, 500k hoặc 5.000.000đ."]
    await lan.send("3 triệu")
    assert await lan.current() == "money_when"
    next_year = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).year + 1
    await lan.send(f"15/03/{next_year}")
    assert lan.texts == ["Ngày này nằm trong tương lai. Vui lòng kiểm tra lại."]
    await lan.send("32/13/2025")
    assert lan.texts[0].startswith("Chưa hiểu ngày này.")
    assert await lan.current() == "money_when"
    await lan.send("hôm qua")
    assert await lan.current() == "when"


async def test_three_failed_tries_offer_a_skip_even_on_a_required_question(harness, lan):
    await lan.choose("scam")
    await lan.answer_all(SCAM_START, partial=True)
    assert await lan.current() == "amount"
    skip = NavCb(a="skip", q="amount").pack()
    for attempt in (1, 2):
        await lan.send("nhieu lam")
        assert skip not in data_of(lan), f"no skip after {attempt} failure(s) on a required question"
    await lan.send("nhieu lam")
    assert "Nếu chưa có thông tin này, Anh/Chị có thể bấm «Bỏ qua» hoặc «Hủy»." in lan.text
    assert skip in data_of(lan)
    await lan.press_button(skip)
    assert await lan.current() == "money_when"
    answers = (await lan.draft())["answers"]
    assert "amount" in answers and answers["amount"] is None


async def test_a_skip_press_on_a_required_question_is_refused(harness, lan):
    await lan.choose("scam")
    await lan.answer_all(SCAM_START, partial=True)
    await lan.press(NavCb(a="skip", q="amount").pack())
    assert lan.alerts == [STALE]
    assert await lan.current() == "amount"
    assert "amount" not in (await lan.draft())["answers"]


# --- HTML in what people type ----------------------------------------------------------------------------


@pytest.mark.parametrize(("incident_type", "answers", "free_text"), [
    ("hacked", {"account": "staff_personal", "platform": "facebook", "access": "partly", "attacker_doing": HOSTILE,
                "links": SKIP, "when": "today", "details": HOSTILE}, ("attacker_doing", "details")),
    ("data_leak", {"platform": "zalo", "leak_where": HOSTILE, "data_kinds": ["names"], "people_count": "3",
                   "affected": "parent", "when": "today", "details": HOSTILE}, ("leak_where", "details")),
    ("bullying", {"danger": "no", "victim": HOSTILE, "is_student": "no", "platform": "facebook", "links": SKIP,
                  "intimate": "no", "threats": "yes", "when": "today", "details": HOSTILE}, ("victim", "details")),
])
async def test_html_in_free_text_is_stored_as_typed_and_shown_escaped(harness, lan, incident_type, answers,
                                                                      free_text):
    await lan.choose(incident_type)
    summary = await lan.to_summary(answers)
    text = "\n".join(harness.texts(summary))
    assert text.count(HOSTILE_SHOWN) == len(free_text)
    assert "<script>" not in text
    await lan.confirm()
    case = await only_case(harness)
    assert {key: case.answers[key] for key in free_text} == dict.fromkeys(free_text, HOSTILE)
    check_calls(harness.requests)


async def test_html_echoed_in_errors_and_in_the_contact_name_is_escaped(harness, lan):
    await lan.choose("data_leak")
    await lan.answer_all({"platform": "zalo", "leak_where": "nhóm lớp"}, partial=True)
    await lan.send("tên, <i>điểm</i> & <b>")
    assert lan.texts[0].startswith("Chưa hiểu lựa chọn “")
    assert "<i>" not in lan.texts[0] and "&lt;" in lan.texts[0]
    assert await lan.current() == "data_kinds"
    await lan.answer_all({"data_kinds": ["names"], "people_count": "<b>2</b>", "affected": "staff",
                          "when": "today", "details": SKIP})
    assert (await lan.draft())["answers"]["people_count"] == 2
    await lan.finish_evidence()
    await lan.press_button(AnonCb(a="share").pack())
    own = Contact(phone_number="+84912345678", first_name="<b>Lan</b> &", last_name="Co", user_id=lan.id)
    calls = await lan.send(None, contact=own)
    assert "Danh tính: &lt;b&gt;Lan&lt;/b&gt; &amp; Co, +84912345678" in "\n".join(harness.texts(calls))
    await lan.confirm()
    assert (await only_case(harness)).contact_name == "<b>Lan</b> & Co"


async def test_the_longest_answers_still_fit_in_one_message(harness, lan):
    await lan.choose("hacked")
    long = ("&<ệ>" * 250)[:1000]
    links = " ".join(f"https://vi-du-{n}.vn/{'ả' * 150}?a=1&b=2" for n in range(10))
    summary = await lan.to_summary({"account": "student_personal", "platform": "tiktok", "access": "no",
                                    "attacker_doing": long, "links": links, "class": "10A1", "when": "today",
                                    "details": long})
    text = "\n".join(harness.texts(summary))
    assert len(text) <= 4096
    await lan.confirm()
    case = await only_case(harness)
    assert case.answers["details"] == long and len(case.answers["links"]) == 10


# --- typing where a button is expected ---------------------------------------------------------------


async def test_typing_on_button_only_steps_repeats_the_buttons(harness, lan):
    await lan.start_report()
    await lan.send("tôi muốn báo cáo")
    assert lan.texts == [PRESS_BUTTON] and RoleCb(role="staff").pack() in data_of(lan)
    await lan.send("phu huynh")
    assert await lan.state() == "Intake:type", "a typed role label is accepted"
    assert (await lan.draft())["role"] == "parent"
    await lan.send("xyz")
    assert lan.texts == [PRESS_BUTTON] and TypeCb(type="scam").pack() in data_of(lan)
    await lan.send("lua dao")
    assert (await lan.draft())["type"] == "scam"
    assert await lan.current() == "platform"

    await lan.answer_all({**SCAM_START, "money_sent": "no", "when": "today", "details": SKIP})
    await lan.finish_evidence()
    await lan.send("tôi không biết")
    assert lan.texts == [PRESS_BUTTON] and AnonCb(a="anon").pack() in data_of(lan)
    assert await lan.state() == "Intake:identity"
    await lan.stay_anonymous()
    await lan.send("ok gửi đi")
    assert lan.texts == [PRESS_BUTTON]
    assert SummaryCb(a="confirm", d=await lan.draft_id()).pack() in data_of(lan)
    await lan.confirm()
    await only_case(harness)


async def test_typing_the_anonymous_label_on_the_identity_step_is_accepted(harness, lan):
    await lan.choose("other")
    await lan.answer_all(OTHER)
    await lan.finish_evidence()
    await lan.send("giữ ẩn danh")
    assert await lan.state() == "Intake:summary"


# --- forged and stale callback data ---------------------------------------------------------------------


async def assert_nothing_changed(reporter: Reporter, before: tuple) -> None:  # type: ignore[type-arg]
    assert reporter.alerts == [STALE], reporter.alerts
    assert not reporter.texts, f"a stale press must not send messages: {reporter.texts}"
    assert (await reporter.state(), await reporter.draft()) == before


async def test_forged_presses_during_the_questions_change_nothing(harness, lan):
    await lan.choose("scam")
    await lan.answer("platform", "zalo")
    assert await lan.current() == "pretended"
    before = (await lan.state(), await lan.draft())
    question_calls = lan.calls

    for forged in (
        AnswerCb(q="platform", v="tiktok").pack(),  # an earlier question
        AnswerCb(q="money_sent", v="yes").pack(),  # a later question
        AnswerCb(q="danger", v="yes").pack(),  # a question of another type
        AnswerCb(q="pretended", v="president").pack(),  # a choice that is not offered
        AnswerCb(q="pretended", v="").pack(),
        NavCb(a="done", q="pretended").pack(),  # "done" on a single-choice question
        NavCb(a="skip", q="pretended").pack(),  # skip on a required question
        NavCb(a="back", q="asked_for").pack(),  # back from a question not yet asked
        NavCb(a="explode", q="pretended").pack(),
        EvidenceCb(a="done").pack(), AnonCb(a="share").pack(), EditCb(q="platform").pack(),
        SummaryCb(a="confirm", d="0123456789abcdef").pack(),
        RoleCb(role="admin").pack(), TypeCb(type="ransomware").pack(), MyCaseCb(id=999).pack(),
        "ia:pretended", "ia:pretended:school:extra", "mc:abc", "zz:" + "ả" * 20, "", "\x00\xff",
    ):
        await lan.press(forged)
        await assert_nothing_changed(lan, before)

    lan.calls = question_calls
    await lan.press_button(AnswerCb(q="pretended", v="teacher").pack())
    assert await lan.current() == "asked_for"


async def test_forged_presses_on_the_summary_change_nothing(harness, lan):
    await lan.choose("other")
    await lan.to_summary(OTHER)
    summary_calls = lan.calls
    draft_id = await lan.draft_id()
    before = (await lan.state(), await lan.draft())
    for forged in (SummaryCb(a="confirm", d="f" * 16).pack(), SummaryCb(a="cancel", d=draft_id[::-1]).pack(),
                   EditCb(q="details").pack(), AnswerCb(q="details", v="x").pack(), "zz:rác"):
        await lan.press(forged)
        await assert_nothing_changed(lan, before)

    lan.calls = summary_calls
    await lan.press_button(SummaryCb(a="edit", d=draft_id).pack())
    edit_calls = lan.calls
    before = (await lan.state(), await lan.draft())
    for forged in (EditCb(q="amount").pack(), EditCb(q="nope").pack(), EditCb(q="").pack()):
        await lan.press(forged)
        await assert_nothing_changed(lan, before)
    lan.calls = edit_calls
    await lan.press_button(EditCb(q="details").pack())
    await lan.send("Mô tả mới")
    await lan.confirm()
    assert (await only_case(harness)).answers["details"] == "Mô tả mới"


async def test_someone_elses_summary_button_does_nothing(harness, tree, lan):
    await lan.choose("other")
    await lan.to_summary(OTHER)
    confirm = SummaryCb(a="confirm", d=await lan.draft_id()).pack()
    mallory = Reporter(harness, 6666, "Mallory")
    await mallory.agreed(tree["ts"])
    await mallory.press(confirm)
    assert mallory.alerts == [STALE]
    await lan.confirm()
    case = await only_case(harness)
    await mallory.press(confirm)
    assert mallory.alerts == [STALE], "another person must not even learn the code"
    assert case.code not in "".join(mallory.alerts)


async def test_an_old_type_button_in_the_middle_of_the_questions_changes_nothing(harness, lan):
    await lan.start_report()
    await lan.press_button(RoleCb(role="parent").pack())
    await lan.send("lừa đảo")  # typed: the type keyboard above stays on screen
    await lan.answer_all({"platform": "zalo", "pretended": "school", "asked_for": ["money"]}, partial=True)
    before = (await lan.state(), await lan.draft())
    await lan.press(TypeCb(type="bullying").pack())
    await assert_nothing_changed(lan, before)


async def test_an_old_role_button_in_the_middle_of_the_questions_changes_nothing(harness, lan):
    await lan.start_report()
    await lan.send("phụ huynh")  # typed: the role keyboard above stays on screen
    await lan.press_button(TypeCb(type="other").pack())
    await lan.answer("details", "Chuyện lạ")
    before = (await lan.state(), await lan.draft())
    await lan.press(RoleCb(role="staff").pack())
    await assert_nothing_changed(lan, before)


BULLYING = {"danger": "yes", "victim": SKIP, "is_student": "yes", "class": "7A", "platform": "facebook",
            "links": SKIP, "intimate": "no", "threats": "no", "when": "today", "details": SKIP}


async def test_an_older_summary_cannot_send_the_report_while_an_answer_is_being_edited(harness, lan):
    await lan.choose("bullying")
    await lan.to_summary(BULLYING)
    draft_id = await lan.draft_id()
    older_confirm = SummaryCb(a="confirm", d=draft_id).pack()
    await lan.send("gửi giúp tôi")  # typed on the summary: the summary comes again, the older one stays live
    await lan.press_button(SummaryCb(a="edit", d=draft_id).pack())
    await lan.press_button(EditCb(q="danger").pack())
    assert await lan.current() == "danger"

    calls = await lan.press(older_confirm)
    assert harness.alerts(calls) == [STALE]  # refused: nothing is filed while an answer is being changed
    assert await lan.state() is not None
    await lan.press(AnswerCb(q="danger", v="yes").pack())
    await lan.confirm()
    case = await only_case(harness)
    assert case.answers.get("danger") == "yes"
    assert case.severity == "critical"


async def test_editing_a_question_that_does_not_apply_is_refused(harness, lan):
    await lan.choose("scam")
    await lan.to_summary({**SCAM_START, "money_sent": "no", "when": "today", "details": SKIP})
    await lan.press_button(SummaryCb(a="edit", d=await lan.draft_id()).pack())
    assert EditCb(q="amount").pack() not in data_of(lan)
    before = (await lan.state(), await lan.draft())
    await lan.press(EditCb(q="amount").pack())
    await assert_nothing_changed(lan, before)
