"""Telegram's ``parse_mode=HTML`` parser, re-implemented after tdlib's ``parse_html``.

Why a hand-written parser instead of :mod:`html.parser`: Telegram's dialect is
not HTML. It knows a dozen tags, only four named character references, rejects
unknown tags instead of ignoring them, and reports errors with UTF-8 *byte*
offsets. The fake must reject exactly the markup Telegram rejects, otherwise
an unescaped user name like ``"<Lan>"`` passes every test and fails in
production.

The error texts follow tdlib (``Unsupported start tag "p" at byte offset 12``,
``Can't find end tag corresponding to start tag "b"``, ...). One deliberate
deviation: tdlib keeps a lone ``&`` that does not start a character reference
as a literal, while the Bot API documentation says every ``&`` must be
escaped. With ``strict_ampersand=True`` (the default used by the fake) a raw
``&`` is an error, so code that forgets :func:`html.escape` on user input is
caught even when the input happens to contain only ``&``.
"""

from __future__ import annotations

import html as _stdlib_html
from dataclasses import dataclass, field
from typing import Any

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)

_ENTITY_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}

_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

# tdlib's is_space(): the characters that end a tag name or separate attributes.
_SPACES = frozenset(" \t\r\n\0\v\f")


class EntityParseError(ValueError):
    """Markup Telegram would reject; ``str(error)`` is the text after ``can't parse entities:``."""


@dataclass(frozen=True)
class FormattedText:
    """Text as Telegram stores it: plain characters plus ``MessageEntity`` dicts.

    Entity offsets and lengths are in UTF-16 code units, like the Bot API.
    """

    text: str
    entities: tuple[dict[str, Any], ...] = field(default_factory=tuple)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what Telegram uses for entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """Escape text for ``parse_mode=HTML`` (``<``, ``>``, ``&`` and ``"``)."""
    return _stdlib_html.escape(text, quote=True)


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_reference(source: str, start: int) -> tuple[str, int] | None:
    """Decode the character reference at ``source[start] == '&'``.

    Returns ``(character, end_index)`` or ``None`` when there is no valid
    reference. Like tdlib, the trailing ``;`` is optional.
    """
    n = len(source)
    i = start + 1
    if i < n and source[i] == "#":
        i += 1
        base = 10
        if i < n and source[i] in "xX":
            base = 16
            i += 1
        digits_start = i
        allowed = "0123456789abcdefABCDEF" if base == 16 else "0123456789"
        while i < n and source[i] in allowed:
            i += 1
        if i == digits_start:
            return None
        code = int(source[digits_start:i], base)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        name_start = i
        while i < n and source[i].isascii() and source[i].isalpha():
            i += 1
        char_or_none = _NAMED_REFERENCES.get(source[name_start:i])
        if char_or_none is None:
            return None
        char = char_or_none
    if i < n and source[i] == ";":
        i += 1
    return char, i


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_start: int


def parse_html(source: str, *, strict_ampersand: bool = True) -> FormattedText:
    """Parse Telegram HTML into plain text and entities.

    Raises :class:`EntityParseError` with tdlib-like wording on invalid markup.
    Leading/trailing whitespace is *not* trimmed here; see :func:`trim`.
    """
    out: list[str] = []
    utf16_pos = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    n = len(source)
    i = 0

    def emit(chunk: str) -> None:
        nonlocal utf16_pos
        out.append(chunk)
        utf16_pos += utf16_len(chunk)

    while i < n:
        ch = source[i]
        if ch == "&":
            decoded = _decode_reference(source, i)
            if decoded is not None:
                emit(decoded[0])
                i = decoded[1]
                continue
            if strict_ampersand:
                raise EntityParseError(
                    f"Character '&' is reserved and must be escaped as \"&amp;\" "
                    f"at byte offset {_byte_offset(source, i)}"
                )
            emit(ch)
            i += 1
            continue
        if ch != "<":  # a bare '>' is plain text, as in tdlib; only '<' and '&' are special
            emit(ch)
            i += 1
            continue

        begin_bytes = _byte_offset(source, i)
        if i + 1 < n and source[i + 1] == "/":
            i = _close_tag(source, i, begin_bytes, stack, entities, utf16_pos)
            continue
        i = _open_tag(source, i, begin_bytes, stack, utf16_pos)

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return FormattedText("".join(out), tuple(entities))


def _open_tag(source: str, i: int, begin_bytes: int, stack: list[_OpenTag], utf16_pos: int) -> int:
    """Parse ``<tag attr=...>`` starting at ``source[i] == '<'``; return the index after ``>``."""
    n = len(source)
    begin = i
    i += 1
    while i < n and source[i] not in _SPACES and source[i] != ">":
        i += 1
    if i >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {begin_bytes}")
    tag = source[begin + 1 : i].lower()
    if tag not in SUPPORTED_TAGS:
        raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin_bytes}')

    argument = ""
    while True:
        while i < n and source[i] in _SPACES:
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin_bytes}")
        if source[i] == ">":
            break
        attr_start = i
        while i < n and source[i] not in _SPACES and source[i] not in "=>":
            i += 1
        attr_name = source[attr_start:i].lower()
        if not attr_name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(source, attr_start)}'
            )
        while i < n and source[i] in _SPACES:
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {begin_bytes}")
        value = ""
        if source[i] == "=":
            i += 1
            while i < n and source[i] in _SPACES:
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin_bytes}")
            if source[i] in "'\"":
                quote = source[i]
                i += 1
                chars: list[str] = []
                while i < n and source[i] != quote:
                    if source[i] == "&":
                        decoded = _decode_reference(source, i)
                        if decoded is not None:
                            chars.append(decoded[0])
                            i = decoded[1]
                            continue
                    chars.append(source[i])
                    i += 1
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {begin_bytes}")
                i += 1
                value = "".join(chars)
            else:
                value_start = i
                while i < n and (source[i].isalnum() or source[i] in ".-"):
                    i += 1
                value = source[value_start:i]
        elif attr_name != "expandable":
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {_byte_offset(source, attr_start)}"
            )
        argument = _tag_argument(tag, attr_name, value, argument)

    if tag == "span" and argument != "spoiler":
        raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin_bytes}')
    stack.append(_OpenTag(tag, argument, utf16_pos))
    return i + 1


def _tag_argument(tag: str, attr: str, value: str, current: str) -> str:
    """The one attribute per tag Telegram cares about; everything else is ignored."""
    if tag == "a" and attr == "href":
        return value
    if tag == "code" and attr == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and attr == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and attr == "emoji-id":
        return value
    if tag == "blockquote" and attr == "expandable":
        return "expandable"
    return current


def _close_tag(
    source: str,
    i: int,
    begin_bytes: int,
    stack: list[_OpenTag],
    entities: list[dict[str, Any]],
    utf16_pos: int,
) -> int:
    """Parse ``</tag>`` starting at ``source[i] == '<'``; return the index after ``>``."""
    n = len(source)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {begin_bytes}")
    i += 2
    name_start = i
    while i < n and source[i] not in _SPACES and source[i] != ">":
        i += 1
    end_name = source[name_start:i].lower()
    while i < n and source[i] in _SPACES:
        i += 1
    if i >= n or source[i] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {begin_bytes}")
    opened = stack.pop()
    if end_name and end_name != opened.name:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {begin_bytes}, expected "</{opened.name}>", '
            f'found "</{end_name}>"'
        )
    length = utf16_pos - opened.utf16_start
    parent = stack[-1] if stack else None
    if opened.name == "code" and parent is not None and parent.name == "pre":
        # <pre><code class="language-x">...</code></pre> is one pre entity with a language.
        if opened.argument:
            parent.argument = opened.argument
    elif length > 0:
        entity = _make_entity(opened, length)
        if entity is not None:
            entities.append(entity)
    return i + 1


def _make_entity(tag: _OpenTag, length: int) -> dict[str, Any] | None:
    entity: dict[str, Any] = {"offset": tag.utf16_start, "length": length}
    if tag.name == "a":
        if not tag.argument:
            return None
        entity.update(type="text_link", url=tag.argument)
    elif tag.name == "blockquote":
        entity["type"] = "expandable_blockquote" if tag.argument == "expandable" else "blockquote"
    elif tag.name == "tg-emoji":
        if not tag.argument:
            return None
        entity.update(type="custom_emoji", custom_emoji_id=tag.argument)
    elif tag.name == "pre":
        entity["type"] = "pre"
        if tag.argument:
            entity["language"] = tag.argument
    else:
        entity["type"] = _ENTITY_TYPES[tag.name]
    return entity


_TRIMMED = " \t\r\n\v\f\0"


def trim(formatted: FormattedText) -> FormattedText:
    """Strip leading/trailing whitespace and shift entities, as Telegram does before storing text."""
    text = formatted.text
    left = len(text) - len(text.lstrip(_TRIMMED))
    stripped = text.strip(_TRIMMED)
    if left == 0 and len(stripped) == len(text):
        return formatted
    shift = utf16_len(text[:left])
    total = utf16_len(stripped)
    entities: list[dict[str, Any]] = []
    for entity in formatted.entities:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return FormattedText(stripped, tuple(entities))
