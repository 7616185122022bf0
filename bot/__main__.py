import signal
import sys


def _stop_before_start(signum: int, frame: object) -> None:
    """SIGTERM/SIGINT while still importing: nothing is running yet, so stopping now is a clean stop."""
    raise SystemExit(0)


# Installed before the heavy imports; `run` replaces it with the event loop's own handlers.
signal.signal(signal.SIGTERM, _stop_before_start)
signal.signal(signal.SIGINT, _stop_before_start)

from bot.cli import main  # noqa: E402

sys.exit(main())
