"""The `casebook` command line: run, export, check-config."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

# bot.app and bot.scheduler (the chat libraries: a second of start-up) are imported by the
# commands that run chat, so `casebook evidence`, `export` and the rest start quickly.
from bot import evidence_cli, logs
from bot.adapters import slack_manifest
from bot.clock import SystemClock
from bot.config import Config, ConfigError, StorageConfig, demo_config, describe, load_config
from bot.events import Transport
from handlers import digest, export, privacy, stats
from storage.backup import backup_database
from storage.db import Database, DatabaseError, SchemaTooNewError
from storage.models import CaseTiming

log = logging.getLogger("casebook")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logs.configure("info" if getattr(args, "verbose", False) else "warning")
    try:
        code: int = args.action(args)
    except (ConfigError, DatabaseError, SchemaTooNewError) as error:
        print(f"casebook: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # The reader went away (`casebook … | head`): stop quietly, as command-line tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="configuration file (TOML)")
    common.add_argument("--db", type=Path, help="database file; overrides [storage] database")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")

    parser = argparse.ArgumentParser(
        prog="casebook",
        description="Log online abuse of school staff as cases and follow them up.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", parents=[common], help="run the bot (the terminal, with no config)"
    )
    run.set_defaults(action=_run)

    exporting = commands.add_parser("export", parents=[common], help="export cases")
    exporting.add_argument("--format", choices=("json", "csv"), default="json")
    exporting.add_argument(
        "--anonymised", action="store_true", help="no links, names or times of day"
    )
    exporting.add_argument("--since", type=_date, help="only cases created on or after YYYY-MM-DD")
    exporting.add_argument("--school", help="only this school's cases")
    exporting.add_argument("--out", type=Path, help="write to this file instead of the screen")
    exporting.set_defaults(action=_export)

    stats = commands.add_parser(
        "stats", parents=[common], help="per-platform figures: reported, removed, days to removal"
    )
    stats.add_argument("--format", choices=("table", "json"), default="table")
    stats.add_argument("--school", help="only this school's cases")
    stats.add_argument("--since", type=_date, help="only cases created on or after YYYY-MM-DD")
    stats.set_defaults(action=_stats)

    evidence_cli.add_parser(commands, common)

    digesting = commands.add_parser(
        "digest", parents=[common], help="print (or send) the weekly summary of the last 7 days"
    )
    digesting.add_argument("--school", help="only this school")
    digesting.add_argument("--send", action="store_true", help="queue it for the leads' places")
    digesting.add_argument("--chart", type=Path, help="write the chart (PNG) to this file")
    digesting.set_defaults(action=_digest)

    purging = commands.add_parser(
        "purge", parents=[common], help="anonymise closed cases past [retention] closed_case_days"
    )
    purging.add_argument("--dry-run", action="store_true", help="list them and change nothing")
    purging.set_defaults(action=_purge)

    person = commands.add_parser("person", help="a person's data: export or erase")
    person_actions = person.add_subparsers(dest="person_action", required=True)
    for name, helptext in (
        ("export", "write everything held about them as JSON"),
        ("erase", "replace their identity with a pseudonym"),
    ):
        sub = person_actions.add_parser(name, parents=[common], help=helptext)
        who = sub.add_mutually_exclusive_group(required=True)
        who.add_argument("--slack", metavar="USER_ID")
        who.add_argument("--telegram", metavar="USER_ID")
        who.add_argument("--console", metavar="NAME")
        if name == "export":
            sub.add_argument("--out", type=Path, help="write to this file instead of the screen")
        else:
            sub.add_argument("--yes", action="store_true", help="really erase (cannot be undone)")
        sub.set_defaults(action=_person)

    backup = commands.add_parser(
        "backup", parents=[common], help="a consistent copy of the database, safe while it runs"
    )
    backup.add_argument("file", type=Path)
    backup.set_defaults(action=_backup)

    manifest = commands.add_parser(
        "manifest", parents=[common], help="print the Slack app manifest (JSON)"
    )
    manifest.add_argument("--mode", choices=("socket", "http"), help="default: from the config")
    manifest.add_argument("--url", help="public URL of /slack/events, for HTTP mode")
    manifest.set_defaults(action=_manifest)

    check = commands.add_parser(
        "check-config", parents=[common], help="validate a config file and show what will run"
    )
    check.add_argument("file", type=Path)
    check.set_defaults(action=_check_config)
    return parser


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config, os.environ) if args.config else demo_config()
    if args.db is not None:
        config = dataclasses.replace(config, storage=StorageConfig(database=args.db))
    level = "info" if args.verbose else config.logging.level
    logs.configure(level, config.logging.json, config.secrets())
    return config


def _run(args: argparse.Namespace) -> int:
    from bot import app

    config = _config(args)
    if config.console:
        asyncio.run(app.run_console(config, sys.stdin.buffer, sys.stdout))
    else:
        asyncio.run(app.run_chat(config))
    return 0


def _export(args: argparse.Namespace) -> int:
    config = _config(args)
    writer = export.CsvWriter if args.format == "csv" else export.JsonWriter

    async def run(out: TextIO) -> int:
        database = await Database.open(config.storage.database)
        try:
            async with database.reading() as unit:
                rows = writer(out)
                count = 0
                async for batch in export.documents(
                    unit, school=args.school, since=args.since, anonymised=args.anonymised
                ):
                    rows.write(batch)
                    count += len(batch)
                rows.close()
                return count
        finally:
            await database.close()

    if args.out is None:
        asyncio.run(run(sys.stdout))
        return 0
    # A byte-order mark makes spreadsheet programs read the CSV as UTF-8.
    encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
    with args.out.open("w", encoding=encoding, newline="") as out:
        count = asyncio.run(run(out))
    print(f"casebook: wrote {count} cases to {args.out}", file=sys.stderr)
    return 0


def _stats(args: argparse.Namespace) -> int:
    config = _config(args)

    async def cases() -> list[CaseTiming]:
        database = await Database.open(config.storage.database)
        try:
            async with database.reading() as unit:
                school_id = None
                if args.school is not None:
                    school = await unit.schools.by_name(args.school)
                    if school is None:
                        return []
                    school_id = school.id
                return await unit.cases.timings(school_id=school_id, since=args.since)
        finally:
            await database.close()

    rows = stats.platform_stats(asyncio.run(cases()), SystemClock().now())
    if args.format == "json":
        sys.stdout.write(json.dumps(stats.to_dicts(rows), indent=2) + "\n")
    elif rows:
        sys.stdout.write(stats.to_table(rows))
    else:
        print("No cases.")
    return 0


def _digest(args: argparse.Namespace) -> int:
    from bot import app, scheduler

    config = _config(args)
    schools = [s for s in config.schools if args.school in (None, s.name)]
    if not schools:
        print(f"casebook: no school called {args.school!r} in the configuration.", file=sys.stderr)
        return 2

    async def run() -> None:
        database = await Database.open(config.storage.database)
        try:
            await app.sync_schools(database, config)
            now = SystemClock().now()
            for school in schools:
                async with database.reading() as unit:
                    row = await unit.schools.by_name(school.name)
                    assert row is not None
                    built = await digest.build(unit, row, school, now)
                print(digest.text(built, school))
                if args.chart is not None:
                    target = args.chart
                    if len(schools) > 1:
                        target = target.with_stem(f"{target.stem}-{row.id}")
                    target.write_bytes(await asyncio.to_thread(digest.chart_png, built))
                    print(f"casebook: chart written to {target}", file=sys.stderr)
                if args.send:
                    queued = await scheduler.send_weekly_digest(
                        database, config, school, now, app.transports_of(config), end=now
                    )
                    note = "queued for the leads" if queued else "already sent this week"
                    print(f"casebook: {school.name}: {note}", file=sys.stderr)
        finally:
            await database.close()

    asyncio.run(run())
    return 0


def _purge(args: argparse.Namespace) -> int:
    config = _config(args)

    async def run() -> list[privacy.PurgeItem]:
        database = await Database.open(config.storage.database)
        try:
            now = SystemClock().now()
            async with database.transaction() as unit:
                plan = await privacy.purge_plan(unit, config, now)
                if not args.dry_run:
                    await privacy.purge(unit, plan, now)
            if plan and not args.dry_run:
                await database.compact()
            return plan
        finally:
            await database.close()

    plan = asyncio.run(run())
    verb = "would anonymise" if args.dry_run else "anonymised"
    for item in plan:
        print(f"{verb} {item.school} case #{item.number} (closed {item.closed_days_ago} days ago)")
    days = config.retention.closed_case_days
    print(f"casebook: {verb} {len(plan)} cases closed more than {days} days ago", file=sys.stderr)
    return 0


def _person(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.slack is not None:
        key = privacy.person_key(Transport.SLACK, args.slack)
    elif args.telegram is not None:
        key = privacy.person_key(Transport.TELEGRAM, args.telegram)
    else:
        key = privacy.person_key(Transport.CONSOLE, args.console)
    if args.person_action == "erase" and not args.yes:
        print(
            f"casebook: this replaces {key} with a pseudonym everywhere and cannot be undone; "
            "run again with --yes to do it.",
            file=sys.stderr,
        )
        return 2

    async def run() -> dict[str, object] | str:
        database = await Database.open(config.storage.database)
        try:
            if args.person_action == "export":
                async with database.reading() as unit:
                    return await privacy.person_export(unit, key)
            async with database.transaction() as unit:
                pseudonym = await privacy.erase_person(unit, key, SystemClock().now())
            await database.compact()
            return pseudonym
        finally:
            await database.close()

    try:
        result = asyncio.run(run())
    except privacy.UnknownPerson:
        print(f"casebook: no one with the id {key} is in this database.", file=sys.stderr)
        return 2
    if isinstance(result, str):
        print(f"casebook: {key} is erased; they now appear as {result!r}.", file=sys.stderr)
        return 0
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"casebook: wrote {args.out}", file=sys.stderr)
    return 0


def _backup(args: argparse.Namespace) -> int:
    config = _config(args)
    source = config.storage.database
    if not source.exists():
        print(f"casebook: there is no database at {source}.", file=sys.stderr)
        return 2
    if args.file.exists():
        print(f"casebook: {args.file} exists already; choose a new file.", file=sys.stderr)
        return 2
    result = backup_database(source, args.file)
    print(f"casebook: backed up {source} to {args.file} (integrity: {result})", file=sys.stderr)
    return 0 if result == "ok" else 1


def _manifest(args: argparse.Namespace) -> int:
    mode = args.mode
    if mode is None:
        config = load_config(args.config, os.environ) if args.config else None
        mode = config.slack.mode if config is not None and config.slack is not None else "socket"
    print(json.dumps(slack_manifest.manifest(mode, args.url), indent=2))
    return 0


def _check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file, os.environ)
    print(describe(config))
    print("configuration is valid")
    return 0


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-09-01") from error
