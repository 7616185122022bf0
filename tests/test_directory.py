"""The directory import: whole-file validation, all-or-nothing writes, stable tokens, and the tree."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import event, func, select

from bot.directory import (
    DirectoryFileError,
    RawRow,
    RowError,
    directory_tree,
    import_directory,
    read_rows,
    validate,
)
from storage.db import Database
from storage.directory import school_by_code, unit_by_code
from storage.models import Unit

aio = pytest.mark.asyncio  # on async tests only: on a sync test the mark is a warning

HEADER = "code,name,kind,parent_code"
# Kept here rather than in tests/data/, which .gitignore's `data/` would leave out of the repository.
GOOD_LINES = [
    HEADER,
    "HP,Sở GD&ĐT Hải Phòng,province,",
    "KA,Phòng GD&ĐT Kiến An,district,HP",
    "DS,Phòng GD&ĐT Đồ Sơn,district,HP",
    "THCS-NS,THCS Ngọc Sơn,school,KA",
    "TH-BS,Tiểu học Bắc Sơn,school,KA",
    "THCS-VH,THCS Vạn Hương,school,DS",
    "THPT-TP,THPT Trần Phú,school,HP",
]
TOKEN = re.compile(r"[A-Za-z0-9_-]{16}")


def write(tmp_path: Path, lines: list[str], name: str = "units.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes("\n".join(lines).encode(encoding) + b"\n")
    return path


def to_cp1258(text: str) -> bytes:
    """Text as Windows-1258 writes Vietnamese: a base letter from the code page plus a combining tone mark."""
    out = bytearray()
    for char in text:
        decomposed = unicodedata.normalize("NFD", char)
        if len(decomposed) == 3:  # e.g. ở = o + horn + hook: the code page has ơ, then the hook
            decomposed = unicodedata.normalize("NFC", decomposed[:2]) + decomposed[2:]
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            out += decomposed.encode("cp1258")
    return bytes(out)


def write_xlsx(tmp_path: Path, rows: list[list[object]], name: str = "units.xlsx") -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


async def snapshot(db: Database) -> dict[str, tuple[str, str, str, str | None, str, datetime]]:
    """code → (name, name_folded, kind, parent code, public_token, updated_at)."""
    async with db.session() as session:
        units = list(await session.scalars(select(Unit)))
    code_of = {unit.id: unit.code for unit in units}
    return {
        unit.code: (unit.name, unit.name_folded, unit.kind, code_of.get(unit.parent_id or 0),
                    unit.public_token, unit.updated_at)
        for unit in units
    }


async def unit_count(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Unit)) or 0)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    """Hải Phòng → Kiến An, Đồ Sơn → schools, plus an upper-secondary school directly under the Sở."""
    return write(tmp_path, GOOD_LINES, name="good.csv")


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement the engine sends, to prove there is no query per row."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        sent.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    yield sent
    event.remove(db.engine.sync_engine, "before_cursor_execute", record)


# ------------------------------------------------------------------------------------------ good files


@aio
async def test_good_file_builds_the_tree(db: Database, good: Path) -> None:
    report = await import_directory(db, good)

    assert (report.created, report.updated, report.unchanged, report.errors) == (7, 0, 0, [])
    units = await snapshot(db)
    assert {code: (kind, parent) for code, (_, _, kind, parent, _, _) in units.items()} == {
        "HP": ("province", None),
        "KA": ("district", "HP"),
        "DS": ("district", "HP"),
        "THCS-NS": ("school", "KA"),
        "TH-BS": ("school", "KA"),
        "THCS-VH": ("school", "DS"),
        "THPT-TP": ("school", "HP"),  # upper secondary: straight under the Sở
    }
    assert units["DS"][:2] == ("Phòng GD&ĐT Đồ Sơn", "phong gd&dt do son")
    tokens = [values[4] for values in units.values()]
    assert all(TOKEN.fullmatch(token) for token in tokens)
    assert len(set(tokens)) == len(tokens)


@aio
async def test_importing_the_same_file_twice_changes_nothing(db: Database, good: Path) -> None:
    await import_directory(db, good)
    before = await snapshot(db)

    report = await import_directory(db, good)

    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 0, 7, [])
    assert await snapshot(db) == before  # names, parents, tokens and updated_at alike


@aio
async def test_rename_and_move_update_only_those_units_and_keep_tokens(
    db: Database, good: Path, tmp_path: Path
) -> None:
    await import_directory(db, good)
    before = await snapshot(db)
    lines = [
        line.replace("THCS Ngọc Sơn", "Trường THCS Ngọc Sơn").replace("TH-BS,Tiểu học Bắc Sơn,school,KA",
                                                                      "TH-BS,Tiểu học Bắc Sơn,school,DS")
        for line in GOOD_LINES
    ]

    report = await import_directory(db, write(tmp_path, lines))

    assert (report.created, report.updated, report.unchanged) == (0, 2, 5)
    after = await snapshot(db)
    assert after["THCS-NS"][:2] == ("Trường THCS Ngọc Sơn", "truong thcs ngoc son")
    assert after["TH-BS"][3] == "DS"
    assert {code: values[4] for code, values in after.items()} == {code: v[4] for code, v in before.items()}
    changed = {code for code in after if after[code][5] != before[code][5]}
    assert changed == {"THCS-NS", "TH-BS"}


@aio
async def test_children_may_come_before_their_parents_in_the_file(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, [HEADER, *reversed(GOOD_LINES[1:])])

    report = await import_directory(db, path)

    assert (report.created, report.errors) == (7, [])
    assert (await snapshot(db))["THCS-NS"][3] == "KA"


@aio
async def test_a_later_file_may_refer_to_units_already_in_the_directory(
    db: Database, good: Path, tmp_path: Path
) -> None:
    await import_directory(db, good)

    report = await import_directory(db, write(tmp_path, [HEADER, "KA-LL,THCS Lãm Hà,school,KA"]))

    assert (report.created, report.updated, report.unchanged, report.errors) == (1, 0, 0, [])
    assert await unit_count(db) == 8  # units absent from the file are left alone


@aio
async def test_import_uses_a_fixed_number_of_queries(db: Database, good: Path, statements: list[str]) -> None:
    await import_directory(db, good)

    assert statements.count("SELECT") == 1
    assert statements.count("UPDATE") == 0


@aio
async def test_semicolon_bom_crlf_and_quoted_cells(db: Database, tmp_path: Path) -> None:
    text = (
        "\ufeffCode ; NAME;Kind;Parent_Code\r\n"
        "HP;Sở GD&ĐT Hải Phòng;province;\r\n"
        "\r\n"
        'KA-1;"Trường Tiểu học A; cơ sở 2";trường;HP\r\n'
    )
    path = tmp_path / "semi.csv"
    path.write_bytes(text.encode("utf-8"))

    assert [row.line for row in read_rows(path)] == [2, 4]
    report = await import_directory(db, path)

    assert (report.created, report.errors) == (2, [])
    assert (await snapshot(db))["KA-1"][:4] == ("Trường Tiểu học A; cơ sở 2", "truong tieu hoc a; co so 2",
                                               "school", "HP")


@aio
async def test_xlsx_with_columns_in_any_order_and_extra_columns(db: Database, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path, [
        ["Name", "note", "KIND", "parent_code", "code"],
        ["Sở GD&ĐT Đồng Nai", "from the Sở's list", "Tỉnh", None, "DN"],
        [None, None, None, None, None],
        ["Phòng GD&ĐT Biên Hòa", None, "Huyện", "DN", "BH"],
        ["Trường số 101", None, "school", "BH", 101],
    ])

    report = await import_directory(db, path)

    assert (report.created, report.errors) == (3, [])
    units = await snapshot(db)
    assert units["101"][2:4] == ("school", "BH")
    assert units["DN"][2] == "province"


@aio
async def test_xlsx_errors_carry_spreadsheet_row_numbers(db: Database, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path, [HEADER.split(","), [None], ["X1", "Trường X", "school", "NO"]])

    report = await import_directory(db, path)

    assert [(error.line, error.code) for error in report.errors] == [(3, "X1")]
    assert await unit_count(db) == 0


@pytest.mark.parametrize("kind, expected", [
    ("PROVINCE", "province"), ("tinh", "province"), ("Tỉnh", "province"), ("Sở", "province"),
    ("Huyện", "district"), ("quận", "district"), ("phong", "district"),
    ("Trường", "school"), ("truong", "school"), (" School ", "school"),
])
def test_kind_aliases_are_accepted(kind: str, expected: str) -> None:
    parent = {"province": "", "district": "P", "school": "D"}[expected]
    rows = [RawRow(2, "X", "Unit", kind, parent)]

    assert validate(rows, {"P": "province", "D": "district"}) == []


# ------------------------------------------------------------------------------------------- bad files


BAD_ROWS = [
    # (extra line appended after the good file → it becomes line 9, expected message fragment)
    ("X,Trường X,school,", "parent_code is missing; a school belongs to a district or directly to a prov"),
    ("X,Phòng X,district,", "parent_code is missing; a district belongs to a province"),
    ("X,Sở X,province,HP", "a province has no parent, but parent_code is 'HP'"),
    ("X,Trường X,school,XYZ", "parent_code 'XYZ' not found (neither in this file nor in the directory)"),
    ("X,Trường X,school,ka", "parent_code 'ka' not found (neither in this file nor in the directory); "
                             "did you mean 'KA'?"),
    ("X,Phòng X,district,KA", "parent_code 'KA' is a district, but a district's parent must be a province"),
    ("X,Trường X,school,THCS-NS", "parent_code 'THCS-NS' is a school, but a school's parent must be"),
    ("X,Phòng X,district,X", "parent_code 'X' is the unit itself"),
    (",Trường X,school,KA", "code is missing"),
    ("X Y,Trường X,school,KA", "code 'X Y' is not valid"),
    ("-X,Trường X,school,KA", "code '-X' is not valid"),
    ("A" * 33 + ",Trường X,school,KA", "is not valid: use at most 32 letters"),
    ("X,,school,KA", "name is missing"),
    ("X," + "a" * 256 + ",school,KA", "name is 256 characters long; at most 255 are allowed"),
    ("X,Trường X,,KA", "kind is missing"),
    ("X,Trường X,college,KA", "kind 'college' is not known"),
    ("KA,Phòng GD&ĐT Kiến An,district,HP", "code 'KA' is already used on line 3"),
    ("ka,Phòng GD&ĐT Kiến An,district,HP", "code 'ka' differs only in letter case from 'KA' on line 3"),
]


@aio
@pytest.mark.parametrize("line, message", BAD_ROWS, ids=[message[:40] for _, message in BAD_ROWS])
async def test_each_bad_row_is_reported_and_nothing_is_imported(
    db: Database, tmp_path: Path, line: str, message: str
) -> None:
    report = await import_directory(db, write(tmp_path, [*GOOD_LINES, line]))

    assert len(report.errors) == 1, report.errors
    error = report.errors[0]
    assert error.line == 9
    assert message in error.message
    assert str(error).startswith("line 9: ")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert await unit_count(db) == 0


@aio
async def test_every_bad_row_is_reported_in_line_order(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, [
        HEADER,                              # 1
        "HP,Sở GD&ĐT Hải Phòng,province,",   # 2
        "A,Trường A,school,NOPE",            # 3
        "",                                  # 4 (blank: skipped, still counted)
        "B,,district,HP",                    # 5
        "C,Trường C,kindergarten,HP",        # 6
        "A,Trường A again,school,HP",        # 7
    ])

    report = await import_directory(db, path)

    assert [(error.line, error.code) for error in report.errors] == [(3, "A"), (5, "B"), (6, "C"), (7, "A")]
    assert "line 7: code 'A' is already used on line 3" in [str(error) for error in report.errors]
    assert await unit_count(db) == 0


def test_a_cycle_is_reported_on_every_row_in_it() -> None:
    rows = [
        RawRow(2, "A", "Phòng A", "district", "B"),
        RawRow(3, "B", "Phòng B", "district", "C"),
        RawRow(4, "C", "Phòng C", "district", "A"),
        RawRow(5, "S", "Trường S", "school", "A"),
    ]

    cycles = [error for error in validate(rows, {}) if "cycle" in error.message]

    assert [(error.line, error.message) for error in cycles] == [
        (2, "parent chain forms a cycle: A → B → C → A"),
        (3, "parent chain forms a cycle: B → C → A → B"),
        (4, "parent chain forms a cycle: C → A → B → C"),
    ]


def test_a_cycle_through_the_directory_is_found() -> None:
    rows = [RawRow(2, "A", "Phòng A", "district", "B")]

    errors = validate(rows, {"B": "district"}, {"B": "A"})

    assert "line 2: parent chain forms a cycle: A → B → A" in [str(error) for error in errors]


@aio
async def test_a_failed_import_leaves_the_directory_untouched(
    db: Database, good: Path, tmp_path: Path
) -> None:
    await import_directory(db, good)
    before = await snapshot(db)
    lines = [*(line.replace("Kiến An", "Kiến An mới") for line in GOOD_LINES), "NEW,Trường mới,school,NOPE"]

    report = await import_directory(db, write(tmp_path, lines))

    assert [error.line for error in report.errors] == [9]
    assert await snapshot(db) == before


@aio
async def test_a_kind_change_that_strands_children_is_refused(
    db: Database, good: Path, tmp_path: Path
) -> None:
    await import_directory(db, good)

    report = await import_directory(db, write(tmp_path, [HEADER, "KA,Trường Kiến An,school,HP"]))

    assert len(report.errors) == 1
    assert str(report.errors[0]) == (
        "line 2: kind cannot change from district to school: 2 unit(s) in the directory sit under 'KA' and "
        "a school cannot hold them (TH-BS, THCS-NS); move them in this file or keep the kind"
    )
    assert (await snapshot(db))["KA"][2] == "district"


@aio
async def test_a_kind_change_is_fine_when_the_children_move_in_the_file(
    db: Database, good: Path, tmp_path: Path
) -> None:
    await import_directory(db, good)
    lines = [
        HEADER,
        "KA,Trường Kiến An,school,HP",
        "THCS-NS,THCS Ngọc Sơn,school,DS",
        "TH-BS,Tiểu học Bắc Sơn,school,DS",
    ]

    report = await import_directory(db, write(tmp_path, lines))

    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 3, 0, [])
    assert (await snapshot(db))["KA"][2:4] == ("school", "HP")


@aio
async def test_a_code_differing_only_in_case_from_the_directory_is_refused(
    db: Database, good: Path, tmp_path: Path
) -> None:
    await import_directory(db, good)

    report = await import_directory(db, write(tmp_path, [HEADER, "thcs-ns,THCS Ngọc Sơn,school,KA"]))

    assert [str(error) for error in report.errors] == [
        "line 2: code 'thcs-ns' differs only in letter case from 'THCS-NS' in the directory; "
        "write it as 'THCS-NS' to update that unit"
    ]


# ------------------------------------------------------------------------------------- unreadable files


@aio
async def test_a_non_utf8_file_is_refused_with_one_clear_error(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(to_cp1258("\n".join(GOOD_LINES)))  # Excel's plain "CSV" on a Vietnamese Windows

    report = await import_directory(db, path)

    assert len(report.errors) == 1
    message = str(report.errors[0])
    assert message.startswith(
        "file is not UTF-8 encoded (first invalid byte on line 2); save it as CSV UTF-8 (in Excel: "
    )
    assert await unit_count(db) == 0


def test_a_latin1_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, [HEADER, "X,École,school,P"], encoding="latin-1")

    with pytest.raises(DirectoryFileError, match="not UTF-8 encoded"):
        read_rows(path)


def test_a_utf16_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_LINES, encoding="utf-16")

    with pytest.raises(DirectoryFileError, match="file is UTF-16 encoded, not UTF-8; save it as CSV UTF-8"):
        read_rows(path)


def test_an_old_xls_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "units.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)

    with pytest.raises(DirectoryFileError, match=r"\.xls\) files are not supported"):
        read_rows(path)


@aio
async def test_a_missing_column_is_one_error_on_the_header(db: Database, tmp_path: Path) -> None:
    report = await import_directory(db, write(tmp_path, ["code,name,type,parent", "HP,Sở,province,"]))

    assert len(report.errors) == 1
    assert str(report.errors[0]).startswith(
        "line 1: the header lacks column(s) 'kind', 'parent_code'; expected code,name,kind,parent_code"
    )
    assert await unit_count(db) == 0


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty"),
    (b"\n\n", "the file is empty"),
    (b"code,name,kind,code,parent_code\n", "the header repeats column(s) 'code'"),
])
def test_unusable_tables(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "units.csv"
    path.write_bytes(content)

    with pytest.raises(DirectoryFileError, match=re.escape(message)):
        read_rows(path)


@aio
async def test_a_missing_file_is_an_error_not_a_crash(db: Database, tmp_path: Path) -> None:
    report = await import_directory(db, tmp_path / "nope.csv")

    assert len(report.errors) == 1
    assert "cannot read" in str(report.errors[0])


def test_a_header_without_rows_is_an_error() -> None:
    assert validate([], {}) == [RowError(0, "", "the file has a header but no units below it")]


# ------------------------------------------------------------------------------------ tree and lookups


@aio
async def test_tree_nests_districts_and_schools_under_their_province(
    db: Database, good: Path, statements: list[str]
) -> None:
    await import_directory(db, good)
    statements.clear()

    tree = await directory_tree(db)

    assert tree == "\n".join([
        "HP  Sở GD&ĐT Hải Phòng (province)",
        "├── DS  Phòng GD&ĐT Đồ Sơn (district)",
        "│   └── THCS-VH  THCS Vạn Hương (school)",
        "├── KA  Phòng GD&ĐT Kiến An (district)",
        "│   ├── THCS-NS  THCS Ngọc Sơn (school)",
        "│   └── TH-BS  Tiểu học Bắc Sơn (school)",
        "└── THPT-TP  THPT Trần Phú (school)",
        "",
        "7 units: 1 province, 2 districts, 4 schools",
    ])
    assert statements.count("SELECT") == 1


@aio
async def test_tree_of_an_empty_directory_says_how_to_fill_it(db: Database) -> None:
    assert "python -m bot directory import" in await directory_tree(db)


@aio
async def test_lookups_by_code(db: Database, good: Path) -> None:
    await import_directory(db, good)

    async with db.session() as session:
        assert (await unit_by_code(session, "KA")).name == "Phòng GD&ĐT Kiến An"  # type: ignore[union-attr]
        assert (await school_by_code(session, "THPT-TP")).kind == "school"  # type: ignore[union-attr]
        assert await school_by_code(session, "KA") is None
        assert await unit_by_code(session, "NOPE") is None
