"""`casebook evidence`: the association's report, from many deployments' exports or the database."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from handlers import evidence, messages
from handlers.evidence import figures, marks, sources
from storage.evidence import EvidenceRow
from storage.store import open_store, redact


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the subcommand; `config` builds the configuration from the common options."""
    helptext = "figures across schools for an association or a regulator (HTML, JSON or CSV)"
    parser = commands.add_parser(
        "evidence",
        parents=[common],
        help=helptext,
        description=helptext,
        epilog="example: casebook evidence --from a.json b.json --format html --out report.html",
    )
    parser.add_argument("--since", type=_day, help="cases created on or after YYYY-MM-DD")
    parser.add_argument(
        "--until",
        type=_day,
        help="cases created up to YYYY-MM-DD, and the end of follow-up (default: today)",
    )
    parser.add_argument(
        "--school",
        nargs="+",
        default=[],
        metavar="NAME",
        help="only these schools (any letter case)",
    )
    parser.add_argument(
        "--from",
        dest="sources",
        nargs="+",
        type=Path,
        default=[],
        metavar="FILE",
        help="anonymised JSON exports to combine (default: read the database)",
    )
    parser.add_argument(
        "--allow-identifying",
        action="store_true",
        help="read full exports too (names and links); without it only anonymised ones are read",
    )
    parser.add_argument(
        "--format",
        choices=evidence.FORMATS,
        default="html",
        help="html (default: one self-contained page), json or csv",
    )
    parser.add_argument(
        "--threshold",
        type=int,
        default=int(os.environ.get("CASEBOOK_EVIDENCE_THRESHOLD", figures.DEFAULT_THRESHOLD)),
        help="counts below this are shown as '<N' (default 5)",
    )
    parser.add_argument(
        "--target",
        dest="targets",
        action="append",
        type=_target,
        default=[],
        metavar="PLATFORM:DAYS:SHARE",
        help="a target to set beside the figures in the HTML page, e.g. x:2:0.9 (90 %% of reported "
        "posts on X removed within 2 days); may be given more than once",
    )
    parser.add_argument("--out", type=Path, required=True, help="the file to write")
    parser.add_argument("--force", action="store_true", help="replace the --out file if it exists")
    parser.set_defaults(action=run)


def run(args: argparse.Namespace) -> int:
    # The shared option handling, imported late to avoid a cycle.
    from bot.cli import CommandError, _config, _existing_database, _output, _school_name, _write

    today = datetime.now(UTC).date()
    until: date = args.until or today
    # At 2, a withheld total is 2 or more while its two small parts are each 0 or 1: two 1s beside
    # their total of 2 give all three away, whatever is withheld. 1 hides nothing but zeros.
    if args.threshold < 1 or args.threshold == 2:
        raise CommandError(messages.CLI_THRESHOLD_TOO_LOW)
    if args.targets and args.format != "html":
        raise CommandError(messages.cli_target_needs_html(args.format))
    if args.since is not None and args.since > until:
        raise CommandError(messages.cli_since_after_until(args.since, until))
    # A period from year 1, or to year 9999, is millions of weeks: a mistake, not a report.
    if until > today:
        raise CommandError(messages.cli_evidence_until_too_late(until, today))
    if args.since is not None and args.since < sources.EARLIEST:
        raise CommandError(messages.cli_evidence_since_too_early(args.since, sources.EARLIEST))
    _output(args.out, replace=args.force)
    if args.sources:
        try:
            rows, read = sources.read_exports(args.sources, args.allow_identifying)
        except sources.EvidenceInputError as error:
            print(messages.cli_line(error), file=sys.stderr)
            return 2
        known = sorted({r.school for r in rows})
        wanted = {_school_name(name, known) for name in args.school}
        if wanted:
            rows = [r for r in rows if r.school in wanted]
        note = messages.cli_evidence_read_exports(read, len(args.sources), len(rows))
    else:
        config = _config(args)
        path = _existing_database(config)
        rows = asyncio.run(_from_database(path, args, until))
        note = messages.cli_evidence_read_database(len(rows), redact(str(path)))
    report = figures.build(rows, until, since=args.since, threshold=args.threshold)
    text = evidence.report_text(report, args.format, today, tuple(args.targets))
    encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
    _write(args.out, lambda out: out.write_text(text, encoding=encoding, newline=""))
    print(messages.cli_evidence_written(note, args.out), file=sys.stderr)
    return 0


async def _from_database(
    path: str | Path, args: argparse.Namespace, until: date
) -> list[EvidenceRow]:
    from bot.cli import _school_name  # as every subcommand matches --school

    database = await open_store(path)
    try:
        async with database.reading() as unit:
            known = sorted(school.name for school in await unit.schools.all())
            schools = [s for name in args.school if (s := _school_name(name, known)) is not None]
            return await evidence.rows_from(unit, tuple(schools), args.since, until)
    finally:
        await database.close()


def _target(text: str) -> marks.Target:
    try:
        return marks.parse_target(text)
    except marks.TargetError as error:
        raise argparse.ArgumentTypeError(messages.cli_not_a_target(text)) from error


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(messages.cli_not_a_date(text)) from error
