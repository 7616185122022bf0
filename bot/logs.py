"""Logging set-up that never writes a bot token or webhook secret.

The Bot API URL embeds the token (`/bot<id>:<secret>/method`) and HTTP client debug logs print URLs,
so every record is passed through a redacting filter, and the chattiest client loggers are kept at
WARNING regardless of LOG_LEVEL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

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
        return True


def setup_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once; safe to call again (it replaces the previous handler)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
