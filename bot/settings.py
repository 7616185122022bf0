"""Settings read from the environment and `.env`, validated once at start-up.

Every setting is documented in `.env.example`. A missing or invalid value is reported as one readable
paragraph (see `SettingsError`) so an operator never has to read a pydantic traceback, and the token
is a `SecretStr` so it cannot end up in a log line or an error message by accident.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/bot.db"
TOKEN_PATTERN = r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$"


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

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def token(self) -> str:
        """The bot token, or `SettingsError` naming BOT_TOKEN when it is missing or malformed."""
        import re

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
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            problems.append(f"{name}: {error['msg']}")
        raise SettingsError(
            "The bot's settings are invalid: " + "; ".join(problems) + ". Fix them in the environment or in "
            ".env (every setting is described in .env.example)."
        ) from None
