"""Case export for administrators: filtering by unit subtree and date, the reporter's identity left out unless
asked for, CSV that Excel opens with Vietnamese intact, and the `python -m bot cases export` command."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import export, reports
from bot.drafts import Draft, EvidenceItem
from storage.db import Database
from tests.factories import make_tree

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parent.parent
REPORTER_ID = 555_000_111
CONTACT_PHONE = "+84911222333"
CONTACT_NAME = "Nguyễn Thị Lan"
IDENTITY_FIELDS = {"reporter_id", "contact_name", "contact_phone"}



async def file_case(db: Database, school, incident_type: str, answers: dict, when: datetime, *,  # type: ignore[no-untyped-def]
                    reporter_id: int = REPORTER_ID, shared: bool = False,
                    evidence: list[EvidenceItem] | None = None) -> str:
    draft = Draft.new(school.id, school.name, when, role="parent")
    draft.type, draft.answers, draft.evidence = incident_type, answers, evidence or []
    if shared:
        draft.anonymous, draft.contact_name, draft.contact_phone = False, CONTACT_NAME, CONTACT_PHONE
    async with db.session() as session:
        submitted = await reports.submit(session, draft, reporter_id, locale="vi", now=when, tz=VN,
                                         leak_threshold=50)
    return submitted.case.code


@pytest.fixture
async def cases(db):  # type: ignore[no-untyped-def]
    """A scam in THCS Ngọc Sơn (contact shared) in January, a data leak in Tiểu học Trần Thành Ngọ just after
    midnight on 1 March (Hà Nội time), and a case of THPT Kiến An, a school outside the Kiến An district."""
    tree = await make_tree(db)
    scam = await file_case(db, tree["ns"], "scam", {
        "platform": "zalo", "pretended": "teacher", "asked_for": ["money"], "phones": ["+84987654321"],
        "money_sent": "yes", "amount": 5_000_000, "details": "Cô giáo giả mạo đòi học phí"},
        datetime(2026, 1, 10, 3, 0, tzinfo=UTC), shared=True,
        evidence=[EvidenceItem("link", text="https://hocphi-gia.vn"), EvidenceItem("photo", file_id="p1")])
    leak = await file_case(db, tree["ts"], "data_leak", {
        "platform": "facebook", "leak_where": "Nhóm Zalo phụ huynh lớp 6A", "data_kinds": ["names"],
        "people_count": 120, "affected": "student"},
        datetime(2026, 3, 1, 0, 30, tzinfo=VN), reporter_id=REPORTER_ID + 1)
    other = await file_case(db, tree["thpt"], "other", {"details": "Trường THPT"},
                            datetime(2026, 2, 1, 9, 0, tzinfo=UTC), reporter_id=REPORTER_ID + 2)
    return {"scam": scam, "leak": leak, "other": other}


async def collect(db: Database, **kwargs) -> list[dict]:  # type: ignore[no-untyped-def]
    kwargs.setdefault("unit_code", None)
    kwargs.setdefault("since", None)
    kwargs.setdefault("include_reporter", False)
    return await export.collect(db, tz=VN, **kwargs)


def codes(records: list[dict]) -> list[str]:
    return [r["code"] for r in records]


async def test_a_district_includes_its_schools_only(db, cases):
    assert codes(await collect(db, unit_code="KA")) == [cases["scam"], cases["leak"]]
    assert codes(await collect(db, unit_code="KA-TS")) == [cases["leak"]]
    assert codes(await collect(db, unit_code="HP")) == [cases["scam"], cases["other"], cases["leak"]]
    assert codes(await collect(db)) == [cases["scam"], cases["other"], cases["leak"]]


async def test_unknown_unit_is_a_clear_error(db, cases):
    with pytest.raises(export.ExportError, match="NOPE"):
        await collect(db, unit_code="NOPE")


async def test_since_filters_by_date(db, cases):
    since = datetime(2026, 3, 1, tzinfo=VN)
    assert codes(await collect(db, since=since)) == [cases["leak"]]
    assert codes(await collect(db, since=datetime(2026, 1, 11, tzinfo=VN))) == [cases["other"], cases["leak"]]
    assert codes(await collect(db, since=datetime(2026, 4, 1, tzinfo=VN))) == []


async def test_records_carry_the_case_without_the_reporter(db, cases):
    records = await collect(db, unit_code="KA-NS")
    assert len(records) == 1
    record = records[0]
    assert record["school"] == "THCS Ngọc Sơn" and record["school_code"] == "KA-NS"
    assert (record["type"], record["severity"], record["money_lost"]) == ("scam", "high", 5_000_000)
    assert record["created_at"] == "10/01/2026 10:00", "shown in Hà Nội time"
    assert record["anonymous"] is False
    assert {"kind": "phone", "value": "+84987654321"} in record["indicators"]
    assert [e["kind"] for e in record["evidence"]] == ["link", "photo"]
    assert IDENTITY_FIELDS.isdisjoint(record)
    for text in (export.to_json(records), export.to_csv(records)):
        for secret in (str(REPORTER_ID), CONTACT_PHONE, CONTACT_NAME, "0911222333"):
            assert secret not in text


async def test_identity_only_when_asked_for(db, cases):
    records = await collect(db, unit_code="KA-NS", include_reporter=True)
    assert {k: records[0][k] for k in IDENTITY_FIELDS} == {
        "reporter_id": REPORTER_ID, "contact_name": CONTACT_NAME, "contact_phone": CONTACT_PHONE}
    rows = list(csv.DictReader(io.StringIO(export.to_csv(records).removeprefix("\ufeff"))))
    assert (rows[0]["contact_name"], rows[0]["contact_phone"]) == (CONTACT_NAME, CONTACT_PHONE)


async def test_csv_for_excel(db, cases):
    text = export.to_csv(await collect(db, unit_code="KA"))
    assert text.startswith("\ufeff"), "Excel needs the BOM to read UTF-8"
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    header, body = rows[0], rows[1:]
    assert header[:6] == ["code", "school_code", "school", "created_at", "type", "severity"]
    assert "evidence_count" in header and IDENTITY_FIELDS.isdisjoint(header)
    assert len(body) == 2 and all(len(row) == len(header) for row in body)
    by_code = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    leak = by_code[cases["leak"]]
    assert leak["school"] == "Tiểu học Trần Thành Ngọ"
    assert json.loads(leak["answers"])["leak_where"] == "Nhóm Zalo phụ huynh lớp 6A"
    assert "Nhóm Zalo phụ huynh lớp 6A" in text, "Vietnamese text is written as is, not \\u-escaped"
    scam = by_code[cases["scam"]]
    assert scam["evidence_count"] == "2" and "phone:+84987654321" in scam["indicators"]


async def test_json_keeps_vietnamese_readable(db, cases):
    text = export.to_json(await collect(db, unit_code="KA-NS"))
    assert "Cô giáo giả mạo đòi học phí" in text and "THCS Ngọc Sơn" in text
    assert json.loads(text)[0]["answers"]["details"] == "Cô giáo giả mạo đòi học phí"


async def test_an_empty_export_is_still_a_table(db, cases):
    text = export.to_csv(await collect(db, unit_code="HP-KA1", since=datetime(2027, 1, 1, tzinfo=VN)))
    assert text.startswith("\ufeffcode,school_code,school,")


# --- the command line -----------------------------------------------------------------------------------


def run_cli(db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    env |= {"DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", "cases", "export", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120, check=False)


async def test_cli_exports_csv_of_a_district(db_url, db, cases, tmp_path):
    result = run_cli(db_url, tmp_path, "--format", "csv", "--unit", "KA", "--since", "2026-03-01")
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout.removeprefix("\ufeff"))))
    assert rows[0][0] == "code"
    assert [row[0] for row in rows[1:]] == [cases["leak"]], "--since is a day in Hà Nội time"
    assert "Tiểu học Trần Thành Ngọ" in result.stdout
    assert CONTACT_PHONE not in result.stdout and CONTACT_NAME not in result.stdout


async def test_cli_unknown_unit_exits_1_with_a_message(db_url, db, cases, tmp_path):
    result = run_cli(db_url, tmp_path, "--format", "csv", "--unit", "NOPE")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Cannot export: no unit with code 'NOPE'" in result.stderr
    assert "Traceback" not in result.stderr
