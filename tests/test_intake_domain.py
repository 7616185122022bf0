"""The intake domain: question tables, answer parsing, navigation, severity, advice, indicators, locales.

Everything here is pure (no Telegram, no database); time is fixed through `now`.
"""

from __future__ import annotations

import ast as pyast
import dataclasses
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fluent.runtime import FluentBundle, FluentResource
from fluent.syntax import ast as fluent_ast
from fluent.syntax import parse as fluent_parse
from fluent.syntax.visitor import Visitor

import bot.intake as intake
from bot.drafts import Draft, EvidenceItem
from bot.intake import (
    COMMON_QUESTIONS,
    ERROR_IDS,
    FLOWS,
    ROLE_QUESTION,
    TYPE_QUESTION,
    VN_TZ,
    AnswerKind,
    IncidentType,
    Indicator,
    Role,
    Severity,
    advice_for,
    all_questions,
    applicable_questions,
    assess_severity,
    canonical_profile,
    extract_indicators,
    first_question,
    fold,
    get_question,
    indicators_in_text,
    is_optional,
    match_choice,
    new_advice,
    next_question,
    normalize_url,
    parse_amount,
    parse_answer,
    parse_button,
    parse_phones,
    parse_when,
    pending_question,
    previous_question,
    prune_answers,
    query_indicators,
    questions_for,
    skip_answer,
    summary_items,
)
from bot.intake.advice import ADVICE_RULES, BASE_ADVICE
from bot.intake.severity import RULES

ROOT = Path(__file__).resolve().parent.parent
INTAKE_DIR = ROOT / "bot" / "intake"
VI_FTL = ROOT / "locales" / "vi" / "intake.ftl"
EN_FTL = ROOT / "locales" / "en" / "intake.ftl"

NOW = datetime(2025, 3, 15, 10, 0, tzinfo=VN_TZ)


# --- helpers --------------------------------------------------------------------------------------


def _messages(path: Path) -> dict[str, fluent_ast.Message]:
    resource = fluent_parse(path.read_text(encoding="utf-8"))
    junk = [entry for entry in resource.body if isinstance(entry, fluent_ast.Junk)]
    assert not junk, f"{path.name}: unparsable entries {[entry.content[:60] for entry in junk]}"
    return {entry.id.name: entry for entry in resource.body if isinstance(entry, fluent_ast.Message)}


def _variables(message: fluent_ast.Message) -> set[str]:
    found: set[str] = set()

    class Variables(Visitor):
        def visit_VariableReference(self, node: fluent_ast.VariableReference) -> None:
            found.add(node.id.name)

    Variables().visit(message)
    return found


def _bundle(path: Path, locale: str) -> FluentBundle:
    bundle = FluentBundle([locale], use_isolating=False)
    bundle.add_resource(FluentResource(path.read_text(encoding="utf-8")))
    return bundle


VI_BUNDLE = _bundle(VI_FTL, "vi")
EN_BUNDLE = _bundle(EN_FTL, "en")


def _text(bundle: FluentBundle, message_id: str, **args: str) -> str:
    text, errors = bundle.format_pattern(bundle.get_message(message_id).value, args)
    assert not errors, errors
    return text


def labels_for(question: intake.Question) -> dict[str, list[str]]:
    """What the handler passes: each choice's label in both languages."""
    return {
        choice: [_text(VI_BUNDLE, label_id), _text(EN_BUNDLE, label_id)]
        for choice, label_id in question.choice_label_ids().items()
    }


def answer(incident_type: str, key: str, text: str) -> intake.Parsed:
    question = get_question(incident_type, key)
    return parse_answer(question, text, now=NOW, choice_labels=labels_for(question))


# --- purity ---------------------------------------------------------------------------------------


def test_domain_code_imports_no_channel_or_database_library() -> None:
    allowed = {
        "phonenumbers",
        "__future__",
        "collections",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "functools",
        "re",
        "types",
        "typing",
        "unicodedata",
        "urllib",
        "zoneinfo",
    }
    for path in INTAKE_DIR.glob("*.py"):
        tree = pyast.parse(path.read_text(encoding="utf-8"))
        for node in pyast.walk(tree):
            if isinstance(node, pyast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, pyast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


# --- text folding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [("Hôm  NAY", "hom nay"), ("Đà Nẵng", "da nang"), ("  THCS Ngọc   Sơn ", "thcs ngoc son"), ("", "")],
)
def test_fold_strips_diacritics_case_and_extra_spaces(text: str, folded: str) -> None:
    assert fold(text) == folded


# --- amounts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("5tr", 5_000_000),
        ("5 triệu", 5_000_000),
        ("500k", 500_000),
        ("5.000.000đ", 5_000_000),
        ("5,5 triệu", 5_500_000),
        ("5000000", 5_000_000),
        ("2 trieu", 2_000_000),
        ("1,2tr", 1_200_000),
        ("300 nghìn", 300_000),
        ("1 tỷ", 1_000_000_000),
        ("1.5tr", 1_500_000),
        ("5,000,000", 5_000_000),
        ("5.000.000 VNĐ", 5_000_000),
        ("10.000.000 đồng", 10_000_000),
        ("5tr5", 5_500_000),
        ("5 triệu 500", 5_500_000),
        ("2 triệu 500 nghìn", 2_500_000),
        ("3 triệu rưỡi", 3_500_000),
        ("1 tỷ 2", 1_200_000_000),
        ("1 tỷ 200 triệu", 1_200_000_000),
        ("5 củ", 5_000_000),
        ("khoảng 5tr ạ", 5_000_000),
        ("chuyển 2 lần, tổng 5tr", 5_000_000),
        ("49.999.999", 49_999_999),
    ],
)
def test_amounts_in_vietnamese_forms_become_integer_dong(text: str, amount: int) -> None:
    assert parse_amount(text) == amount


@pytest.mark.parametrize("text", ["", "abc", "5", "3tr và 2tr", "5.5.5", "năm triệu"])
def test_unclear_amounts_are_refused_rather_than_guessed(text: str) -> None:
    assert parse_amount(text) is None


def test_amount_answer_error_is_err_amount() -> None:
    assert answer("scam", "amount", "nhiều lắm") == intake.Parsed(False, None, "err-amount", {})
    assert answer("scam", "amount", "5 triệu").value == 5_000_000


# --- phone numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["0912 345 678", "+84912345678", "84912345678", "0912.345.678", "0912-345-678"]
)
def test_phone_forms_are_one_e164_number(text: str) -> None:
    assert parse_phones(text) == ["+84912345678"]


def test_several_numbers_and_landlines_in_one_answer() -> None:
    parsed = answer("scam", "phones", "0912 345 678, 0987654321 và 024 3812 3456; +84 912 345 678")
    assert parsed.ok
    assert parsed.value == ["+84912345678", "+84987654321", "+842438123456"]


def test_a_wrong_number_among_good_ones_is_reported_not_dropped() -> None:
    parsed = answer("scam", "phones", "0912345678, 091234567")
    assert not parsed.ok
    assert parsed.error == "err-phone"
    assert parsed.args == {"value": "091234567"}


def test_no_number_is_an_error() -> None:
    assert answer("scam", "phones", "không nhớ số").error == "err-phone"


# --- links and profiles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "facebook.com/abc",
        "https://www.facebook.com/abc/",
        "http://facebook.com/abc?fbclid=IwAR0xyz",
        "https://m.facebook.com/abc#top",
        "www.facebook.com/abc?utm_source=zalo&utm_medium=share",
        "fb.com/abc",
        "HTTPS://WWW.FACEBOOK.COM/abc",
    ],
)
def test_url_spellings_normalise_to_one_url(text: str) -> None:
    assert normalize_url(text) == "https://facebook.com/abc"


def test_url_normalisation_keeps_meaningful_query_and_path_case() -> None:
    assert (
        normalize_url("https://Example.COM:443/A/B/?utm_source=x&b=2&a=1")
        == "https://example.com/A/B?a=1&b=2"
    )
    assert normalize_url("facebook.com/profile.php?id=1000123&mibextid=ZbWKwL") == (
        "https://facebook.com/profile.php?id=1000123"
    )
    assert normalize_url("example.com:8080/x") == "https://example.com:8080/x"


@pytest.mark.parametrize("text", ["", "hello", "abc@gmail.com", "ftp://example.com/x", "http://", "a b.com"])
def test_non_links_are_rejected(text: str) -> None:
    assert normalize_url(text) is None


def test_links_answer_accepts_several_and_rejects_garbage() -> None:
    parsed = answer("harmful", "links", "https://www.facebook.com/abc/\ntiktok.com/@xyz/video/1?_t=1")
    assert parsed.value == ["https://facebook.com/abc", "https://tiktok.com/@xyz/video/1"]
    assert answer("harmful", "links", "bài đăng trên nhóm lớp").error == "err-url"


@pytest.mark.parametrize(
    ("url", "profile"),
    [
        ("facebook.com/abc", "facebook:abc"),
        ("https://m.facebook.com/Nguyen.Van.A/", "facebook:nguyenvana"),
        ("https://www.facebook.com/nguyenvana?ref=share", "facebook:nguyenvana"),
        ("fb.com/abc", "facebook:abc"),
        ("https://www.facebook.com/profile.php?id=100012345678&mibextid=x", "facebook:100012345678"),
        ("facebook.com/people/Nguyen-Van-A/100012345678/", "facebook:100012345678"),
        ("facebook.com/abc/posts/123456", "facebook:abc"),
        ("facebook.com/groups/123456/posts/789", "facebook:groups/123456"),
        ("zalo.me/0912345678", "zalo:+84912345678"),
        ("https://zalo.me/84912345678", "zalo:+84912345678"),
        ("zalo.me/g/AbCdEf", "zalo:g/AbCdEf"),
        ("tiktok.com/@User.Name/video/123?_r=1", "tiktok:@user.name"),
        ("https://www.tiktok.com/@user.name", "tiktok:@user.name"),
        ("instagram.com/Some.User/?igsh=abc", "instagram:some.user"),
        ("youtube.com/@Kenh?si=x", "youtube:@kenh"),
        ("https://m.youtube.com/@kenh", "youtube:@kenh"),
    ],
)
def test_profiles_are_canonical(url: str, profile: str) -> None:
    assert canonical_profile(url) == profile


@pytest.mark.parametrize(
    "url",
    [
        "facebook.com/share/p/1A2b3/",
        "facebook.com/watch?v=1",
        "youtube.com/watch?v=abc",
        "example.com/abc",
        "tiktok.com/t/ZSabc",
        "instagram.com/p/Cxyz",
    ],
)
def test_links_that_name_no_account_give_no_profile(url: str) -> None:
    assert canonical_profile(url) is None


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "period", "day"),
    [
        ("hôm nay", "today", "2025-03-15"),
        ("hom nay", "today", "2025-03-15"),
        ("Today", "today", "2025-03-15"),
        ("hôm qua", "yesterday", "2025-03-14"),
        ("Hom qua", "yesterday", "2025-03-14"),
        ("hôm kia", "date", "2025-03-13"),
        ("2 ngày trước", "date", "2025-03-13"),
        ("2 ngay truoc", "date", "2025-03-13"),
        ("12/03/2025", "date", "2025-03-12"),
        ("1/3/2025", "date", "2025-03-01"),
        ("12-03-25", "date", "2025-03-12"),
        ("15/03/2025", "today", "2025-03-15"),
        ("12/3", "date", "2025-03-12"),
        ("ngày 5 tháng 3", "date", "2025-03-05"),
        ("trong tuần này", "this_week", None),
        ("trước đó", "earlier", None),
    ],
)
def test_when_answers(text: str, period: str, day: str | None) -> None:
    parsed = answer("harmful", "when", text)
    assert parsed.ok, parsed
    assert parsed.value == {"period": period, "date": day}


def test_a_date_in_the_future_is_refused() -> None:
    assert answer("harmful", "when", "16/03/2025").error == "err-date-future"
    assert parse_when("01/01/2026", NOW).error == "err-date-future"


def test_day_and_month_without_year_means_the_most_recent_such_day() -> None:
    assert parse_when("20/12", NOW).value == {"period": "date", "date": "2024-12-20"}


@pytest.mark.parametrize("text", ["31/02/2025", "abc", "1/1/1990"])
def test_impossible_dates_are_refused(text: str) -> None:
    assert parse_when(text, NOW).error == "err-date"


def test_today_is_the_vietnamese_day_whatever_the_timezone_of_now() -> None:
    utc_evening = datetime(2025, 3, 14, 20, 0, tzinfo=UTC)  # 03:00 on 15/03 in Hà Nội
    assert parse_when("hôm nay", utc_evening).value == {"period": "today", "date": "2025-03-15"}
    assert parse_when("15/03/2025", utc_evening).ok


def test_when_buttons_resolve_to_dates() -> None:
    question = get_question("scam", "money_when")
    assert parse_button(question, "yesterday", now=NOW).value == {"period": "yesterday", "date": "2025-03-14"}
    assert parse_button(question, "earlier", now=NOW).value == {"period": "earlier", "date": None}


# --- choices typed instead of pressed -------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("money_sent", "co", "yes"),
        ("money_sent", "Có", "yes"),
        ("money_sent", "YES", "yes"),
        ("money_sent", "dạ có ạ", "yes"),
        ("money_sent", "khong", "no"),
        ("money_sent", "ko", "no"),
        ("money_sent", "k", "no"),
        ("money_sent", "chưa", "no"),
        ("money_sent", "khogn", "no"),
        ("platform", "facebok", "facebook"),
        ("platform", "Face book", "facebook"),
        ("platform", "fb", "facebook"),
        ("platform", "tik tok", "tiktok"),
        ("platform", "insta", "instagram"),
        ("platform", "cuoc goi", "phone_call"),
        ("platform", "phone call", "phone_call"),
        ("platform", "tin nhan", "sms"),
        ("platform", "khac", "other"),
        ("pretended", "cong an", "official"),
        ("pretended", "Police", "official"),
        ("pretended", "giao vien", "teacher"),
        ("pretended", "nguoi than", "relative"),
    ],
)
def test_typed_choices_match_labels_in_both_languages(key: str, text: str, expected: str) -> None:
    assert answer("scam", key, text).value == expected


def test_typed_choices_for_other_questions() -> None:
    assert answer("hacked", "account", "fanpage").value == "school_fanpage"
    assert answer("hacked", "account", "tk hs").value == "student_personal"
    assert answer("hacked", "access", "mot phan").value == "partly"
    assert answer("harmful", "still_online", "khong ro").value == "unknown"
    assert answer("harmful", "spread", "lan truyen rat rong").value == "viral"


def test_match_choice_takes_caller_labels_and_refuses_ambiguity() -> None:
    labels = {"yes": ["Có", "Yes"], "no": ["Không", "No"]}
    assert match_choice("co", labels) == "yes"
    assert match_choice("ko", labels) is None  # one letter from "co": short words get no typo budget
    assert match_choice("ko", {**labels, "no": ["Không", "No", "ko"]}) == "no"
    assert match_choice("maybe", labels) is None
    assert match_choice("a", {"apple": ["Apple"], "apricot": ["Apricot"]}) is None
    assert match_choice("ap", {"apple": ["Apple"], "apricot": ["Apricot"]}) is None
    assert match_choice("✅ Có", labels) == "yes"


@pytest.mark.parametrize(
    ("question", "text", "expected"),
    [
        (TYPE_QUESTION, "lua dao", "scam"),
        (TYPE_QUESTION, "mao danh", "scam"),
        (TYPE_QUESTION, "bat nat", "bullying"),
        (TYPE_QUESTION, "lo thong tin", "data_leak"),
        (TYPE_QUESTION, "hack", "hacked"),
        (ROLE_QUESTION, "Phụ huynh ạ", "parent"),
        (ROLE_QUESTION, "giao vien", "staff"),
        (ROLE_QUESTION, "hs", "student"),
        (ROLE_QUESTION, "teacher", "staff"),
    ],
)
def test_role_and_type_can_be_typed(question: intake.Question, text: str, expected: str) -> None:
    assert parse_answer(question, text, now=NOW, choice_labels=labels_for(question)).value == expected


def test_unknown_choice_is_err_choice() -> None:
    assert answer("scam", "pretended", "xyz").error == "err-choice"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ten, sdt, anh", ["names", "phones", "photos"]),
        ("tên và ảnh", ["names", "photos"]),
        ("ngày sinh; địa chỉ", ["birth_dates", "addresses"]),
        ("Names, Grades", ["names", "grades"]),
        ("tất cả", ["names", "birth_dates", "phones", "addresses", "grades", "photos"]),
        ("Họ tên", ["names"]),
    ],
)
def test_typed_multi_choice(text: str, expected: list[str]) -> None:
    assert answer("data_leak", "data_kinds", text).value == expected


def test_typed_multi_choice_names_the_part_not_understood() -> None:
    parsed = answer("data_leak", "data_kinds", "ten, xyz")
    assert (parsed.ok, parsed.error, parsed.args) == (False, "err-choice-item", {"item": "xyz"})


def test_buttons_are_validated_because_callback_data_is_untrusted() -> None:
    question = get_question("data_leak", "data_kinds")
    assert parse_button(question, ["photos", "names"]).value == ["names", "photos"]
    assert parse_button(question, ["names", "hack"]).error == "err-choice"
    assert parse_button(question, []).error == "err-choice"
    assert parse_button(get_question("scam", "money_sent"), "yes").value == "yes"
    assert parse_button(get_question("scam", "money_sent"), "maybe").error == "err-choice"


# --- other answer kinds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6a", "6A"),
        ("10A1", "10A1"),
        ("lớp 7b", "7B"),
        ("Lop 12 a2", "12A2"),
        ("7/3", "7/3"),
        ("9", "9"),
        ("10 Toán", "10 Toán"),
    ],
)
def test_class_names_are_normalised(text: str, expected: str) -> None:
    assert answer("bullying", "class", text).value == expected


@pytest.mark.parametrize("text", ["13A", "abc", "lớp", "0A"])
def test_bad_class_names_are_refused(text: str) -> None:
    assert answer("bullying", "class", text).error == "err-class"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("40", 40), ("khoảng 40 em", 40), ("hơn 1.200", 1200), ("40-50", 50), ("2 nghìn", 2000)],
)
def test_people_count(text: str, expected: int) -> None:
    assert answer("data_leak", "people_count", text).value == expected


def test_people_count_errors_carry_the_range() -> None:
    parsed = answer("data_leak", "people_count", "nhiều")
    assert (parsed.error, parsed.args) == ("err-number", {"min": "1", "max": "1000000"})
    assert answer("data_leak", "people_count", "0").error == "err-number"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0123456789 VCB", [{"bank": "VCB", "account": "0123456789"}]),
        ("Vietcombank 0123 456 789", [{"bank": "VCB", "account": "0123456789"}]),
        ("STK: 19036789012345 - Techcombank - NGUYEN VAN A", [{"bank": "TCB", "account": "19036789012345"}]),
        ("0011223344 ngân hàng Á Châu", [{"bank": "ACB", "account": "0011223344"}]),
        ("0011223344", [{"bank": None, "account": "0011223344"}]),
        (
            "VCB 1111111, MB 2222222",
            [{"bank": "VCB", "account": "1111111"}, {"bank": "MB", "account": "2222222"}],
        ),
        (
            "1111111 VCB, 2222222 MB",
            [{"bank": "VCB", "account": "1111111"}, {"bank": "MB", "account": "2222222"}],
        ),
        ("ví momo 0912345678", [{"bank": "MOMO", "account": "0912345678"}]),
    ],
)
def test_bank_account_answers(text: str, expected: list[dict[str, str | None]]) -> None:
    assert answer("scam", "bank_account", text).value == expected


def test_bank_account_without_digits_is_an_error() -> None:
    assert answer("scam", "bank_account", "Vietcombank").error == "err-bank-account"


def test_long_free_text_is_rejected_with_its_length_not_truncated() -> None:
    question = get_question("scam", "details")
    assert parse_answer(question, "a" * 1000, now=NOW).value == "a" * 1000
    parsed = parse_answer(question, "a" * 1001, now=NOW)
    assert (parsed.ok, parsed.error, parsed.args) == (
        False,
        "err-too-long",
        {"max": "1000", "length": "1001"},
    )


def test_skipping() -> None:
    optional = get_question("scam", "phones")
    required = get_question("scam", "money_sent")
    assert parse_answer(optional, "bỏ qua", now=NOW) == intake.Parsed(True, None)
    assert parse_answer(optional, "-", now=NOW).value is None
    assert skip_answer(optional).ok and skip_answer(optional).value is None
    assert skip_answer(required).error == "err-required"
    assert parse_answer(required, "bo qua", now=NOW).error == "err-choice"
    assert parse_answer(required, "   ", now=NOW).error == "err-empty"


@pytest.mark.parametrize("text", ["không có", "Khong co", "ko", "không", "chưa có", "none"])
def test_saying_there_are_none_skips_an_optional_question_that_asks_for_values(text: str) -> None:
    for flow, key in (("harmful", "links"), ("scam", "phones"), ("scam", "bank_account")):
        assert parse_answer(get_question(flow, key), text, now=NOW) == intake.Parsed(True, None), (flow, key)


def test_no_to_a_question_answered_by_choices_is_an_answer_not_a_skip() -> None:
    required = get_question("scam", "money_sent")
    assert parse_answer(required, "không", now=NOW).value == "no"


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "🙂🙂🙂",
        "\x00",
        "<b>x</b>",
        "a" * 5000,
        "9" * 300,
        "http://" + "a" * 3000,
        "1/1/1/1/1",
        "+" * 50,
    ],
)
def test_no_input_crashes_any_parser(text: str) -> None:
    for question in all_questions():
        parsed = parse_answer(question, text, now=NOW, choice_labels=labels_for(question))
        assert parsed.ok or parsed.error in ERROR_IDS
        json.dumps(parsed.value)


def test_parsed_values_are_json_serialisable() -> None:
    samples = {
        ("scam", "phones"): "0912345678",
        ("scam", "amount"): "5tr",
        ("scam", "money_when"): "hôm qua",
        ("scam", "bank_account"): "VCB 0123456789",
        ("scam", "asked_for"): "tiền, otp",
        ("harmful", "links"): "facebook.com/abc",
        ("data_leak", "people_count"): "40",
        ("bullying", "class"): "6a",
    }
    for (incident_type, key), text in samples.items():
        parsed = answer(incident_type, key, text)
        assert parsed.ok, (key, parsed)
        assert json.loads(json.dumps(parsed.value)) == parsed.value


# --- flow tables ----------------------------------------------------------------------------------


def test_every_type_has_a_flow_and_the_enums_are_as_specified() -> None:
    assert set(FLOWS) == set(IncidentType)
    assert [t.value for t in IncidentType] == ["hacked", "scam", "harmful", "data_leak", "bullying", "other"]
    assert [r.value for r in Role] == ["parent", "staff", "student", "other"]
    assert {q.key for q in COMMON_QUESTIONS} >= {"platform", "links", "when", "affected", "class"}
    assert TYPE_QUESTION.choice_label_id("data_leak") == "type-data-leak"
    assert ROLE_QUESTION.choice_label_id("parent") == "role-parent"


def test_flow_tables_are_consistent() -> None:
    for incident_type, flow in FLOWS.items():
        keys = [question.key for question in flow]
        assert len(keys) == len(set(keys)), incident_type
        for position, question in enumerate(flow):
            for condition in question.condition:
                earlier = {q.key: q for q in flow[:position]}
                assert condition.key in earlier, (incident_type, question.key, condition.key)
                assert set(condition.any_of) <= set(earlier[condition.key].choices)


def test_keys_fit_in_telegram_callback_data() -> None:
    for question in all_questions():
        assert question.key.isascii() and len(question.key) <= 16
        for choice in question.choices:
            assert choice.isascii() and len(choice) <= 16
            assert len(f"ans:{question.key}:{choice}".encode()) <= 64
        assert len(question.choices) <= 10, "too many buttons"


@pytest.mark.parametrize(
    ("incident_type", "first"),
    [
        ("scam", "platform"),
        ("hacked", "account"),
        ("harmful", "platform"),
        ("data_leak", "platform"),
        ("bullying", "danger"),
        ("other", "details"),
    ],
)
def test_first_question(incident_type: str, first: str) -> None:
    question = first_question(incident_type, {})
    assert question is not None and question.key == first


def test_the_per_type_questions_are_asked() -> None:
    assert {
        "pretended",
        "asked_for",
        "phones",
        "bank_account",
        "profile",
        "money_sent",
        "amount",
        "money_when",
    } <= {q.key for q in questions_for("scam")}
    assert {"account", "access", "attacker_doing"} <= {q.key for q in questions_for("hacked")}
    assert {"target", "spread", "still_online"} <= {q.key for q in questions_for("harmful")}
    assert {"data_kinds", "people_count", "leak_where"} <= {q.key for q in questions_for("data_leak")}
    assert {"danger", "victim", "is_student", "class", "intimate", "threats"} <= {
        q.key for q in questions_for("bullying")
    }
    assert get_question("scam", "asked_for").kind == AnswerKind.MULTI
    assert get_question("data_leak", "data_kinds").kind == AnswerKind.MULTI
    assert get_question("scam", "amount").kind == AnswerKind.AMOUNT


def _walk(incident_type: str, answers: dict[str, object]) -> list[str]:
    """The keys a user is asked, pressing through with `answers` (missing answers are skipped)."""
    asked, current = [], first_question(incident_type, answers)
    while current is not None:
        asked.append(current.key)
        current = next_question(incident_type, answers, current.key)
    return asked


def test_amount_is_asked_only_when_money_was_sent() -> None:
    without = _walk("scam", {"money_sent": "no"})
    with_money = _walk("scam", {"money_sent": "yes"})
    assert "amount" not in without and "money_when" not in without
    assert with_money.index("money_sent") + 1 == with_money.index("amount")
    assert with_money.index("amount") + 1 == with_money.index("money_when")


def test_class_is_asked_only_for_a_student() -> None:
    assert "class" in _walk("bullying", {"is_student": "yes"})
    assert "class" not in _walk("bullying", {"is_student": "no"})
    assert "class" not in _walk("bullying", {})  # not answered yet: not asked
    assert "class" in _walk("harmful", {"target": "student"})
    assert "class" in _walk("hacked", {"account": "student_personal"})
    assert "platform" not in _walk("hacked", {"account": "school_fanpage"})
    assert "platform" in _walk("hacked", {"account": "staff_personal"})


def test_back_button_skips_questions_that_do_not_apply() -> None:
    answers = {"money_sent": "no"}
    previous = previous_question("scam", answers, "when")
    assert previous is not None and previous.key == "money_sent"
    previous = previous_question("scam", {"money_sent": "yes"}, "when")
    assert previous is not None and previous.key == "money_when"
    assert previous_question("scam", answers, "platform") is None
    last = previous_question("scam", answers, None)
    assert last is not None and last.key == "details"


def test_next_after_the_last_question_is_none_and_unknown_keys_raise_key_error() -> None:
    assert next_question("other", {}, "when") is None
    with pytest.raises(KeyError):
        next_question("scam", {}, "no_such_key")
    with pytest.raises(KeyError):
        get_question("scam", "account")


def test_stale_answers_from_an_abandoned_branch_are_ignored() -> None:
    answers = {
        "money_sent": "no",
        "amount": 100_000_000,
        "money_when": {"period": "today", "date": "2025-03-15"},
    }
    assert "amount" not in [q.key for q in applicable_questions("scam", answers)]
    assert prune_answers("scam", answers) == {"money_sent": "no"}
    assert assess_severity("scam", answers).severity == "medium"


def test_pending_question_resumes_after_the_last_answer() -> None:
    answers = {"platform": "zalo", "pretended": "teacher"}
    pending = pending_question("scam", answers)
    assert pending is not None and pending.key == "asked_for"
    assert (
        pending_question(
            "other",
            {
                "details": "x",
                "platform": "zalo",
                "links": None,
                "affected": "school",
                "when": {"period": "earlier", "date": None},
            },
        )
        is None
    )


def test_optional_questions() -> None:
    assert is_optional("scam", "phones")
    assert is_optional("bullying", "victim")
    assert not is_optional("scam", "money_sent")
    assert not is_optional("other", "details")  # required for "other", optional elsewhere
    assert is_optional("scam", "details")


def test_summary_lists_applicable_answers_with_label_ids() -> None:
    answers = {
        "platform": "zalo",
        "asked_for": ["money", "otp"],
        "phones": ["+84912345678"],
        "money_sent": "yes",
        "amount": 5_000_000,
        "when": {"period": "date", "date": "2025-03-12"},
        "profile": None,
    }
    items = {item.key: item for item in summary_items("scam", answers)}
    assert items["platform"].label == "label-platform"
    assert items["platform"].display.ids == ("choice-platform-zalo",)
    assert items["asked_for"].display.ids == ("choice-asked-for-money", "choice-asked-for-otp")
    assert items["phones"].display.text == "0912 345 678"
    assert items["amount"].display.text == "5.000.000 đ"
    assert items["when"].display.text == "12/03/2025"
    assert items["profile"].display.skipped


# --- severity -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("incident_type", "answers", "severity", "reason"),
    [
        ("bullying", {"danger": "yes"}, "critical", "reason-child-danger"),
        ("bullying", {"danger": "no", "intimate": "yes"}, "critical", "reason-intimate-images"),
        ("bullying", {"danger": "no", "intimate": "no", "threats": "yes"}, "high", "reason-threats"),
        ("bullying", {"danger": "no", "intimate": "no", "threats": "no"}, "medium", "reason-bullying"),
        ("scam", {"money_sent": "yes", "amount": 5_000_000}, "high", "reason-money-lost"),
        ("scam", {"money_sent": "yes", "amount": 50_000_000}, "critical", "reason-money-large"),
        ("scam", {"money_sent": "yes", "amount": 49_999_999}, "high", "reason-money-lost"),
        ("scam", {"money_sent": "no"}, "medium", "reason-scam"),
        ("hacked", {"account": "school_website"}, "high", "reason-official-channel"),
        ("hacked", {"account": "school_fanpage"}, "high", "reason-official-channel"),
        ("hacked", {"account": "zalo_group_oa"}, "high", "reason-official-channel"),
        ("hacked", {"account": "staff_personal"}, "medium", "reason-account-hacked"),
        ("data_leak", {"people_count": 50}, "high", "reason-leak-many"),
        ("data_leak", {"people_count": 49}, "medium", "reason-data-leak"),
        ("harmful", {"spread": "viral"}, "high", "reason-viral"),
        ("harmful", {"spread": "few"}, "medium", "reason-harmful"),
        ("other", {}, "low", "reason-other"),
    ],
)
def test_severity_rules(incident_type: str, answers: dict[str, object], severity: str, reason: str) -> None:
    assessment = assess_severity(incident_type, answers)
    assert assessment.severity == severity
    assert assessment.reasons[0] == reason


def test_severity_is_the_maximum_and_lists_every_matched_reason() -> None:
    assessment = assess_severity("bullying", {"danger": "yes", "threats": "yes"})
    assert assessment.severity == Severity.CRITICAL
    assert assessment.severity_id == "severity-critical"
    assert assessment.reasons == ["reason-child-danger", "reason-threats", "reason-bullying"]


def test_leak_threshold_is_a_parameter() -> None:
    assert assess_severity("data_leak", {"people_count": 20}, leak_threshold=20).severity == "high"
    assert assess_severity("data_leak", {"people_count": 20}).severity == "medium"


def test_every_type_has_a_base_severity_rule() -> None:
    for incident_type in IncidentType:
        assert assess_severity(incident_type, {}).reasons, incident_type


# --- advice ---------------------------------------------------------------------------------------


def test_advice_is_given_as_soon_as_the_type_is_known() -> None:
    assert advice_for("scam") == ["advice-scam"]
    assert advice_for("hacked", {}) == ["advice-hacked"]
    assert advice_for("data_leak") == ["advice-data-leak"]
    assert advice_for("other") == ["advice-other"]


def test_money_sent_puts_call_your_bank_first() -> None:
    assert advice_for("scam", {"money_sent": "yes"})[0] == "advice-scam-bank"


def test_child_in_danger_puts_113_and_111_first() -> None:
    ids = advice_for("bullying", {"danger": "yes", "intimate": "yes"})
    assert ids[0] == "advice-danger"
    assert "advice-bullying" in ids and "advice-intimate" in ids
    assert "113" in _text(VI_BUNDLE, "advice-danger") and "111" in _text(VI_BUNDLE, "advice-danger")


def test_new_advice_tells_what_to_show_right_after_an_answer() -> None:
    assert new_advice("bullying", {}, {"danger": "yes"}) == ["advice-danger"]
    assert new_advice("bullying", {}, {"danger": "no"}) == []
    assert new_advice("hacked", {}, {"account": "school_fanpage", "access": "no"}) == [
        "advice-hacked-recover",
        "advice-hacked-official",
    ]


# --- indicators -----------------------------------------------------------------------------------


def test_indicators_from_scam_answers() -> None:
    answers = {
        "phones": ["+84912345678"],
        "bank_account": [{"bank": "VCB", "account": "0123456789"}],
        "profile": ["https://facebook.com/nguyenvana", "https://zalo.me/0987654321"],
        "details": "Họ gọi từ 0912.345.678 và nhắn link https://vcb-xacminh.com/login?utm_source=sms",
    }
    found = extract_indicators("scam", answers)
    values = {(i.kind, i.value) for i in found}
    assert values == {
        ("phone", "+84912345678"),
        ("bank_account", "VCB:0123456789"),
        ("url", "https://facebook.com/nguyenvana"),
        ("profile", "facebook:nguyenvana"),
        ("url", "https://zalo.me/0987654321"),
        ("profile", "zalo:+84987654321"),
        ("phone", "+84987654321"),
        ("url", "https://vcb-xacminh.com/login"),
        ("domain", "vcb-xacminh.com"),
    }
    assert len(found) == len(values), "deduplicated"
    displays = {i.value: i.display for i in found}
    assert displays["+84912345678"] == "0912 345 678"
    assert displays["VCB:0123456789"] == "Vietcombank 0123456789"


def test_the_victims_own_details_are_not_indicators() -> None:
    assert extract_indicators("bullying", {"victim": "Em Lan, số 0912345678"}) == []
    assert extract_indicators("bullying", {"details": "kẻ xấu dùng số 0912345678"})[0].value == "+84912345678"


def test_forwarded_message_indicators() -> None:
    message = (
        "Con anh chị đang cấp cứu tại bệnh viện, chuyển gấp 5.000.000đ vào STK 19036789012345 Techcombank. "
        "Liên hệ thầy Nam 0912 345 678. Zalo: zalo.me/0987654321"
    )
    found = extract_indicators("scam", {}, extra_texts=[message])
    assert {(i.kind, i.value) for i in found} == {
        ("bank_account", "TCB:19036789012345"),
        ("phone", "+84912345678"),
        ("url", "https://zalo.me/0987654321"),
        ("profile", "zalo:+84987654321"),
        ("phone", "+84987654321"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("stk 0011223344 VCB", {("bank_account", "VCB:0011223344")}),
        ("số tài khoản vietcombank của tôi là 0011223344", {("bank_account", "VCB:0011223344")}),
        ("STK: 0912345678 - MB Bank", {("bank_account", "MB:0912345678")}),  # phone-shaped account number
        ("0011223344 tại ngân hàng Á Châu", {("bank_account", "ACB:0011223344")}),
        ("tk 0011223344", {("bank_account", ":0011223344")}),
        ("Vietcombank, liên hệ 0912345678", {("phone", "+84912345678")}),
        ("chuyển khoản xong thì gọi 0912345678", {("phone", "+84912345678")}),
        ("chuyển khoản 5.000.000đ", set()),
        ("mã đơn hàng 123456789", set()),
        ("xong.Roi nhé", set()),
    ],
)
def test_bank_accounts_are_recognised_only_near_a_bank_word(
    text: str, expected: set[tuple[str, str]]
) -> None:
    assert {(i.kind, i.value) for i in indicators_in_text(text)} == expected


def test_equal_things_give_equal_indicators() -> None:
    first = extract_indicators("harmful", {"links": ["https://www.facebook.com/abc/?fbclid=1"]})
    second = indicators_in_text("xem m.facebook.com/abc nhé")
    assert {(i.kind, i.value) for i in first} == {(i.kind, i.value) for i in second}
    phones = [
        indicators_in_text(text)[0].value for text in ("0912 345 678", "+84 912-345-678", "84912345678")
    ]
    assert phones == ["+84912345678"] * 3


def test_platform_domains_are_not_indicators_but_other_domains_are() -> None:
    kinds = {(i.kind, i.value) for i in indicators_in_text("facebook.com/abc và abc-truong.vn/tin")}
    assert ("domain", "facebook.com") not in kinds
    assert ("domain", "abc-truong.vn") in kinds


def test_bank_account_lookup_ignores_whether_the_bank_was_named() -> None:
    named = Indicator("bank_account", "VCB:0011223344", "Vietcombank 0011223344")
    unnamed = Indicator("bank_account", ":0011223344", "0011223344")
    assert named.lookup_key == unnamed.lookup_key == "bank_account:0011223344"
    with pytest.raises(dataclasses.FrozenInstanceError):
        named.value = "x"  # type: ignore[misc]


def test_query_indicators_for_a_parent_checking_a_number() -> None:
    found = {(i.kind, i.value) for i in query_indicators("0912 345 678")}
    assert found == {("phone", "+84912345678"), ("bank_account", ":0912345678")}
    assert {(i.kind, i.value) for i in query_indicators("tiktok.com/@Abc")} == {
        ("url", "https://tiktok.com/@Abc"),
        ("profile", "tiktok:@abc"),
    }


# --- locales --------------------------------------------------------------------------------------


def _needed_ids() -> set[str]:
    needed: set[str] = set(ERROR_IDS)
    for question in all_questions():
        needed |= {question.prompt, question.label, *question.choice_label_ids().values()}
    needed |= {rule.reason for rule in RULES}
    needed |= {rule.advice for rule in ADVICE_RULES} | {i for ids in BASE_ADVICE.values() for i in ids}
    needed |= {f"severity-{severity}" for severity in Severity}
    needed |= {intake.kind_label_id(kind) for kind in intake.indicators.KINDS}
    return needed


def test_locale_files_parse_and_have_identical_ids_and_variables() -> None:
    vi, en = _messages(VI_FTL), _messages(EN_FTL)
    assert set(vi) == set(en)
    for message_id, message in vi.items():
        assert _variables(message) == _variables(en[message_id]), message_id


def test_every_id_the_domain_uses_is_translated() -> None:
    missing = _needed_ids() - set(_messages(VI_FTL))
    assert not missing


def test_error_messages_format_with_their_variables() -> None:
    for bundle in (VI_BUNDLE, EN_BUNDLE):
        text = _text(bundle, "err-too-long", max="1000", length="1001")
        assert "1000" in text and "1001" in text
        assert "0912" in _text(bundle, "err-phone", value="0912")


def test_locale_text_is_safe_html_without_number_formatting() -> None:
    for path in (VI_FTL, EN_FTL):
        source = path.read_text(encoding="utf-8")
        assert "NUMBER(" not in source
        body = "\n".join(line for line in source.splitlines() if not line.startswith("#"))
        assert not re.search(r"[<>&]", body), path.name


def test_vietnamese_texts_are_courteous_and_have_diacritics() -> None:
    vi = _messages(VI_FTL)
    prompts = [message_id for message_id in vi if message_id.startswith("q-")]
    for message_id in prompts:
        text = _text(VI_BUNDLE, message_id)
        assert fold(text) != text.lower(), f"{message_id} has no diacritics"
    assert sum("Anh/Chị" in _text(VI_BUNDLE, message_id) for message_id in prompts) >= 10
    assert _text(VI_BUNDLE, "q-asked-for").startswith("Kẻ gian đã yêu cầu Anh/Chị điều gì?")


def test_button_labels_are_short() -> None:
    for question in all_questions():
        for label_id in question.choice_label_ids().values():
            for bundle in (VI_BUNDLE, EN_BUNDLE):
                assert len(_text(bundle, label_id)) <= 28, label_id


# --- drafts -------------------------------------------------------------------------------------------


def _full_draft() -> Draft:
    draft = Draft.new(7, "THCS Ngọc Sơn", datetime(2026, 12, 8, 9, 30, tzinfo=UTC), role="parent")
    draft.type, draft.current, draft.fails, draft.anonymous = "scam", "amount", 1, False
    draft.answers = {"platform": "zalo", "asked_for": ["money", "otp"], "amount": 2_500_000,
                     "when": {"kind": "date", "value": "2026-12-07"}, "money_sent": "yes"}
    draft.selection = ["money"]
    draft.advice_shown = ["scam-call-bank"]
    draft.contact_name, draft.contact_phone = "Nguyễn Văn A", "+84912345678"
    draft.evidence = [EvidenceItem(kind="photo", file_id="AgAD", file_unique_id="u1", size=1024),
                      EvidenceItem(kind="forward", text="STK 0011223344", origin="Lớp 6A")]
    return draft


def test_a_draft_is_kept_as_json_and_read_back_as_it_was() -> None:
    draft = _full_draft()
    kept = draft.to_dict()
    assert kept == dataclasses.asdict(draft)
    assert Draft.from_dict(json.loads(json.dumps(kept))) == draft


def test_what_the_conversation_keeps_does_not_change_with_the_draft_afterwards() -> None:
    draft = _full_draft()
    kept, before = draft.to_dict(), dataclasses.asdict(draft)
    draft.answers["asked_for"].append("password")
    draft.answers["when"]["value"] = "2026-12-08"
    draft.answers["extra"] = "x"
    draft.selection.append("otp")
    draft.advice_shown.clear()
    draft.evidence[0].size = 1
    draft.evidence.append(EvidenceItem(kind="link", text="https://evil.example"))
    assert kept == before
