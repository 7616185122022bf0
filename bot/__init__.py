"""School cyber-incident reporting bot: application, settings, CLI and domain services."""

__version__ = "0.1.0"
