"""Logging set-up that never writes a bot token or webhook secret.

The Bot API URL embeds the token (`/bot<id>:<secret>/method`) and HTTP client debug logs print URLs,
so every record is passed through a redacting filter, and the chattiest client loggers are kept at
WARNING regardless of LOG_LEVEL.

`LOG_FORMAT=json` writes one JSON object per line (time, level, logger, message and any `extra=` fields)
for log collectors; the same filter runs first, so the JSON carries the redacted text only.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

TOKEN_RE = re.compile(r"(?:bot)?\d{3,20}:[A-Za-z0-9_-]{20,100}")
QUIET_LOGGERS = (
    "alembic.runtime.plugins", "aiohttp.access", "aiohttp.client", "httpx", "httpcore", "asyncio", "aiosqlite",
)


class RedactingFilter(logging.Filter):
    """Replaces tokens and configured secrets in the fully formatted message of each record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return TOKEN_RE.sub("bot***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks are formatted later by the handler; pre-render and redact them here.
            formatter = logging.Formatter()
            clean += "\n" + self.redact(formatter.formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        if clean != message or record.args:
            record.msg, record.args = clean, None
        for name, value in _extras(record).items():
            if isinstance(value, str):
                setattr(record, name, self.redact(value))
        return True


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, then the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[1] is not None:  # only when no RedactingFilter ran
            entry["exception"] = self.formatException(record.exc_info)
        for name, value in _extras(record).items():
            entry.setdefault(name, value)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO", secrets: Iterable[str] = (), fmt: str = "text") -> None:
    """Configure the root logger once; safe to call again (it replaces the previous handler)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
