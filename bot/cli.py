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

from bot import app, scheduler
from bot.adapters import slack_manifest
from bot.clock import SystemClock
from bot.config import Config, ConfigError, StorageConfig, demo_config, describe, load_config
from handlers import digest, export, stats
from storage.db import Database, DatabaseError, SchemaTooNewError
from storage.models import Case

log = logging.getLogger("casebook")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.action(args)
    except (ConfigError, DatabaseError, SchemaTooNewError) as error:
        print(f"casebook: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
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

    digesting = commands.add_parser(
        "digest", parents=[common], help="print (or send) the weekly summary of the last 7 days"
    )
    digesting.add_argument("--school", help="only this school")
    digesting.add_argument("--send", action="store_true", help="queue it for the leads' places")
    digesting.add_argument("--chart", type=Path, help="write the chart (PNG) to this file")
    digesting.set_defaults(action=_digest)

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
    return config


def _run(args: argparse.Namespace) -> int:
    config = _config(args)
    if config.console:
        asyncio.run(app.run_console(config, sys.stdin.buffer, sys.stdout))
    else:
        asyncio.run(app.run_chat(config))
    return 0


def _export(args: argparse.Namespace) -> int:
    config = _config(args)

    async def rows() -> list[export.ExportRow]:
        database = await Database.open(config.storage.database)
        try:
            async with database.transaction() as unit:
                return await export.export_rows(
                    unit, school=args.school, since=args.since, anonymised=args.anonymised
                )
        finally:
            await database.close()

    found = asyncio.run(rows())
    text = export.to_csv(found) if args.format == "csv" else export.to_json(found)
    if args.out is None:
        sys.stdout.write(text)
    else:
        # A byte-order mark makes spreadsheet programs read the CSV as UTF-8.
        encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
        args.out.write_text(text, encoding=encoding, newline="")
        print(f"casebook: wrote {len(found)} cases to {args.out}", file=sys.stderr)
    return 0


def _stats(args: argparse.Namespace) -> int:
    config = _config(args)

    async def cases() -> list[Case]:
        database = await Database.open(config.storage.database)
        try:
            async with database.transaction() as unit:
                school_id = None
                if args.school is not None:
                    school = await unit.schools.by_name(args.school)
                    if school is None:
                        return []
                    school_id = school.id
                return await unit.cases.listing(school_id=school_id, since=args.since)
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
                async with database.transaction() as unit:
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
