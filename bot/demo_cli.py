"""`casebook demo-data`: anonymised exports of made-up deployments, to try the evidence report."""

from __future__ import annotations

import argparse
import functools
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from handlers import messages
from handlers.evidence import demo

MAX_SCHOOLS = 1000
MAX_MONTHS = 120


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the subcommand."""
    helptext = "write anonymised exports of made-up schools, to try `casebook evidence` on"
    parser = commands.add_parser(
        "demo-data",
        parents=[common],
        help=helptext,
        description=helptext,
        epilog="example: casebook demo-data --schools 20 --months 12 --seed 1 --out demo",
    )
    parser.add_argument(
        "--schools", type=int, default=20, metavar="N", help="how many schools (default 20)"
    )
    parser.add_argument(
        "--months", type=int, default=12, metavar="N", help="how many months of cases (default 12)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        metavar="N",
        help="default 1; the same seed and --end give the same files",
    )
    parser.add_argument(
        "--end",
        type=_day,
        metavar="DATE",
        help="the last day with cases, YYYY-MM-DD (default: today)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="the folder to write (made if missing)",
    )
    parser.add_argument("--force", action="store_true", help="replace files already there")
    parser.set_defaults(action=run)


def run(args: argparse.Namespace) -> int:
    from bot.cli import CommandError, _write  # the shared option handling, imported late

    if not 1 <= args.schools <= MAX_SCHOOLS:
        raise CommandError(messages.cli_demo_out_of_range("--schools", MAX_SCHOOLS))
    if not 1 <= args.months <= MAX_MONTHS:
        raise CommandError(messages.cli_demo_out_of_range("--months", MAX_MONTHS))
    today = datetime.now(UTC).date()
    end: date = args.end or today
    if end > today:
        raise CommandError(messages.cli_demo_end_too_late(end, today))
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise CommandError(messages.cli_demo_not_a_folder(out))
    exports = demo.generate(args.schools, args.months, args.seed, end)
    if not args.force:
        for export in exports:
            if (out / export.name).exists():
                raise CommandError(messages.cli_exists_use_force(out / export.name))
    _write(out, lambda folder: folder.mkdir(parents=True, exist_ok=True))
    for export in exports:
        _write(out / export.name, functools.partial(_save, text=export.text))
    cases = sum(export.cases for export in exports)
    print(messages.cli_demo_written(len(exports), cases, out), file=sys.stderr)
    return 0


def _save(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(messages.cli_not_a_date(text)) from error
