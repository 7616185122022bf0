"""``reply_markup`` validation and button helpers.

Telegram validates keyboards when the message is sent, not when the button is
pressed: a 65-byte ``callback_data`` (easy to hit with Vietnamese text, where
"ả" is 3 bytes in UTF-8) fails the whole ``sendMessage`` with
``BUTTON_DATA_INVALID``. The fake enforces the same rules so such bugs show up
in tests, and keeps a normalised copy of the markup so simulated users can
press the buttons later.
"""

from __future__ import annotations

from typing import Any

from .errors import bad_request

MAX_CALLBACK_DATA_BYTES = 64

_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

_URL_SCHEMES = ("http://", "https://", "tg://", "ton://")


def validate_reply_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate a decoded ``reply_markup`` and return a normalised copy.

    Reply-keyboard buttons given as bare strings are normalised to
    ``{"text": ...}``. ``inline_only`` is used by the edit methods, which only
    accept inline keyboards.
    """
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return {"inline_keyboard": _validate_inline_keyboard(markup["inline_keyboard"])}
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in markup:
        normalised = dict(markup)
        normalised["keyboard"] = _validate_reply_keyboard(markup["keyboard"])
        return normalised
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return dict(markup)
    raise bad_request("can't parse reply keyboard markup JSON object")


def _rows(value: Any, what: str) -> list[list[Any]]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise bad_request(f'field "{what}" must be an Array of Array')
    return value


def _validate_inline_keyboard(value: Any) -> list[list[dict[str, Any]]]:
    rows: list[list[dict[str, Any]]] = []
    for row in _rows(value, "inline_keyboard"):
        checked: list[dict[str, Any]] = []
        for button in row:
            if not isinstance(button, dict):
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise bad_request("BUTTON_TEXT_INVALID")
            actions = [key for key in _INLINE_ACTIONS if key in button]
            if not actions:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not url.startswith(_URL_SCHEMES):
                    raise bad_request("BUTTON_URL_INVALID")
            checked.append(dict(button))
        rows.append(checked)
    return rows


def _validate_reply_keyboard(value: Any) -> list[list[dict[str, Any]]]:
    rows: list[list[dict[str, Any]]] = []
    for row in _rows(value, "keyboard"):
        checked: list[dict[str, Any]] = []
        for button in row:
            if isinstance(button, str):
                button = {"text": button}
            if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
                raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
            checked.append(dict(button))
        rows.append(checked)
    return rows


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """All inline buttons of a markup, row by row, or ``[]``."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [button for row in markup["inline_keyboard"] for button in row]


def keyboard_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """All reply-keyboard buttons of a markup, row by row, or ``[]``."""
    if not markup or "keyboard" not in markup:
        return []
    return [button for row in markup["keyboard"] for button in row]


def find_button(buttons: list[dict[str, Any]], label: str, *, where: str) -> dict[str, Any]:
    """Find a button by exact text, else by a unique substring.

    Raises :class:`AssertionError` (a test failure, not an API error) listing
    the available buttons, because a missing button is a bug in the bot or
    the test.
    """
    exact = [button for button in buttons if button["text"] == label]
    if len(exact) == 1:
        return exact[0]
    candidates = exact or [button for button in buttons if label in button["text"]]
    available = [button["text"] for button in buttons]
    if not candidates:
        raise AssertionError(f"no button matching {label!r} on {where}; buttons: {available}")
    if len(candidates) > 1:
        raise AssertionError(
            f"button label {label!r} is ambiguous on {where}: {[b['text'] for b in candidates]}"
        )
    return candidates[0]
