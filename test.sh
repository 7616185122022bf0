#!/usr/bin/env bash
# Run the linters and the whole test suite: sets up .venv on first use. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
. scripts/venv.sh test
"$VENV/bin/ruff" check .
exec "$VENV/bin/python" -m pytest "$@"
