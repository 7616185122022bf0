"""Bot API error answers, worded the way Telegram words them.

Handlers raise :class:`ApiError`; the HTTP layer renders it as
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``.
Keeping the exact wording matters: production code (and aiogram) often
branches on the description text, e.g. to ignore "message is not modified".
"""

from __future__ import annotations

from typing import Any

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
"""Telegram's description (without the ``Bad Request:`` prefix) for a no-op edit."""

SERVER_ERROR_DESCRIPTIONS: dict[int, str] = {
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """An unsuccessful Bot API answer.

    ``parameters`` mirrors Telegram's ``ResponseParameters`` (``retry_after``,
    ``migrate_to_chat_id``) and is omitted from the JSON when empty.
    """

    def __init__(self, error_code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = dict(parameters or {})

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = dict(self.parameters)
        return body


def bad_request(detail: str) -> ApiError:
    """400 ``Bad Request: <detail>``."""
    return ApiError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> ApiError:
    """403 ``Forbidden: <detail>``."""
    return ApiError(403, f"Forbidden: {detail}")


def too_many_requests(retry_after: int) -> ApiError:
    """429 flood-wait answer; ``retry_after`` is whole seconds, at least 1, as on Telegram."""
    retry_after = max(1, int(retry_after))
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def server_error(status: int, description: str | None = None) -> ApiError:
    """A 5xx answer (Telegram's edge does answer these); the body is JSON so clients can parse it."""
    return ApiError(status, description or SERVER_ERROR_DESCRIPTIONS.get(status, "Internal Server Error"))


def not_found() -> ApiError:
    """404 for unknown methods and file paths."""
    return ApiError(404, "Not Found")


def unauthorized() -> ApiError:
    """401 for a wrong bot token."""
    return ApiError(401, "Unauthorized")


def conflict(detail: str) -> ApiError:
    """409 ``Conflict: <detail>`` (webhook vs getUpdates, or two pollers)."""
    return ApiError(409, f"Conflict: {detail}")


def chat_not_found() -> ApiError:
    return bad_request("chat not found")


def parse_entities_error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")
