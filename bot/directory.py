"""The directory of units (Sở → Phòng → school): import it from a spreadsheet and print it as a tree.

The operator's file is checked as a whole and every problem is listed with its line number before
anything is written: a half-imported directory would route reports to the wrong people, and fixing one
error per run of a 3,000-row file is not an afternoon anyone wants. Units missing from the file are left
alone (the import adds and updates, it never deletes: cases and members point at units). An existing
unit keeps its `public_token` for ever, because printed QR posters carry it.

File format, CSV (UTF-8, `,` or `;`) or XLSX (first sheet), header row first:

    code,name,kind,parent_code
    HP,Sở GD&ĐT Hải Phòng,province,
    KA,Phòng GD&ĐT Kiến An,district,HP
    THCS-NS,THCS Ngọc Sơn,school,KA
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from bot.deeplinks import new_school_token
from bot.text import fold
from storage import directory as store
from storage.db import Database
from storage.models import Unit

COLUMNS = ("code", "name", "kind", "parent_code")
KINDS = ("province", "district", "school")
# A parent always ranks strictly above its child, which is what makes a valid directory acyclic and lets
# the import write level by level.
RANK = {kind: rank for rank, kind in enumerate(KINDS)}
# Upper secondary schools (THPT) report straight to the Sở, so a school may hang under a province.
ALLOWED_PARENTS: dict[str, frozenset[str]] = {
    "province": frozenset(),
    "district": frozenset({"province"}),
    "school": frozenset({"district", "province"}),
}
PARENT_RULE = {
    "district": "a district's parent must be a province",
    "school": "a school's parent must be a district or a province",
}
NEEDS_PARENT = {
    "district": "a district belongs to a province",
    "school": "a school belongs to a district or directly to a province",
}
# Spreadsheets are often filled in Vietnamese; folded, so "Tỉnh", "tinh" and "TỈNH" all match.
KIND_ALIASES = {
    fold(alias): kind
    for kind, aliases in {
        "province": ("province", "tỉnh", "sở", "sở gd&đt"),
        "district": ("district", "huyện", "quận", "phòng", "phòng gd&đt"),
        "school": ("school", "trường"),
    }.items()
    for alias in aliases
}
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
NAME_MAX = 255
DELIMITERS = (",", ";", "\t")
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
# UTF-32 first: its little-endian BOM starts with UTF-16's.
FOREIGN_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
SAVE_AS_UTF8 = 'save it as CSV UTF-8 (in Excel: File → Save As → "CSV UTF-8 (Comma delimited)")'
PLURALS = {"province": "provinces", "district": "districts", "school": "schools"}


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data line of the file as typed (cells trimmed), with its line number (the header is line 1)."""

    line: int
    code: str
    name: str
    kind: str
    parent_code: str


@dataclass(frozen=True, slots=True)
class RowError:
    """A problem the operator must fix; line 0 means the file as a whole."""

    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class DirectoryFileError(ValueError):
    """The file cannot be read as a table at all (encoding, format, header)."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line

    def as_row_error(self) -> RowError:
        return RowError(self.line, "", str(self))


# ---------------------------------------------------------------------------------------------- reading


def read_rows(path: Path) -> list[RawRow]:
    """The data rows of a CSV or XLSX file; raises `DirectoryFileError` when it is not a usable table.

    The format is decided by the file's first bytes, not its extension: operators rename files.
    """
    data = path.read_bytes()
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data)
    if data.startswith(XLS_MAGIC):
        raise DirectoryFileError(
            "old Excel 97-2003 (.xls) files are not supported; save it as .xlsx or CSV UTF-8"
        )
    return _read_csv(_decode(data))


def _decode(data: bytes) -> str:
    """UTF-8 text, with or without BOM; anything else is refused rather than turned into mojibake.

    Excel's plain "CSV" saves in the Windows code page (cp1258 / cp1252 for Vietnamese), which would
    silently store "Tr??ng" as a school's name; bytes that are not valid UTF-8 give that away.
    """
    for bom, encoding in FOREIGN_BOMS:
        if data.startswith(bom):
            raise DirectoryFileError(f"file is {encoding} encoded, not UTF-8; {SAVE_AS_UTF8}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DirectoryFileError(
            f"file is not UTF-8 encoded (first invalid byte on line {line}); {SAVE_AS_UTF8}"
        ) from None


def _read_csv(text: str) -> list[RawRow]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        return _table(_numbered(reader))
    except csv.Error as exc:
        raise DirectoryFileError(f"cannot read the CSV: {exc}", reader.line_num) from None


def _sniff_delimiter(text: str) -> str:
    """The candidate that occurs most in the header line (Excel in a Vietnamese locale writes `;`)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return max(DELIMITERS, key=header.count)


def _numbered(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    start = 1
    for record in reader:
        yield start, record
        start = reader.line_num + 1  # type: ignore[attr-defined]


def _read_xlsx(data: bytes) -> list[RawRow]:
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise DirectoryFileError(f"cannot open the XLSX file: {exc}") from None
    try:
        if not workbook.worksheets:
            raise DirectoryFileError("the XLSX file has no worksheet")
        rows = workbook.worksheets[0].iter_rows(min_row=1, values_only=True)
        return _table((line, [_cell_text(value) for value in values]) for line, values in enumerate(rows, 1))
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    """A cell as text; Excel turns a code like 101 into the float 101.0, which must read back as "101"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table(records: Iterable[tuple[int, Sequence[str]]]) -> list[RawRow]:
    """Header-mapped rows; blank lines are skipped but still counted, so line numbers match the editor."""
    trimmed = ((line, [cell.strip() for cell in cells]) for line, cells in records)
    non_blank = ((line, cells) for line, cells in trimmed if any(cells))
    first = next(non_blank, None)
    if first is None:
        raise DirectoryFileError(f"the file is empty; the first row must be the header {','.join(COLUMNS)}")
    positions = _header_positions(*first)
    return [RawRow(line, *(_cell(cells, positions[name]) for name in COLUMNS)) for line, cells in non_blank]


def _header_positions(line: int, header: Sequence[str]) -> dict[str, int]:
    """Where each required column is; case and spaces do not matter, order and extra columns neither."""
    names = [cell.replace("\ufeff", "").strip().lower() for cell in header]
    repeated = sorted(name for name, count in Counter(names).items() if count > 1 and name in COLUMNS)
    if repeated:
        raise DirectoryFileError(f"the header repeats column(s) {_quoted(repeated)}", line)
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        raise DirectoryFileError(
            f"the header lacks column(s) {_quoted(missing)}; expected {','.join(COLUMNS)} "
            f"(found: {', '.join(repr(cell) for cell in header)})",
            line,
        )
    return {name: names.index(name) for name in COLUMNS}


def _cell(cells: Sequence[str], position: int) -> str:
    return cells[position] if position < len(cells) else ""


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


# ------------------------------------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class _Row:
    """A row with its values normalised; `kind` is None when missing or unknown."""

    line: int
    code: str
    name: str
    kind: str | None
    raw_kind: str
    parent_code: str | None


def _normalise(raw: RawRow) -> _Row:
    return _Row(
        line=raw.line,
        code=raw.code.strip(),
        name=_clean_name(raw.name),
        kind=KIND_ALIASES.get(fold(raw.kind)),
        raw_kind=raw.kind.strip(),
        parent_code=raw.parent_code.strip() or None,
    )


def _clean_name(name: str) -> str:
    """NFC with single spaces: a Mac or a web form may give decomposed accents, which would compare unequal
    to the stored name (a spurious "updated") and search differently."""
    return " ".join(unicodedata.normalize("NFC", name).split())


@dataclass(frozen=True, slots=True)
class _Context:
    """The directory as it would be after the import: the database overlaid with the file."""

    rows: list[_Row]
    first: dict[str, _Row]  # first occurrence of each code in the file
    existing: Mapping[str, str]  # code → kind, in the database
    existing_children: dict[str, list[str]]  # parent code → child codes, in the database
    kinds: dict[str, str | None]  # code → kind after the import (None: the file's kind is unusable)
    parents: dict[str, str | None]  # code → parent code after the import

    @classmethod
    def build(
        cls, rows: list[_Row], existing: Mapping[str, str], existing_parents: Mapping[str, str | None]
    ) -> _Context:
        first: dict[str, _Row] = {}
        for row in rows:
            if row.code:
                first.setdefault(row.code, row)
        children: dict[str, list[str]] = defaultdict(list)
        for child, parent in existing_parents.items():
            if parent is not None:
                children[parent].append(child)
        return cls(
            rows=rows,
            first=first,
            existing=existing,
            existing_children=children,
            kinds={**existing, **{code: row.kind for code, row in first.items()}},
            parents={**existing_parents, **{code: row.parent_code for code, row in first.items()}},
        )


def validate(
    rows: Sequence[RawRow],
    existing: Mapping[str, str],
    existing_parents: Mapping[str, str | None] | None = None,
) -> list[RowError]:
    """Every problem in the file, ordered by line; empty means the import may proceed.

    `existing` maps the database's unit codes to their kinds, `existing_parents` their codes to their
    parents' codes (needed to refuse a change of kind that would strand units already under it).
    """
    context = _Context.build([_normalise(row) for row in rows], existing, existing_parents or {})
    errors = [error for check in CHECKS for error in check(context)]
    return sorted(errors, key=lambda error: error.line)


def _check_not_empty(context: _Context) -> Iterator[RowError]:
    if not context.rows:
        yield RowError(0, "", "the file has a header but no units below it")


def _check_fields(context: _Context) -> Iterator[RowError]:
    for row in context.rows:
        for message in _field_problems(row):
            yield RowError(row.line, row.code, message)


def _field_problems(row: _Row) -> Iterator[str]:
    if not row.code:
        yield "code is missing"
    elif not CODE_PATTERN.fullmatch(row.code):
        yield (f"code '{row.code}' is not valid: use at most 32 letters, digits, '_', '.' or '-', "
               "starting with a letter or a digit")
    if not row.name:
        yield "name is missing"
    elif len(row.name) > NAME_MAX:
        yield f"name is {len(row.name)} characters long; at most {NAME_MAX} are allowed"
    if not row.raw_kind:
        yield f"kind is missing; use {', '.join(KINDS)}"
    elif row.kind is None:
        yield (f"kind '{row.raw_kind}' is not known; use {', '.join(KINDS)} "
               "(or tỉnh/sở, huyện/quận/phòng, trường)")


def _check_duplicates(context: _Context) -> Iterator[RowError]:
    """Codes are case-sensitive, so 'ka' next to 'KA' is allowed by the database but is surely a typo."""
    seen: dict[str, _Row] = {}
    in_directory = {code.casefold(): code for code in context.existing}
    for row in context.rows:
        if not row.code:
            continue
        earlier = seen.setdefault(row.code.casefold(), row)
        twin = in_directory.get(row.code.casefold(), row.code)
        if earlier is not row and earlier.code == row.code:
            yield RowError(row.line, row.code, f"code '{row.code}' is already used on line {earlier.line}")
        elif earlier is not row:
            yield RowError(row.line, row.code, f"code '{row.code}' differs only in letter case from "
                           f"'{earlier.code}' on line {earlier.line}")
        elif twin != row.code and row.code not in context.existing:
            yield RowError(row.line, row.code, f"code '{row.code}' differs only in letter case from "
                           f"'{twin}' in the directory; write it as '{twin}' to update that unit")


def _check_parents(context: _Context) -> Iterator[RowError]:
    for row in context.rows:
        message = _parent_problem(row, context)
        if message:
            yield RowError(row.line, row.code, message)


def _parent_problem(row: _Row, context: _Context) -> str | None:
    parent = row.parent_code
    if parent is None:
        return f"parent_code is missing; {NEEDS_PARENT[row.kind]}" if row.kind in NEEDS_PARENT else None
    if row.kind == "province":
        return f"a province has no parent, but parent_code is '{parent}'; leave parent_code empty"
    if parent == row.code:
        return f"parent_code '{parent}' is the unit itself"
    if parent not in context.kinds:
        where = "neither in this file nor in the directory"
        return f"parent_code '{parent}' not found ({where}){_hint(parent, context)}"
    parent_kind = context.kinds[parent]
    if row.kind is None or parent_kind is None or parent_kind in ALLOWED_PARENTS[row.kind]:
        return None
    return f"parent_code '{parent}' is a {parent_kind}, but {PARENT_RULE[row.kind]}"


def _hint(code: str, context: _Context) -> str:
    near = sorted(known for known in context.kinds if known.casefold() == code.casefold())
    return f"; did you mean '{near[0]}'?" if near else ""


def _check_kind_changes(context: _Context) -> Iterator[RowError]:
    """A unit that changes kind must still be a valid parent for the units the file leaves under it."""
    for code, row in context.first.items():
        old_kind = context.existing.get(code)
        if old_kind is None or row.kind is None or row.kind == old_kind:
            continue
        stranded = sorted(
            child
            for child in context.existing_children.get(code, ())
            if child not in context.first and row.kind not in ALLOWED_PARENTS.get(context.existing[child], ())
        )
        if stranded:
            yield RowError(row.line, code, (
                f"kind cannot change from {old_kind} to {row.kind}: {len(stranded)} unit(s) in the directory "
                f"sit under '{code}' and a {row.kind} cannot hold them ({', '.join(stranded[:10])}"
                f"{', …' if len(stranded) > 10 else ''}); move them in this file or keep the kind"
            ))


def _check_cycles(context: _Context) -> Iterator[RowError]:
    """Each row of a parent loop gets the loop, starting from itself (self-parents are reported above)."""
    for cycle in _cycles(context.parents, context.first):
        for position, code in enumerate(cycle):
            row = context.first.get(code)
            if row is not None:
                loop = [*cycle[position:], *cycle[:position], code]
                yield RowError(row.line, code, f"parent chain forms a cycle: {' → '.join(loop)}")


def _cycles(parents: Mapping[str, str | None], starts: Iterable[str]) -> list[list[str]]:
    """Loops of two or more units reachable from `starts`, each found once."""
    done: set[str] = set()
    found: list[list[str]] = []
    for start in starts:
        path: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done and node not in path:
            path[node] = len(path)
            node = parents.get(node)
        if node is not None and node in path:
            cycle = list(path)[path[node]:]
            if len(cycle) > 1:
                found.append(cycle)
        done.update(path)
    return found


CHECKS: tuple[Callable[[_Context], Iterable[RowError]], ...] = (
    _check_not_empty,
    _check_fields,
    _check_duplicates,
    _check_parents,
    _check_kind_changes,
    _check_cycles,
)


# ---------------------------------------------------------------------------------------------- import


async def import_directory(db: Database, path: Path) -> ImportReport:
    """Check the whole file against the directory, then write all of it in one transaction or nothing."""
    try:
        rows = await asyncio.to_thread(read_rows, path)
    except DirectoryFileError as exc:
        return ImportReport(errors=[exc.as_row_error()])
    except OSError as exc:
        return ImportReport(errors=[RowError(0, "", f"cannot read {path}: {exc.strerror or exc}")])
    async with db.session() as session:
        current = await store.units_by_code(session)
        errors = validate(rows, *_existing(current.values()))
        if errors:
            return ImportReport(errors=errors)
        counts = await store.upsert_units(session, _specs(rows), current, new_school_token)
    return ImportReport(created=counts.created, updated=counts.updated, unchanged=counts.unchanged)


def _existing(units: Iterable[Unit]) -> tuple[dict[str, str], dict[str, str | None]]:
    units = list(units)
    code_of = {unit.id: unit.code for unit in units}
    kinds = {unit.code: unit.kind for unit in units}
    parents = {unit.code: code_of.get(unit.parent_id) if unit.parent_id else None for unit in units}
    return kinds, parents


def _specs(rows: Sequence[RawRow]) -> list[store.UnitSpec]:
    """Validated rows as specs, parents before children (a parent's kind always ranks higher)."""
    normalised = sorted((_normalise(row) for row in rows), key=lambda row: (RANK[row.kind or ""], row.line))
    return [
        store.UnitSpec(
            code=row.code,
            name=row.name,
            name_folded=fold(row.name)[:NAME_MAX],
            kind=row.kind or "",
            parent_code=row.parent_code,
        )
        for row in normalised
    ]


# ------------------------------------------------------------------------------------------------ tree


async def directory_tree(db: Database) -> str:
    """The whole directory as an indented tree with a count line (one SELECT)."""
    async with db.session() as session:
        units = await store.all_units(session)
    return render_tree(units)


def render_tree(units: Sequence[Unit]) -> str:
    """Provinces, each with its districts (and their schools) and then the schools directly under it."""
    if not units:
        return "The directory is empty; import it with `python -m bot directory import FILE`."
    ids = {unit.id for unit in units}
    children: dict[int | None, list[Unit]] = defaultdict(list)
    for unit in units:
        children[unit.parent_id if unit.parent_id in ids else None].append(unit)
    lines: list[str] = []
    for root in _ordered(children[None]):
        lines.append(_label(root))
        lines.extend(_branch(root.id, children, ""))
    return "\n".join([*lines, "", _count_line(units)])


def _branch(parent_id: int, children: Mapping[int | None, list[Unit]], prefix: str) -> Iterator[str]:
    kids = _ordered(children.get(parent_id, []))
    for position, kid in enumerate(kids):
        last = position == len(kids) - 1
        yield f"{prefix}{'└── ' if last else '├── '}{_label(kid)}"
        yield from _branch(kid.id, children, prefix + ("    " if last else "│   "))


def _ordered(units: Iterable[Unit]) -> list[Unit]:
    return sorted(units, key=lambda unit: (RANK.get(unit.kind, len(RANK)), fold(unit.name), unit.code))


def _label(unit: Unit) -> str:
    return f"{unit.code}  {unit.name} ({unit.kind})"


def _count_line(units: Sequence[Unit]) -> str:
    counts = Counter(unit.kind for unit in units)
    kinds = [*KINDS, *sorted(set(counts) - set(KINDS))]
    parts = [f"{counts[kind]} {kind if counts[kind] == 1 else PLURALS.get(kind, kind)}" for kind in kinds]
    return f"{len(units)} units: {', '.join(parts)}"
