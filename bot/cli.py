"""The `casebook` command line: run, export, stats, digest, purge, person, backup, check-config.

Mistakes a person can make on the command line (a mistyped path, an unknown school) end in one
line on stderr and exit status 2, never a traceback and never a new, empty database.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import gc
import importlib.metadata
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

# bot.app and bot.scheduler (the chat libraries: a second of start-up) are imported by the
# commands that run chat, so `casebook evidence`, `export` and the rest start quickly.
from bot import demo_cli, evidence_cli, logs, school_cli
from bot.adapters import slack_manifest
from bot.adapters.console_config import CONSOLE, demo_config
from bot.adapters.slack_config import SLACK, SlackMode, slack_settings
from bot.adapters.teams import messages as teams_messages
from bot.adapters.teams.config import TEAMS, teams_settings
from bot.adapters.telegram_config import TELEGRAM
from bot.backup_policy import backup_policy, kept_days
from bot.clock import SystemClock
from bot.config.description import describe
from bot.config.parser import load_config
from handlers import digest, export, messages, privacy, stats
from handlers.events import PersonKey, User
from handlers.roles import lead_schools
from handlers.settings import Config, ConfigError, LogLevel, StorageConfig
from storage.copy import CopyRefused, TableCount, TargetNotEmpty, copy_database
from storage.models import CaseTiming, SetAsideItem
from storage.store import (
    BackupFailed,
    BackupUnsupported,
    DatabaseError,
    SchemaTooNewError,
    Target,
    inspect_store,
    open_store,
    redact,
)

log = logging.getLogger("casebook")

# The database every subcommand uses when --db is not given: a file, or a PostgreSQL URL whose
# password would show in `ps` on a command line.
DATABASE_URL_VARIABLE = "CASEBOOK_DATABASE_URL"


class CommandError(Exception):
    """A mistake on the command line; the message is the one line the person sees."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logs.configure("info" if getattr(args, "verbose", False) else "warning")
    try:
        code: int = args.action(args)
    except ConfigError as error:
        for problem in str(error).splitlines():  # every problem in the file, one line each
            print(messages.cli_line(problem), file=sys.stderr)
        return 2
    except (DatabaseError, SchemaTooNewError, CommandError) as error:
        print(messages.cli_line(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # The reader went away (`casebook … | head`): stop quietly, as command-line tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


class _ExampleFormatter(argparse.HelpFormatter):
    """Wraps help as usual, but never an example line: it is there to be copied and pasted."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("example:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _keep_examples_whole(parser: argparse.ArgumentParser) -> None:
    """Give `parser` and every subcommand's parser under it the formatter above."""
    parser.formatter_class = _ExampleFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _keep_examples_whole(sub)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="configuration file (TOML)")
    common.add_argument(
        "--db",
        help="database file or postgresql:// URL; overrides CASEBOOK_DATABASE_URL and "
        "[storage] database and url (a password belongs in CASEBOOK_DATABASE_URL, not here)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")

    parser = argparse.ArgumentParser(
        prog="casebook",
        description="Log online abuse of school staff as cases and follow them up.",
        epilog="example: casebook run --db demo.db",
    )
    parser.add_argument(
        "--version", action="version", version=f"casebook {_version()}", help="print the version"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, helptext: str, example: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, parents=[common], help=helptext, description=helptext, epilog=example
        )

    run = command(
        "run",
        "run the bot (the terminal, with no config)",
        "example: casebook run --config casebook.toml",
    )
    run.add_argument(
        "--chat-only",
        action="store_true",
        help="refuse to start without a chat platform (as a service: no terminal demo)",
    )
    run.set_defaults(action=_run)

    exporting = command(
        "export", "export cases", "example: casebook export --format csv --out cases.csv"
    )
    exporting.add_argument(
        "--format", choices=("json", "csv"), default="json", help="json (default) or csv"
    )
    exporting.add_argument(
        "--anonymised", action="store_true", help="no links, names or times of day"
    )
    exporting.add_argument("--since", type=_date, help="only cases created on or after YYYY-MM-DD")
    exporting.add_argument("--school", help="only this school's cases (any letter case)")
    exporting.add_argument("--out", type=Path, help="write to this file instead of the screen")
    exporting.add_argument(
        "--force", action="store_true", help="replace the --out file if it exists"
    )
    exporting.set_defaults(action=_export)

    stats = command(
        "stats",
        "per-platform figures: reported, removed, days to removal",
        "example: casebook stats --school 'Northfield Academy' --since 2026-09-01",
    )
    stats.add_argument(
        "--format", choices=("table", "json"), default="table", help="table (default) or json"
    )
    stats.add_argument("--school", help="only this school's cases (any letter case)")
    stats.add_argument("--since", type=_date, help="only cases created on or after YYYY-MM-DD")
    stats.set_defaults(action=_stats)

    evidence_cli.add_parser(commands, common)
    demo_cli.add_parser(commands, common)
    school_cli.add_parser(commands, common, _config, _existing_database)

    digesting = command(
        "digest",
        "print (or send) the weekly summary of the last 7 days",
        "example: casebook digest --school 'Northfield Academy' --chart digest.png",
    )
    digesting.add_argument("--school", help="only this school (any letter case)")
    digesting.add_argument("--send", action="store_true", help="queue it for the leads' places")
    digesting.add_argument("--chart", type=Path, help="write the chart (PNG) to this file")
    digesting.set_defaults(action=_digest)

    purging = command(
        "purge",
        "anonymise closed cases past [retention] closed_case_days",
        "example: casebook purge --dry-run",
    )
    purging.add_argument("--dry-run", action="store_true", help="list them and change nothing")
    purging.set_defaults(action=_purge)

    person = commands.add_parser(
        "person",
        help="a person's data: export or erase",
        description="a person's data: export or erase",
        epilog="example: casebook person export --slack U0123 --out person.json",
    )
    person_actions = person.add_subparsers(dest="person_action", metavar="ACTION", required=True)
    for name, helptext, example in (
        (
            "export",
            "write everything held about them as JSON",
            "example: casebook person export --telegram 111 --out person.json",
        ),
        (
            "erase",
            "replace their identity with a pseudonym",
            "example: casebook person erase --slack U0123 --yes",
        ),
    ):
        sub = person_actions.add_parser(
            name, parents=[common], help=helptext, description=helptext, epilog=example
        )
        who = sub.add_mutually_exclusive_group(required=True)
        who.add_argument("--slack", metavar="USER_ID", help="the person's Slack user id")
        who.add_argument("--telegram", metavar="USER_ID", help="the person's Telegram user id")
        who.add_argument(
            "--teams",
            metavar="OBJECT_ID",
            help="the person's Entra object id (Teams; TENANT/OBJECT_ID for a person of a tenant "
            "other than [teams] tenant_id)",
        )
        who.add_argument("--console", metavar="NAME", help="the person's name in the terminal")
        if name == "export":
            sub.add_argument("--out", type=Path, help="write to this file instead of the screen")
            sub.add_argument(
                "--force", action="store_true", help="replace the --out file if it exists"
            )
        else:
            sub.add_argument("--yes", action="store_true", help="really erase (cannot be undone)")
        sub.set_defaults(action=_person)

    backup = command(
        "backup",
        "a consistent copy of the database, safe while it runs",
        "example: casebook backup --config casebook.toml backups/2026-11-26.db",
    )
    backup.add_argument("file", type=Path, help="the new file to write the copy to")
    backup.set_defaults(action=_backup)

    manifest = command(
        "manifest",
        "print the Slack app manifest (JSON), or write the Teams app package (zip)",
        "example: casebook manifest --mode http --url https://casebook.example.org/slack/events",
    )
    manifest.add_argument(
        "--platform",
        choices=[SLACK, TEAMS],
        default=SLACK,
        help="slack (the default) or teams",
    )
    manifest.add_argument(
        "--mode", choices=[m.value for m in SlackMode], help="Slack: default from the config"
    )
    manifest.add_argument(
        "--url",
        help="Slack: public URL of /slack/events, for HTTP mode; Teams: https://HOST of Casebook",
    )
    manifest.add_argument(
        "--out", type=Path, help="Teams: the package to write (default casebook-teams.zip)"
    )
    manifest.add_argument(
        "--force", action="store_true", help="Teams: replace the --out file if it exists"
    )
    manifest.set_defaults(action=_manifest)

    inbox = commands.add_parser(
        "inbox",
        help="events that could not be handled: list them, or try them again",
        description="events that could not be handled: list them, or try them again",
        epilog="example: casebook inbox retry --config casebook.toml",
    )
    inbox_actions = inbox.add_subparsers(dest="inbox_action", metavar="ACTION", required=True)
    listing = inbox_actions.add_parser(
        "list",
        parents=[common],
        help="list the events set aside",
        description="list the events set aside (never their text)",
        epilog="example: casebook inbox list --db casebook.db",
    )
    listing.set_defaults(action=_inbox_list)
    retrying = inbox_actions.add_parser(
        "retry",
        parents=[common],
        help="put set-aside events back in the queue",
        description="put one set-aside event (or all of them) back in the queue; a running "
        "Casebook handles them within seconds, a stopped one when it starts",
        epilog="example: casebook inbox retry 17 --db casebook.db",
    )
    retrying.add_argument("id", type=int, nargs="?", help="the event's number (default: all)")
    retrying.set_defaults(action=_inbox_retry)

    db = commands.add_parser(
        "db",
        help="the database as a whole: copy it to another store",
        description="the database as a whole: copy it to another store",
        epilog="example: casebook db copy casebook.db copy.db",
    )
    db_actions = db.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    copying = db_actions.add_parser(
        "copy",
        help="copy a whole database into a new, empty one",
        description="copy every table of SOURCE into TARGET, which must be new or empty, then "
        "check that every table has the same number of rows in both; SOURCE may be in use",
        epilog="example: casebook db copy casebook.db moved.db",
    )
    copying.add_argument(
        "source", type=_target, help="the database to copy: a file or a postgresql:// URL"
    )
    copying.add_argument(
        "target", type=_target, help="the new, empty database to copy into: a file or a URL"
    )
    copying.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    copying.set_defaults(action=_db_copy)

    check = command(
        "check-config",
        "validate a config file and show what will run",
        "example: casebook check-config casebook.toml (or --config casebook.toml)",
    )
    check.add_argument(
        "file", type=Path, nargs="?", help="the config file (the same as --config FILE)"
    )
    check.add_argument(
        "--online",
        action="store_true",
        help="ask Slack and Telegram whether each configured channel and chat exists",
    )
    check.set_defaults(action=_check_config)
    _keep_examples_whole(parser)
    return parser


def _version() -> str:
    try:
        return importlib.metadata.version("casebook")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _config(args: argparse.Namespace, *, secrets: bool = False) -> Config:
    """The config a command works with; the chat platforms' secrets are required only by a
    command that uses them (`secrets`), not by those that only read the database."""
    loaded = load_config(args.config, os.environ, secrets=secrets) if args.config else None
    config = _with_db(args, demo_config() if loaded is None else loaded)
    level = LogLevel.INFO if args.verbose else config.logging.level
    logs.configure(level, config.logging.json, config.secrets())
    return config


def _with_db(args: argparse.Namespace, config: Config) -> Config:
    """`config` with the database named by --db, or else by CASEBOOK_DATABASE_URL, in place of
    its own. The variable keeps a PostgreSQL password off the command line, where `ps` shows it
    to every user of the machine for as long as the command runs."""
    named = args.db if args.db is not None else os.environ.get(DATABASE_URL_VARIABLE) or None
    if named is None:
        return config
    target = Target.parse(named)
    storage = (
        StorageConfig(url=target.url)
        if target.url is not None
        else StorageConfig(database=target.path or Path(named))
    )
    return dataclasses.replace(config, storage=storage)


def _existing_database(config: Config) -> str | Path:
    """The database a subcommand reads: a file must exist, so a mistyped --db never makes a new
    one (a PostgreSQL database is made by its administrator, and opening it says if it is not)."""
    if config.storage.url is not None:
        return config.storage.url
    path = config.storage.database
    if not path.is_file():
        raise CommandError(messages.cli_no_database(path))
    return path


def _output(path: Path, *, replace: bool = True) -> Path:
    """A file a subcommand will write: its folder must exist and it must not be a folder."""
    if path.is_dir():
        raise CommandError(messages.cli_is_a_folder(path))
    if not path.parent.is_dir():
        raise CommandError(messages.cli_no_folder(path))
    if not replace and path.exists():
        raise CommandError(messages.cli_exists_use_force(path))
    return path


def _write(path: Path, write: Callable[[Path], object]) -> None:
    """Write an output file; a refusal by the system (permissions, a full disk) is one line."""
    try:
        write(path)
    except OSError as error:
        raise CommandError(messages.cli_cannot_write(path, error.strerror or error)) from error


def _school_name(wanted: str | None, known: Sequence[str]) -> str | None:
    """The school --school names, matched regardless of letter case, as every command does."""
    if wanted is None:
        return None
    for name in known:
        if name.casefold() == wanted.strip().casefold():
            return name
    raise CommandError(messages.cli_no_such_school(wanted, known))


def _run(args: argparse.Namespace) -> int:
    from bot import app

    config = _config(args, secrets=True)
    if config.console and args.chat_only:
        raise CommandError(messages.CLI_NO_CHAT_PLATFORM)
    if config.console:
        asyncio.run(app.run_console(config, sys.stdin.buffer, sys.stdout))
    else:
        _freeze_what_was_imported()
        asyncio.run(app.run_chat(config))
    return 0


def _freeze_what_was_imported() -> None:
    """Set the objects of every module loaded so far outside the cycle collector's rounds.

    They live as long as the process, yet each full collection walked all of them: during a
    burst of reports one took some 45 ms, with the event loop, and every reply, waiting.
    """
    gc.collect()
    gc.freeze()


def _export(args: argparse.Namespace) -> int:
    config = _config(args)
    path = _existing_database(config)
    writer = export.CsvWriter if args.format == "csv" else export.JsonWriter
    if args.out is not None:
        _output(args.out, replace=args.force)

    async def run(out: TextIO) -> int:
        database = await open_store(path)
        try:
            async with database.reading() as unit:
                school = _school_name(args.school, [s.name for s in await unit.schools.all()])
                rows = writer(out)
                count = 0
                async for batch in export.documents(
                    unit, school=school, since=args.since, anonymised=args.anonymised
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
    counted: list[int] = []

    def write(target: Path) -> None:
        with target.open("w", encoding=encoding, newline="") as out:
            counted.append(asyncio.run(run(out)))

    _write(args.out, write)
    count = counted[0]
    print(messages.cli_wrote_cases(count, args.out), file=sys.stderr)
    return 0


def _stats(args: argparse.Namespace) -> int:
    config = _config(args)

    path = _existing_database(config)

    async def cases() -> list[CaseTiming]:
        database = await open_store(path)
        try:
            async with database.reading() as unit:
                school_id = None
                name = _school_name(args.school, [s.name for s in await unit.schools.all()])
                if name is not None:
                    school = await unit.schools.by_name(name)
                    assert school is not None
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
        print(messages.CLI_NO_CASES)
    return 0


def _digest(args: argparse.Namespace) -> int:
    from bot import app, scheduler

    config = _config(args)
    path = _existing_database(config)
    name = _school_name(args.school, [s.name for s in config.schools])
    schools = [s for s in config.schools if name in (None, s.name)]
    if args.chart is not None:
        _output(args.chart)

    async def run() -> None:
        database = await open_store(path)
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
                    png = await asyncio.to_thread(digest.chart_png, built)
                    _write(target, functools.partial(Path.write_bytes, data=png))
                    print(messages.cli_chart_written(target), file=sys.stderr)
                if args.send:
                    queued = await scheduler.send_weekly_digest(
                        database, config, school, now, app.transports_of(config), end=now
                    )
                    print(messages.cli_digest_sent(school.name, queued), file=sys.stderr)
        finally:
            await database.close()

    asyncio.run(run())
    return 0


def _purge(args: argparse.Namespace) -> int:
    config = _config(args)

    path = _existing_database(config)

    async def run() -> list[privacy.PurgeItem]:
        database = await open_store(path)
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
    for item in plan:
        print(messages.cli_purge_line(args.dry_run, item.school, item.number, item.closed_days_ago))
    days = config.retention.closed_case_days
    print(messages.cli_purged(args.dry_run, len(plan), days), file=sys.stderr)
    return 0


def _leads_in_file(config: Config, key: str) -> list[str]:
    """The config file's schools that name this person a lead."""
    person = PersonKey.parse(key)
    if person.transport is None:
        return []
    return [school.name for school in lead_schools(config, User(person.transport, person.id))]


def _person(args: argparse.Namespace) -> int:
    config = _config(args)
    if args.slack is not None:
        key = str(PersonKey.of(SLACK, args.slack))
    elif args.telegram is not None:
        key = str(PersonKey.of(TELEGRAM, args.telegram))
    elif args.teams is not None:
        key = str(PersonKey.of(TEAMS, args.teams))
    else:
        key = str(PersonKey.of(CONSOLE, args.console))
    if args.person_action == "erase" and not args.yes:
        print(messages.cli_erase_needs_yes(key), file=sys.stderr)
        return 2
    path = _existing_database(config)
    if args.person_action == "export" and args.out is not None:
        _output(args.out, replace=args.force)

    async def run() -> dict[str, object] | str:
        database = await open_store(path)
        try:
            if args.person_action == "export":
                async with database.reading() as unit:
                    return await privacy.person_export(unit, key, _leads_in_file(config, key))
            async with database.transaction() as unit:
                pseudonym = await privacy.erase_person(unit, key, SystemClock().now())
            await database.compact()
            return pseudonym
        finally:
            await database.close()

    try:
        result = asyncio.run(run())
    except privacy.UnknownPerson:
        print(messages.cli_no_such_person(key), file=sys.stderr)
        return 2
    if isinstance(result, str):
        print(messages.cli_erased(key, result), file=sys.stderr)
        policy = backup_policy(path, os.environ)
        folder, days = (policy.folder, policy.days) if policy else (None, kept_days(os.environ))
        print(messages.cli_erased_backups(folder, days), file=sys.stderr)
        return 0
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        _write(args.out, lambda file: file.write_text(text, encoding="utf-8"))
        print(messages.cli_wrote(args.out), file=sys.stderr)
    return 0


def _backup(args: argparse.Namespace) -> int:
    config = _config(args)
    source = _existing_database(config)
    if args.file.exists() and not args.file.is_dir():
        print(messages.cli_exists_choose_another(args.file), file=sys.stderr)
        return 2
    _output(args.file)

    async def run() -> str:
        database = await open_store(source)
        try:
            return await database.backup(args.file)
        finally:
            await database.close()

    try:
        result = asyncio.run(run())
    except BackupUnsupported as error:
        raise CommandError(messages.BACKUP_WITH_PG_DUMP) from error
    except BackupFailed as error:
        raise CommandError(messages.cli_cannot_write(args.file, error)) from error
    print(messages.cli_backed_up(redact(str(source)), args.file, result), file=sys.stderr)
    return 0 if result == "ok" else 1


def _db_copy(args: argparse.Namespace) -> int:
    if args.source.path is not None and not args.source.path.is_file():
        raise CommandError(f"there is no database at {args.source}.")
    if args.target.path is not None:
        _output(args.target.path)

    async def run() -> list[TableCount]:
        source = await open_store(args.source)
        try:
            target = await open_store(args.target)
            try:
                return await copy_database(source, target)
            finally:
                await target.close()
        finally:
            await source.close()

    try:
        counts = asyncio.run(run())
    except TargetNotEmpty as error:
        raise CommandError(
            messages.COPY_TARGET_NOT_EMPTY.format(
                target=args.target, table=error.table, rows=error.rows
            )
        ) from error
    except CopyRefused as error:
        raise CommandError(
            messages.COPY_REFUSED.format(source=args.source, target=args.target, reason=error)
        ) from error
    print(messages.COPY_COUNT_HEADER)
    for count in counts:
        print(messages.copy_count_line(count.table, count.source, count.target))
    mismatched = [count.table for count in counts if count.source != count.target]
    print(
        messages.copy_checked(str(args.source), str(args.target), len(counts), mismatched),
        file=sys.stderr,
    )
    return 1 if mismatched else 0


def _inbox_list(args: argparse.Namespace) -> int:
    path = _existing_database(_config(args))

    async def run() -> list[SetAsideItem]:
        database = await open_store(path)
        try:
            async with database.reading() as unit:
                return await unit.inbox.set_aside_items()
        finally:
            await database.close()

    items = asyncio.run(run())
    for item in items:
        print(messages.set_aside_line(item))
    print(messages.set_aside_count(len(items)), file=sys.stderr)
    return 0


def _inbox_retry(args: argparse.Namespace) -> int:
    path = _existing_database(_config(args))

    async def run() -> int:
        database = await open_store(path)
        try:
            async with database.transaction() as unit:
                return await unit.inbox.retry(args.id)
        finally:
            await database.close()

    count = asyncio.run(run())
    if args.id is not None and count == 0:
        raise CommandError(messages.NO_SUCH_SET_ASIDE.format(id=args.id))
    print(messages.set_aside_retried(count), file=sys.stderr)
    return 0


def _manifest(args: argparse.Namespace) -> int:
    if args.platform == TEAMS:
        return _teams_package(args)
    mode = None if args.mode is None else SlackMode(args.mode)
    install = False
    if mode is None:
        config = load_config(args.config, os.environ, secrets=False) if args.config else None
        slack = config.transports.get(SLACK) if config is not None else None
        mode = slack_settings(slack).mode if slack is not None else SlackMode.SOCKET
        install = slack is not None and slack_settings(slack).install
    print(json.dumps(slack_manifest.manifest(mode, args.url, install), indent=2))
    if mode is SlackMode.HTTP and not args.url:
        print(messages.MANIFEST_PLACEHOLDER_URL, file=sys.stderr)
    for warning in slack_manifest.url_warnings(args.url) if args.url else []:
        print(warning, file=sys.stderr)
    return 0


def _teams_package(args: argparse.Namespace) -> int:
    from bot.adapters.teams import manifest as teams_manifest  # matplotlib: only when asked

    config = load_config(args.config, os.environ, secrets=False) if args.config else None
    settings = config.transports.get(TEAMS) if config is not None else None
    if settings is None:
        raise CommandError(teams_messages.MANIFEST_NEEDS_CONFIG)
    if args.url and not _is_https_host(args.url):
        raise CommandError(teams_messages.manifest_bad_url(args.url))
    out: Path = args.out or Path("casebook-teams.zip")
    if out.exists() and not args.force:
        raise CommandError(messages.cli_exists_use_force(out))
    out.write_bytes(teams_manifest.package(teams_settings(settings), args.url or ""))
    if not args.url:
        print(teams_messages.MANIFEST_PLACEHOLDER_URL, file=sys.stderr)
    print(teams_messages.package_written(out), file=sys.stderr)
    return 0


def _is_https_host(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname)


def _check_config(args: argparse.Namespace) -> int:
    path = args.file or args.config
    if path is None:
        raise CommandError(messages.CLI_NAME_THE_CONFIG)
    config = _with_db(args, load_config(path, os.environ))
    # The database is read before anything is printed: a school it holds that the file holds
    # too fails the file, as start-up does, with no "valid" line first.
    facts = asyncio.run(inspect_store(config.storage.url)) if config.storage.url else None
    too_new = facts is not None and (facts.schema_version or 0) > facts.newest
    hosted = [] if too_new else school_cli.hosted_in(config)
    for warning in config.warnings:
        print(messages.cli_warning(warning), file=sys.stderr)
    print(describe(config))
    print(messages.CLI_CONFIG_VALID)
    if facts is not None:
        print(messages.store_found(facts.server, facts.schema_version, facts.newest))
        if too_new:
            return 1
    school_cli.describe_hosted(hosted)
    if args.online:
        from bot import online_check  # the chat libraries, only when asked to go online

        code: int = asyncio.run(online_check.run(config, sys.stdout))
        return code
    return 0


def _target(text: str) -> Target:
    try:
        return Target.parse(text)
    except DatabaseError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as error:
        raise argparse.ArgumentTypeError(messages.cli_not_a_date(text)) from error
