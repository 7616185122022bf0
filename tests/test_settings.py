"""Settings: defaults, parsing, and the operator-facing error for bad values."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.settings import DEFAULT_DATABASE_URL, Settings, SettingsError, load_settings

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ_12345"


def test_defaults_need_nothing_but_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.default_locale == "vi" and settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.token() == TOKEN


def test_admin_ids_and_plain_database_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "111, 222 333")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h:5432/db")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.admin_ids == [111, 222, 333]
    assert settings.database_url == "postgresql+asyncpg://u@h:5432/db"


@pytest.mark.parametrize(("name", "value"), [("TIMEZONE", "Mars/Olympus"), ("DEFAULT_LOCALE", "fr"),
                                              ("ADMIN_IDS", "12,abc"), ("DATABASE_URL", "mysql://x")])
def test_invalid_values_are_one_clear_paragraph(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    assert name in str(info.value) and ".env.example" in str(info.value)


@pytest.mark.parametrize("token", ["", "not-a-token", "123:short"])
def test_missing_or_malformed_token(token: str) -> None:
    settings = Settings(_env_file=None, bot_token=token or None)  # type: ignore[call-arg]
    with pytest.raises(SettingsError, match="BOT_TOKEN"):
        settings.token()


def test_run_without_token_exits_2_with_a_clear_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BOT_TOKEN": ""}
    result = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env | _pythonpath(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "BOT_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_token_never_printed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = "123456:" + "S" * 10  # malformed on purpose: too short
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BOT_TOKEN": secret}
    result = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env | _pythonpath(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert secret not in result.stderr + result.stdout


def test_help_lists_the_commands() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("run", "migrate", "directory", "invite", "link"):
        assert command in result.stdout


def _pythonpath() -> dict[str, str]:
    from pathlib import Path

    return {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
