"""No log line ever contains the bot token, even in URLs and tracebacks."""

from __future__ import annotations

import logging

from bot.logs import RedactingFilter, setup_logging

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ_12345"


def test_token_redacted_in_messages_args_and_tracebacks(capsys) -> None:  # type: ignore[no-untyped-def]
    setup_logging("DEBUG", [TOKEN, "webhook-secret-value"])
    log = logging.getLogger("test")
    log.info("GET https://api.telegram.org/bot%s/getMe", TOKEN)
    log.warning("secret is webhook-secret-value")
    try:
        raise RuntimeError(f"failed https://api.telegram.org/bot{TOKEN}/sendMessage")
    except RuntimeError:
        log.exception("boom")
    err = capsys.readouterr().err
    assert TOKEN not in err and "ABCdefGHI" not in err and "webhook-secret-value" not in err
    assert "bot***" in err and "RuntimeError" in err
    setup_logging("INFO")


def test_unknown_token_shape_is_redacted_too() -> None:
    other = "987654321:" + "Z" * 35
    assert other not in RedactingFilter().redact(f"url /bot{other}/getUpdates")
