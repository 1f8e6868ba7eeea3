"""`casebook school add|invite|list|remove`: schools kept in the database, for a hosted Casebook.

The operator adds a school and passes the printed code to someone at the school, who sends it to
the bot and becomes its first lead; everything after that happens in the school's own chat. The
code is alone on the last line of `add` and `invite`, for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.parser import school_problem
from bot.schools import refuse_clashes
from handlers import hosting, joining, messages
from handlers.events import Transport
from handlers.settings import Config, ConfigError
from storage.hosted import PlaceRole
from storage.models import School
from storage.store import Store, hosted_names, open_store
from storage.unit import Unit

ConfigOf = Callable[[argparse.Namespace], Config]
DatabaseOf = Callable[[Config], str | Path]


class SchoolCommandError(Exception):
    """A mistake in a `school` command; the message is the one line the person sees."""


def add_parser(
    commands: Any, common: argparse.ArgumentParser, config: ConfigOf, existing: DatabaseOf
) -> None:
    """Register `school` and its actions; `config` reads the common options, `existing` names a
    database that must already exist."""
    school = commands.add_parser(
        "school",
        help="schools kept in the database (a hosted Casebook): add, invite, list, remove",
        description="schools kept in the database, for a Casebook that schools join from "
        "their own chat",
        epilog="example: casebook school add 'Northfield Academy' --timezone Europe/London",
    )
    actions = school.add_subparsers(dest="school_action", metavar="ACTION", required=True)

    def action(name: str, helptext: str, example: str) -> argparse.ArgumentParser:
        return actions.add_parser(  # type: ignore[no-any-return]
            name, parents=[common], help=helptext, description=helptext, epilog=example
        )

    adding = action(
        "add",
        "add a school and print an invitation code for its first lead (last line)",
        "example: casebook school add 'Northfield Academy' --timezone Europe/London",
    )
    adding.add_argument("name", help="the school's name, as leads and reports will show it")
    adding.add_argument("--timezone", default="Europe/London", help="default: Europe/London")
    adding.set_defaults(action=lambda args: _main(_add, args, config(args), None))

    inviting = action(
        "invite",
        "print a new invitation code for a school (last line)",
        "example: casebook school invite 'Northfield Academy'",
    )
    inviting.add_argument("name", help="the school's name (any letter case)")
    inviting.set_defaults(action=lambda args: _main(_invite, args, config(args), existing))

    listing = action(
        "list",
        "each school: its places, leads, last report, and whether each place is reachable",
        "example: casebook school list --format json",
    )
    listing.add_argument(
        "--format", choices=("text", "json"), default="text", help="text (default) or json"
    )
    listing.set_defaults(action=lambda args: _main(_list, args, config(args), existing))

    removing = action(
        "remove",
        "remove a school that has no cases, with its leads, places and codes",
        "example: casebook school remove 'Northfield Academy'",
    )
    removing.add_argument("name", help="the school's name (any letter case)")
    removing.set_defaults(action=lambda args: _main(_remove, args, config(args), existing))


def _main(
    run: Callable[[Store, Config, argparse.Namespace], Any],
    args: argparse.Namespace,
    config: Config,
    existing: DatabaseOf | None,
) -> int:
    target = config.storage.target if existing is None else existing(config)

    async def go() -> int:
        database = await open_store(target)
        try:
            await run(database, config, args)
        finally:
            await database.close()
        return 0

    try:
        return asyncio.run(go())
    except SchoolCommandError as error:
        print(messages.cli_line(error), file=sys.stderr)
        return 2


async def _add(database: Store, config: Config, args: argparse.Namespace) -> None:
    name = " ".join(str(args.name).split())
    code = await add_school(database, config, name, args.timezone, datetime.now(UTC))
    print(messages.school_added(name, args.timezone))
    _print_code(name, code)


async def add_school(
    database: Store, config: Config, name: str, timezone: str, now: datetime
) -> str:
    """Add a hosted school; returns an invitation code for its first lead."""
    if not name:
        raise SchoolCommandError(messages.SCHOOL_NEEDS_NAME)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise SchoolCommandError(messages.school_not_a_timezone(timezone)) from error
    folded = name.casefold()
    if any(school.name.casefold() == folded for school in config.schools):
        raise SchoolCommandError(messages.school_in_config_file(name))
    async with database.transaction() as unit:
        await refuse_clashes(unit, config)
        # Names are matched in any letter case (`--school`, `school invite`), so two schools
        # whose names differ only in case could not be told apart.
        same = [s.name for s in await unit.hosted.schools() if s.name.casefold() == folded]
        if same:
            raise SchoolCommandError(messages.school_added_already(same[0]))
        school = await unit.hosted.add(name, timezone, now)
        if school is None:
            raise SchoolCommandError(messages.school_added_already(name))
        return await joining.invite(unit, school.id, now)


async def _invite(database: Store, config: Config, args: argparse.Namespace) -> None:
    now = datetime.now(UTC)
    async with database.transaction() as unit:
        school = await _hosted(unit, args.name)
        code = await joining.invite(unit, school.id, now)
    _print_code(school.name, code)


async def _remove(database: Store, config: Config, args: argparse.Namespace) -> None:
    # Without a config file there is only the terminal's demo school, which is in no file.
    wanted = str(args.name).strip().casefold()
    in_file = config.schools if args.config is not None else ()
    for configured in in_file:
        if configured.name.casefold() == wanted:
            raise SchoolCommandError(messages.school_remove_in_config_file(configured.name))
    async with database.transaction() as unit:
        school = await _hosted(unit, args.name)
        if await unit.hosted.last_report(school.id) is not None:
            raise SchoolCommandError(messages.school_has_cases(school.name))
        await unit.hosted.remove(school.id)
        audited = await unit.schools.get(school.id) is not None
    print(messages.school_removed(school.name))
    if audited:
        print(messages.school_name_kept_for_audit(school.name))


@dataclass(frozen=True)
class _Listed:
    name: str
    kept_in: str  # "database" or "config"
    timezone: str
    leads: int
    last_report: str | None
    places: list[dict[str, Any]]


async def _list(database: Store, config: Config, args: argparse.Namespace) -> None:
    listed: list[_Listed] = []
    # Without a config file there is only the terminal's demo school, which is no one's.
    in_file = config.schools if args.config is not None else ()
    async with database.reading() as unit:
        for school in in_file:
            row = await unit.schools.by_name(school.name)
            configured: list[dict[str, Any]] = [
                {"transport": transport, "id": place, "role": role, "reachable": None}
                for transport, on in school.places.items()
                for place, role in [
                    *((p, PlaceRole.REPORTS.value) for p in on.report_places),
                    *([(on.digest_place, PlaceRole.LEADS.value)] if on.digest_place else []),
                ]
            ]
            last = None if row is None else await unit.hosted.last_report(row.id)
            leads = sum(len(on.leads) for on in school.places.values())
            listed.append(
                _Listed(school.name, "config", school.timezone, leads, _shown(last), configured)
            )
        leads_of: dict[int, int] = {}
        for lead in await unit.hosted.leads():
            leads_of[lead.school_id] = leads_of.get(lead.school_id, 0) + 1
        for hosted in await unit.hosted.schools():
            places: list[dict[str, Any]] = [
                {
                    "transport": Transport(place.key.transport),
                    "workspace": place.key.workspace,
                    "id": place.key.place_id,
                    "role": place.role.value,
                    "reachable": place.gone_at is None,
                }
                for place in await unit.hosted.places(hosted.id)
            ]
            last = await unit.hosted.last_report(hosted.id)
            listed.append(
                _Listed(
                    hosted.name,
                    "database",
                    hosted.timezone,
                    leads_of.get(hosted.id, 0),
                    _shown(last),
                    places,
                )
            )
    if args.format == "json":
        print(json.dumps([item.__dict__ for item in listed], indent=2, ensure_ascii=False))
        return
    for item in listed:
        print(
            messages.school_listed(
                item.name, item.kept_in, item.timezone, item.leads, item.last_report
            )
        )
        for place in item.places:
            reachable = messages.SCHOOL_PLACE_REACHABLE[place["reachable"]]
            print(
                messages.school_place_listed(
                    place["transport"], place["id"], place["role"], reachable
                )
            )
        if not item.places:
            print(messages.SCHOOL_NO_PLACES)


async def _hosted(unit: Unit, name: str) -> School:
    wanted = name.strip().casefold()
    hosted = await unit.hosted.schools()
    for school in hosted:
        if school.name.casefold() == wanted:
            return school
    # As every command does with an unknown name, it lists the known ones (those added here).
    raise SchoolCommandError(messages.cli_no_such_school(name, sorted(s.name for s in hosted)))


def hosted_in(config: Config) -> list[tuple[str, str]]:
    """(name, timezone) of the schools kept in `config`'s database, for check-config, which
    refuses the file (as start-up does) when one of them is also in its [[schools]]: a school
    lives in one or the other, whatever the letter case of its name."""
    names = asyncio.run(hosted_names(config.storage.target))
    problems: list[str] = []
    for clash in hosting.clashes(config, [name for name, _ in names]):
        in_file = next(s.name for s in config.schools if s.name.casefold() == clash.casefold())
        problem = messages.school_in_file_and_database(in_file, clash)
        found = (
            problem if config.source is None else school_problem(config.source, in_file, problem)
        )
        problems.append(str(found))
    if problems:
        raise ConfigError("\n".join(problems))
    return names


def describe_hosted(names: list[tuple[str, str]]) -> None:
    """check-config's lines for the schools kept in the database."""
    for name, timezone in names:
        print(messages.school_kept_in_database(name, timezone))


def _print_code(school: str, code: str) -> None:
    print(messages.school_invitation_code(school, joining.VALID_FOR.days))
    print(code)


def _shown(moment: datetime | None) -> str | None:
    """A time as exports show it: ISO 8601 UTC to the second, with `Z`."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
