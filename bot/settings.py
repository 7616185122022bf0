"""Settings read from the environment and `.env`, validated once at start-up.

Every setting is documented in `.env.example`. A missing or invalid value is reported as one readable
paragraph (see `SettingsError`) so an operator never has to read a pydantic traceback, and the token
is a `SecretStr` so it cannot end up in a log line or an error message by accident.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/bot.db"
TOKEN_PATTERN = r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$"
# Telegram allows 1-256 of these characters in a webhook secret; we ask for 16 or more.
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
OFFICIAL_API = "https://api.telegram.org"


def parse_listen(value: str) -> tuple[str, int]:
    """`host:port` (`[::1]:8080` for IPv6) → (host, port); ValueError with a readable reason otherwise."""
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"must be host:port, e.g. 127.0.0.1:8080 (got {value!r})")
    return host, int(port)


def masked_url(url: str) -> str:
    """`scheme://user:***@host:port/db`: a connection URL fit for an error message or a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{(parts.username or '')}:***@{netloc[2]}").geturl()


def url_password(url: str) -> str | None:
    """The password in a connection URL, so the log filter can redact it wherever it shows up."""
    try:
        return urlsplit(url).password or None
    except ValueError:
        return None


class Settings(BaseSettings):
    """The bot's configuration; field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_url: str = "https://api.telegram.org"
    default_locale: Literal["vi", "en"] = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    evidence_dir: Path | None = None
    max_evidence: int = Field(default=10, ge=1, le=50)
    reports_per_hour: int = Field(default=5, ge=1, le=1000)
    draft_ttl_hours: float = Field(default=24, gt=0)
    leak_threshold: int = Field(default=50, ge=1)
    polling_timeout: int = Field(default=25, ge=0, le=50)
    ack_critical_minutes: int = Field(default=15, ge=1)
    ack_high_minutes: int = Field(default=120, ge=1)
    ack_medium_minutes: int = Field(default=1440, ge=1)
    ack_low_minutes: int = Field(default=4320, ge=1)
    flood_messages: int = Field(default=30, ge=1)
    flood_window_seconds: float = Field(default=20, gt=0)
    # Scale-out and operations (see "Deployment" in the README).
    redis_url: SecretStr | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1:8080"
    webhook_path: str = "/telegram"
    http_listen: str | None = None
    log_format: Literal["text", "json"] = "text"
    fsm_storage: Literal["database", "redis"] = "database"
    inbox_ttl_hours: float = Field(default=48, ge=24)
    inbox_lease_seconds: float = Field(default=60, ge=2, le=3600)
    outbox_lease_seconds: float = Field(default=120, ge=2, le=3600)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept `ADMIN_IDS=1,2,3` (commas or spaces), the form an operator naturally writes."""
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the plain URLs operators copy from elsewhere and pick the async driver for them."""
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
        if value.startswith(("postgresql://", "postgres://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be an sqlite:/// or postgresql:// URL")
        return value

    @field_validator("redis_url", "webhook_url", "webhook_secret", "http_listen", "evidence_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`WEBHOOK_URL=` in .env (as .env.example ships it) means "not set", not an empty URL."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL, e.g. redis://127.0.0.1:6379/0")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be the public https:// URL Telegram posts updates to, "
                             "e.g. https://bot.example.edu.vn/telegram")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET_PATTERN.match(value.get_secret_value()):
            raise ValueError("must be 16 to 256 characters among A-Z, a-z, 0-9, '_' and '-' "
                             "(generate one with: openssl rand -hex 32)")
        return value

    @field_validator("webhook_listen", "http_listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen(value)
        return value

    @field_validator("webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or any(c in value for c in " ?#"):
            raise ValueError("must be a URL path starting with '/', e.g. /telegram")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url is None:
            return self
        if self.webhook_secret is None:
            raise ValueError(
                "WEBHOOK_SECRET is required when WEBHOOK_URL is set: Telegram sends it with every update so "
                "the bot can refuse anyone else (generate one with: openssl rand -hex 32)"
            )
        if self.webhook_url.startswith("http://") and self.telegram_api_url == OFFICIAL_API:
            raise ValueError(
                "WEBHOOK_URL must start with https:// (Telegram only delivers to HTTPS; put the bot behind a "
                "reverse proxy with TLS). http:// is accepted only with a local Bot API server (TELEGRAM_API_URL)"
            )
        return self

    @property
    def webhook_mode(self) -> bool:
        return self.webhook_url is not None

    def redis(self) -> str | None:
        return self.redis_url.get_secret_value() if self.redis_url is not None else None

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def secrets(self) -> list[str]:
        """Every secret value in the settings: the log filter replaces them all with ***."""
        values = [self.bot_token.get_secret_value() if self.bot_token else None,
                  self.webhook_secret.get_secret_value() if self.webhook_secret else None,
                  url_password(self.redis() or ""), url_password(self.database_url)]
        return [v for v in values if v and len(v) >= 4]

    def token(self) -> str:
        """The bot token, or `SettingsError` naming BOT_TOKEN when it is missing or malformed."""
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise SettingsError(
                "BOT_TOKEN is not set. Create a bot with @BotFather, then put its token in the environment "
                "or in a .env file next to the README (BOT_TOKEN=123456:ABC...). See .env.example."
            )
        value = self.bot_token.get_secret_value().strip()
        if not re.match(TOKEN_PATTERN, value):
            raise SettingsError(
                "BOT_TOKEN does not look like a Telegram bot token (digits, a colon, then 20+ letters, "
                "digits, '_' or '-'). Copy it again from @BotFather."
            )
        return value


class SettingsError(Exception):
    """A configuration problem explained for an operator; the CLI prints it and exits with code 2."""


def load_settings(**overrides: object) -> Settings:
    """Build `Settings`, turning pydantic's validation report into one readable `SettingsError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{str(error['loc'][0]).upper()}: {message}" if error["loc"] else message)
        raise SettingsError(
            "The bot's settings are invalid: " + "; ".join(problems) + ". Fix them in the environment or in "
            ".env (every setting is described in .env.example)."
        ) from None
