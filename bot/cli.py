"""`python -m bot …`: run the bot, migrate, manage the directory, invites and links.

Every command loads the settings first, so a missing or bad setting is one clear paragraph and
exit code 2, never a traceback; the token never appears in anything printed. A service the bot needs
that cannot be reached at start-up (the database, Redis) is one line naming the setting and exit code 3,
so a supervisor can tell "fix the configuration" (2) from "try again later" (3).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time
from pathlib import Path

from bot.health import ServiceUnavailable
from bot.logs import RedactingFilter, setup_logging
from bot.settings import Settings, SettingsError, load_settings

EXIT_USAGE, EXIT_FAILED, EXIT_UNAVAILABLE = 2, 1, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="School cyber-incident reporting bot.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="apply migrations, then serve updates (long polling, or a webhook "
                                    "when WEBHOOK_URL is set)")
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

    case_cmd = commands.add_parser("cases", help="work with cases")
    case_cmds = case_cmd.add_subparsers(dest="cases_command", required=True, metavar="ACTION")
    export = case_cmds.add_parser("export", help="export cases as JSON or CSV")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument("--unit", help="only this unit and the units below it")
    export.add_argument("--since", type=_date, help="only cases created on or after this date (YYYY-MM-DD)")
    export.add_argument("--output", type=Path, help="write to this file instead of standard output")
    export.add_argument("--include-reporter", action="store_true",
                        help="include the reporter's Telegram id and shared contact (personal data!)")

    sla = commands.add_parser("sla", help="acknowledgement deadlines")
    sla_cmds = sla.add_subparsers(dest="sla_command", required=True, metavar="ACTION")
    sweep = sla_cmds.add_parser("sweep", help="send the reminders and escalations due now (the bot does this itself)")
    sweep.add_argument("--now", type=datetime.fromisoformat, help="pretend it is this moment (ISO 8601, with zone)")

    inbox_cmd = commands.add_parser("inbox", help="updates whose handling failed repeatedly")
    inbox_cmds = inbox_cmd.add_subparsers(dest="inbox_command", required=True, metavar="ACTION")
    inbox_cmds.add_parser("list", help="list failed updates")
    replay = inbox_cmds.add_parser("replay", help="queue failed updates again (the running bot takes them)")
    replay.add_argument("update_ids", nargs="*", type=int, help="update ids (default: all failed)")
    return parser


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings: Settings | None = None
    try:
        settings = load_settings()
        setup_logging(settings.log_level, settings.secrets(), settings.log_format)
        return asyncio.run(_dispatch(args, settings))
    except SettingsError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ServiceUnavailable as exc:
        redact = RedactingFilter(settings.secrets() if settings else ()).redact
        print(f"Cannot start: {redact(str(exc))}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        return 130


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    handlers: dict[str, Callable[[argparse.Namespace, Settings], Awaitable[int]]] = {
        "run": _run, "migrate": _migrate, "directory": _directory, "invite": _invite, "link": _link,
        "cases": _cases, "inbox": _inbox, "sla": _sla,
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


async def _open_db(settings: Settings):  # type: ignore[no-untyped-def]
    from storage.db import Database
    from storage.migrate import upgrade_async

    await upgrade_async(settings.database_url)
    return Database(settings.database_url)


async def _cases(args: argparse.Namespace, settings: Settings) -> int:
    from bot import export

    db = await _open_db(settings)
    since = datetime.combine(args.since, time.min, tzinfo=settings.tz) if args.since else None
    try:
        records = await export.collect(db, unit_code=args.unit, since=since, tz=settings.tz,
                                       include_reporter=args.include_reporter)
    except export.ExportError as exc:
        print(f"Cannot export: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        await db.dispose()
    text = export.to_json(records) if args.format == "json" else export.to_csv(records)
    if args.output is None:
        sys.stdout.write(text + ("\n" if text and not text.endswith("\n") else ""))
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"Exported {len(records)} case(s) to {args.output}.", file=sys.stderr)
    return 0


async def _inbox(args: argparse.Namespace, settings: Settings) -> int:
    from storage import inbox

    db = await _open_db(settings)
    try:
        async with db.session() as session:
            if args.inbox_command == "list":
                rows = await inbox.failed(session)
                for row in rows:
                    print(f"{row.update_id}\t{row.attempts} attempt(s)\t{row.received_at:%Y-%m-%d %H:%M}\t"
                          f"{(row.last_error or '')[:120]}")
                print(f"{len(rows)} failed update(s).")
                return 0
            ids = args.update_ids or [row.update_id for row in await inbox.failed(session, limit=100_000)]
            count = await inbox.requeue(session, ids)
    finally:
        await db.dispose()
    print(f"Queued {count} update(s) again; a running bot handles them within a minute, else the next `run` "
          "does.")
    return 0


async def _sla(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import sweep_deadlines
    from bot.casework import Casework
    from bot.i18n import load_catalog
    from storage.models import utcnow

    now = args.now or utcnow()
    if now.tzinfo is None:
        now = now.replace(tzinfo=settings.tz)
    db = await _open_db(settings)
    try:
        casework = Casework(settings, load_catalog(default=settings.default_locale))
        reminded, escalated = await sweep_deadlines(db, casework, now)
    finally:
        await db.dispose()
    print(f"{reminded} reminder(s) and {escalated} escalation(s) queued; the running bot delivers them.")
    return 0
