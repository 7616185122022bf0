"""Every message exists in vi (the reference) and en with the same variables, and parses cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from fluent.syntax import FluentParser, ast, visitor

LOCALES = Path(__file__).resolve().parent.parent / "locales"


class _Variables(visitor.Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_VariableReference(self, node: ast.VariableReference) -> None:
        self.names.add(node.id.name)


def _messages(locale: str) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """id → (variables, attribute names) over every .ftl file of a locale; fails on any syntax error."""
    found: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for path in sorted((LOCALES / locale).glob("*.ftl")):
        resource = FluentParser().parse(path.read_text(encoding="utf-8"))
        junk = [entry for entry in resource.body if isinstance(entry, ast.Junk)]
        assert not junk, f"{path}: syntax error near {junk[0].content[:80]!r}"
        for entry in resource.body:
            if isinstance(entry, ast.Message):
                assert entry.id.name not in found, f"{path}: duplicate id {entry.id.name}"
                collector = _Variables()
                collector.visit(entry)
                found[entry.id.name] = (frozenset(collector.names), frozenset(a.id.name for a in entry.attributes))
    return found


def test_same_files_in_both_locales() -> None:
    assert {p.name for p in (LOCALES / "vi").glob("*.ftl")} == {p.name for p in (LOCALES / "en").glob("*.ftl")}


def test_same_ids_and_variables() -> None:
    vi, en = _messages("vi"), _messages("en")
    assert sorted(set(vi) - set(en)) == [], "missing in en"
    assert sorted(set(en) - set(vi)) == [], "missing in vi"
    mismatched = {key: (vi[key], en[key]) for key in vi if vi[key] != en[key]}
    assert mismatched == {}


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_every_message_formats_without_errors(locale: str, catalog) -> None:  # type: ignore[no-untyped-def]
    bundle = catalog.bundles[locale]
    for key, (variables, _) in _messages(locale).items():
        message = bundle.get_message(key)
        if message.value is None:
            continue
        text, errors = bundle.format_pattern(message.value, {name: "x" for name in variables})
        assert not errors and text.strip(), key
