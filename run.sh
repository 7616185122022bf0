#!/usr/bin/env bash
# Run the bot: sets up .venv on first use, applies migrations, then long-polls Telegram.
# Needs BOT_TOKEN (in the environment or in .env); everything else has a default (SQLite under ./data).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/venv.sh test
exec "$VENV/bin/python" -m bot run "$@"
