"""`python -m bot …`: run the bot, migrate, manage the directory, invites and links.

Every command loads the settings first, so a missing or bad setting is one clear paragraph and
exit code 2, never a traceback; the token never appears in anything printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.logs import setup_logging
from bot.settings import Settings, SettingsError, load_settings

EXIT_USAGE, EXIT_FAILED = 2, 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="School cyber-incident reporting bot.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="apply migrations, then serve updates (long polling)")
    commands.add_parser("migrate", help="apply database migrations")

    directory = commands.add_parser("directory", help="the directory of provinces, districts and schools")
    dir_cmds = directory.add_subparsers(dest="directory_command", required=True, metavar="ACTION")
    dir_import = dir_cmds.add_parser("import", help="import units from a CSV or XLSX file")
    dir_import.add_argument("file", type=Path, help="columns: code,name,kind,parent_code")
    dir_cmds.add_parser("list", help="print the directory as a tree")

    invite = commands.add_parser("invite", help="create a responder invite link")
    invite.add_argument("--unit", required=True, help="unit code, e.g. THCS-NS")
    invite.add_argument("--role", required=True, choices=("leader", "police", "officer", "admin"))
    invite.add_argument("--uses", type=int, default=1, help="how many people may use it (default 1)")
    invite.add_argument("--expires-days", type=float, default=7, help="validity in days (default 7)")

    link = commands.add_parser("link", help="print the reporters' deep link of a school")
    link.add_argument("--unit", required=True, help="school code")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings.log_level, _secrets(settings))
        return asyncio.run(_dispatch(args, settings))
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _secrets(settings: Settings) -> list[str]:
    return [settings.bot_token.get_secret_value()] if settings.bot_token else []


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    handlers: dict[str, Callable[[argparse.Namespace, Settings], Awaitable[int]]] = {
        "run": _run, "migrate": _migrate, "directory": _directory, "invite": _invite, "link": _link,
    }
    return await handlers[args.command](args, settings)


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run

    settings.token()  # fail fast, before touching the database
    await run(settings)
    return 0


async def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import upgrade_async

    await upgrade_async(settings.database_url)
    print("Database is up to date.")
    return 0


async def _directory(args: argparse.Namespace, settings: Settings) -> int:
    from bot import directory
    from storage.db import Database
    from storage.migrate import upgrade_async

    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        if args.directory_command == "list":
            print(await directory.directory_tree(db))
            return 0
        if not args.file.is_file():
            print(f"No such file: {args.file}", file=sys.stderr)
            return EXIT_FAILED
        report = await directory.import_directory(db, args.file)
    finally:
        await db.dispose()
    if report.errors:
        print(f"{args.file}: {len(report.errors)} problem(s); nothing was imported.", file=sys.stderr)
        for error in report.errors:
            print(f"  {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Imported {args.file}: {report.created} created, {report.updated} updated, "
          f"{report.unchanged} unchanged.")
    return 0


async def _bot_username(settings: Settings) -> str:
    from bot.app import make_bot

    bot = make_bot(settings)
    try:
        me = await bot.get_me()
    finally:
        await bot.session.close()
    return me.username or ""


async def _invite(args: argparse.Namespace, settings: Settings) -> int:
    from bot import deeplinks, invites
    from storage.db import Database
    from storage.migrate import upgrade_async

    settings.token()
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            invite, unit = await invites.create(session, args.unit, args.role, uses=args.uses,
                                                expires_days=args.expires_days)
    except invites.InviteError as exc:
        print(f"Cannot create the invite: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await db.dispose()
    username = await _bot_username(settings)
    print(f"Invite for {args.role} of {unit.code} ({unit.name}), {args.uses} use(s), "
          f"valid {args.expires_days:g} day(s):")
    print(deeplinks.invite_link(username, invite.token))
    return 0


async def _link(args: argparse.Namespace, settings: Settings) -> int:
    from bot import deeplinks
    from storage import units
    from storage.db import Database
    from storage.migrate import upgrade_async

    settings.token()
    await upgrade_async(settings.database_url)
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            unit = await units.by_code(session, args.unit)
    finally:
        await db.dispose()
    if unit is None or unit.kind != units.SCHOOL:
        print(f"No school with code {args.unit!r}; see `python -m bot directory list`.", file=sys.stderr)
        return EXIT_FAILED
    print(f"Reporters' link for {unit.code} ({unit.name}):")
    print(deeplinks.school_link(await _bot_username(settings), unit.public_token))
    return 0
