"""Fluent translations, independent of any chat channel.

`locales/vi` is the reference; `locales/en` must carry the same ids and variables (a test checks).
Messages are HTML (the bot's parse mode), so `Translator.t` escapes every string argument: user text
can never inject markup or break a message. Pass `Html(...)` for an argument that is already safe
markup, and use `Translator.plain` for button labels, which Telegram does not parse.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fluent.runtime import FluentBundle, FluentResource

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED = ("vi", "en")
REFERENCE = "vi"
T = TypeVar("T")


class Html(str):
    """A string that is already safe HTML and must not be escaped again."""


@dataclass(frozen=True)
class Catalog:
    """All locales' bundles, loaded once at start-up."""

    bundles: Mapping[str, FluentBundle]
    default: str = REFERENCE
    _static: dict[tuple[str | None, str, bool], str] = field(default_factory=dict, compare=False, repr=False)
    """Messages without variables, formatted once: labels and prompts are most of what an update says, and
    Fluent resolves a pattern anew at every call."""
    _made: dict[tuple[str, Hashable], Any] = field(default_factory=dict, compare=False, repr=False)

    def has(self, key: str, locale: str | None = None) -> bool:
        return self.bundles[self._pick(locale)].has_message(key)

    def _pick(self, locale: str | None) -> str:
        return locale if locale in self.bundles else self.default

    def format(self, locale: str | None, key: str, args: Mapping[str, object], *, escape: bool) -> str:
        """Format `key` in `locale`, falling back to the reference locale, then to the key itself."""
        if not args:
            static = self._static.get((locale, key, escape))
            if static is None:
                static = self._static[(locale, key, escape)] = self._format(locale, key, args, escape=escape)
            return static
        return self._format(locale, key, args, escape=escape)

    def _format(self, locale: str | None, key: str, args: Mapping[str, object], *, escape: bool) -> str:
        safe_args = {name: _prepare(value, escape) for name, value in args.items()}
        for code in dict.fromkeys((self._pick(locale), REFERENCE)):
            bundle = self.bundles.get(code)
            if bundle is None or not bundle.has_message(key):
                continue
            message = bundle.get_message(key)
            if message.value is None:
                continue
            text, errors = bundle.format_pattern(message.value, safe_args)
            for error in errors:
                log.warning("fluent error in %s/%s: %s", code, key, error)
            return text
        log.error("missing translation %s", key)
        return key

    def translator(self, locale: str | None) -> Translator:
        return Translator(self, self._pick(locale))


def _prepare(value: object, escape: bool) -> object:
    """Escape user strings for HTML; keep numbers as strings so Fluent does not group digits."""
    if isinstance(value, Html):
        return str(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return html.escape(value, quote=False) if escape else value
    return value


@dataclass(frozen=True)
class Translator:
    """A catalog bound to one user's locale; handlers and services receive this."""

    catalog: Catalog
    locale: str

    def t(self, key: str, /, **args: object) -> str:
        """HTML-safe text for a message body."""
        return self.catalog.format(self.locale, key, args, escape=True)

    def plain(self, key: str, /, **args: object) -> str:
        """Unescaped text for places Telegram does not parse as HTML (buttons, alerts, topic titles)."""
        return self.catalog.format(self.locale, key, args, escape=False)

    def labels(self, key: str, /) -> list[str]:
        """The label of `key` in every locale, for matching what a user typed instead of pressing."""
        return [self.catalog.format(code, key, {}, escape=False) for code in self.catalog.bundles]

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """What `build` makes of this locale's texts (a keyboard of fixed labels), made once and shared by
        every later caller, who must not change it. `key` names it and whatever else it depends on."""
        made = self.catalog._made
        try:
            return made[(self.locale, key)]  # type: ignore[no-any-return]
        except KeyError:
            value = made[(self.locale, key)] = build()
            return value


def per_locale(build: Callable[[Translator], T]) -> Callable[[Translator], T]:
    """`build(i18n)` made once per locale (see `Translator.memo`)."""
    @functools.wraps(build)
    def shared(i18n: Translator) -> T:
        return i18n.memo(build, lambda: build(i18n))
    return shared


def load_catalog(directory: Path = LOCALES_DIR, default: str = REFERENCE) -> Catalog:
    """Read every `*.ftl` file of each supported locale into one bundle per locale."""
    bundles: dict[str, FluentBundle] = {}
    for code in SUPPORTED:
        bundle = FluentBundle([code], use_isolating=False)
        for path in sorted((directory / code).glob("*.ftl")):
            errors = bundle.add_resource(FluentResource(path.read_text(encoding="utf-8")))
            for error in errors or ():
                log.error("fluent syntax error in %s: %s", path, error)
        bundles[code] = bundle
    return Catalog(bundles, default)
