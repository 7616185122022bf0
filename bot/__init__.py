"""School cyber-incident reporting bot: application, settings, CLI and domain services."""

from bot import aiogram_loading

__version__ = "0.1.0"

aiogram_loading.install()
