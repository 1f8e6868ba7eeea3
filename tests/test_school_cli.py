"""`casebook school add|invite|list|remove` and what check-config says of database schools."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handlers import joining, messages
from storage.hosted import PlaceKey, PlaceRole
from storage.models import AuditAction, AuditEntry, NewCase, Platform, Transport
from storage.store import open_store
from tests.test_cli import casebook

FILE_SCHOOL = """
[[schools]]
name = "Northfield Academy"
timezone = "Europe/London"
console_leads = ["lena"]
"""


def code_of(out: str) -> str:
    return out.splitlines()[-1]


def test_add_prints_a_code_alone_on_the_last_line_and_stores_only_its_hash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "hosted.db")
    status, out, _ = casebook(
        capsys, "school", "add", "Southgate", "--timezone", "Europe/Dublin", "--db", db
    )
    code = code_of(out)
    assert status == 0 and len(code) >= 16 and " " not in code
    # How to send it, on each platform a school may be on.
    for how in (
        "on Slack in a direct message to the app",
        "on Teams in their chat with Casebook",
        "on Telegram by opening the bot's link https://t.me/YOUR_BOT?start=CODE",
    ):
        assert how in out, out
    for path in tmp_path.iterdir():
        assert code.encode() not in path.read_bytes()
    status, out, _ = casebook(capsys, "school", "invite", "southgate", "--db", db)
    assert status == 0 and code_of(out) != code

    async def check() -> None:
        store = await open_store(db)
        async with store.transaction() as unit:
            person = await unit.people.ensure("telegram:1", "")
            school_id = await unit.invitations.redeem(
                joining.code_hash(code), person.id, datetime.now(UTC)
            )
            school = await unit.schools.by_name("Southgate")
            assert (
                school is not None and school_id == school.id and school.timezone == "Europe/Dublin"
            )
        await store.close()

    asyncio.run(check())


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["Southgate", "--timezone", "Mars/Base"], "not a time zone"),
        (["  "], "needs a name"),
        (["Northfield Academy"], "in the config file"),
    ],
)
def test_add_refuses_a_bad_zone_a_blank_name_and_a_name_the_file_uses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], error: str
) -> None:
    config = tmp_path / "casebook.toml"
    config.write_text(FILE_SCHOOL)
    db = str(tmp_path / "hosted.db")
    status, out, err = casebook(capsys, "school", "add", *args, "--config", str(config), "--db", db)
    assert status == 2 and error in err and out == ""


def test_remove_of_a_school_in_the_file_says_it_is_removed_from_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "casebook.toml"
    config.write_text(FILE_SCHOOL)
    db = str(tmp_path / "hosted.db")
    assert casebook(capsys, "school", "add", "Southgate", "--db", db)[0] == 0
    status, out, err = casebook(
        capsys, "school", "remove", "northfield academy", "--config", str(config), "--db", db
    )
    assert status == 2 and out == ""
    assert "'Northfield Academy' is in the config file's [[schools]]" in err
    assert "removed by deleting its [[schools]] entry there" in err
    assert "no school called" not in err


def test_a_school_is_added_once_and_only_added_schools_are_invited_or_removed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "hosted.db")
    assert casebook(capsys, "school", "add", "Southgate", "--db", db)[0] == 0
    status, _, err = casebook(capsys, "school", "add", "Southgate", "--db", db)
    assert status == 2 and "added already" in err
    assert casebook(capsys, "school", "add", "St Mary's", "--db", db)[0] == 0
    status, _, err = casebook(capsys, "school", "add", "st mary's", "--db", db)
    assert status == 2
    assert err.endswith("`casebook school invite 'St Mary'\"'\"'s'` gives a code.\n"), err
    for action in ("invite", "remove"):
        status, _, err = casebook(capsys, "school", action, "Nowhere", "--db", db)
        assert status == 2 and "no school called 'Nowhere'" in err
    status, _, err = casebook(capsys, "school", "list", "--db", str(tmp_path / "missing.db"))
    assert status == 2 and not (tmp_path / "missing.db").exists()


def test_list_shows_places_leads_last_report_and_reachability_and_remove_keeps_cases(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "hosted.db")
    casebook(capsys, "school", "add", "Southgate", "--db", db)
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    async def arrange() -> None:
        store = await open_store(db)
        async with store.transaction() as unit:
            school = await unit.schools.by_name("Southgate")
            assert school is not None
            lead = await unit.people.ensure("telegram:900", "Kim")
            await unit.hosted.add_lead(school.id, lead.id, at)
            await unit.hosted.claim(
                PlaceKey("telegram", "", "-1001"), school.id, PlaceRole.REPORTS, at
            )
            await unit.hosted.claim(
                PlaceKey("telegram", "", "-1002"), school.id, PlaceRole.LEADS, at
            )
            await unit.hosted.mark_gone(PlaceKey("telegram", "", "-1002"), at)
            await unit.cases.create(
                NewCase(
                    school.id, Platform.TIKTOK, Transport("telegram"), lead.id, "words", at, None
                )
            )
        await store.close()

    asyncio.run(arrange())
    status, out, _ = casebook(capsys, "school", "list", "--db", db, "--format", "json")
    [listed] = json.loads(out)
    assert status == 0 and listed["name"] == "Southgate" and listed["kept_in"] == "database"
    assert listed["leads"] == 1 and listed["last_report"] == "2026-11-23T09:00:00Z"
    assert [(p["id"], p["role"], p["reachable"]) for p in listed["places"]] == [
        ("-1001", "reports", True),
        ("-1002", "leads", False),
    ]
    status, out, _ = casebook(capsys, "school", "list", "--db", db)
    assert "Southgate (database" in out and "-1002: leads, gone" in out
    assert "Southgate (database, Europe/London): 1 lead, last report 2026-11-23T09:00:00Z" in out
    status, _, err = casebook(capsys, "school", "remove", "Southgate", "--db", db)
    assert status == 2 and "has cases" in err
    assert "Southgate" in casebook(capsys, "school", "list", "--db", db)[1]


def test_list_counts_leads_in_words() -> None:
    listed = [messages.school_listed("S", "database", "UTC", n, None) for n in (0, 1, 2, 12)]
    assert [line.split(": ")[1].split(",")[0] for line in listed] == [
        "no leads",
        "1 lead",
        "2 leads",
        "12 leads",
    ]


def test_remove_takes_a_school_without_cases_off_the_list(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "hosted.db")
    casebook(capsys, "school", "add", "Southgate", "--db", db)
    assert (
        "Southgate (database, Europe/London): no leads, last report none"
        in (casebook(capsys, "school", "list", "--db", db)[1])
    )
    status, out, _ = casebook(capsys, "school", "remove", "Southgate", "--db", db)
    assert status == 0 and "Removed Southgate" in out
    assert "Southgate" not in casebook(capsys, "school", "list", "--db", db)[1]
    # No command knows it any more: an unknown name lists the known ones, and there are none.
    for command in (["export"], ["stats"]):
        status, _, err = casebook(capsys, *command, "--school", "Southgate", "--db", db)
        assert status == 2 and "the schools are: none" in err


def test_remove_keeps_only_the_name_of_a_school_the_audit_trail_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "hosted.db")
    code = code_of(casebook(capsys, "school", "add", "Southgate", "--db", db)[1])

    async def join() -> None:
        store = await open_store(db)
        async with store.transaction() as unit:
            person = await unit.people.ensure("telegram:1", "Kim")
            await unit.invitations.redeem(joining.code_hash(code), person.id, datetime.now(UTC))
            school = await unit.schools.by_name("Southgate")
            assert school is not None
            await unit.audit.append(
                AuditEntry(None, school.id, person.id, AuditAction.JOINED, datetime.now(UTC))
            )
        await store.close()

    asyncio.run(join())
    status, out, _ = casebook(capsys, "school", "remove", "Southgate", "--db", db)
    assert status == 0 and "Removed Southgate" in out and "kept for the audit trail" in out
    assert "Southgate" not in casebook(capsys, "school", "list", "--db", db)[1]
    status, _, err = casebook(capsys, "school", "invite", "Southgate", "--db", db)
    assert status == 2 and "the schools are: none" in err


def test_invite_and_remove_of_an_unknown_school_list_the_known_ones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "hosted.db")
    casebook(capsys, "school", "add", "Southgate", "--db", db)
    casebook(capsys, "school", "add", "Alder Park", "--db", db)
    for action in ("invite", "remove"):
        status, _, err = casebook(capsys, "school", action, "Northgate", "--db", db)
        assert status == 2
        assert "no school called 'Northgate'; the schools are: 'Alder Park', 'Southgate'" in err


def test_check_config_says_where_each_school_lives_and_refuses_one_in_both(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "hosted.db"
    config = tmp_path / "casebook.toml"
    config.write_text(FILE_SCHOOL + f'\n[storage]\ndatabase = "{db}"\n')
    casebook(capsys, "school", "add", "Southgate", "--db", str(db))
    status, out, _ = casebook(capsys, "check-config", str(config))
    assert status == 0
    assert "school: Northfield Academy (Europe/London); in this file" in out
    assert "school: Southgate (Europe/London); kept in the database" in out
    # The same name added to the database behind the file's back: check-config says so.
    config.write_text(
        FILE_SCHOOL.replace("Northfield Academy", "Southgate") + f'\n[storage]\ndatabase = "{db}"\n'
    )
    status, out, err = casebook(capsys, "check-config", str(config))
    assert status == 2 and out == "" and "valid" not in err
    [line] = err.strip().splitlines()
    assert f"{config}, line 3:" in line and "'Southgate' is also kept in the database" in line


def test_check_config_and_start_up_refuse_a_school_in_both_in_any_letter_case(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "hosted.db"
    config = tmp_path / "casebook.toml"
    config.write_text(
        FILE_SCHOOL.replace("Northfield Academy", "NORTHFIELD ACADEMY")
        + f'\n[storage]\ndatabase = "{db}"\n'
    )
    casebook(capsys, "school", "add", "Northfield Academy", "--db", str(db))
    status, out, err = casebook(capsys, "check-config", str(config))
    assert status == 2 and out == ""
    assert f"{config}, line 3:" in err and "'Northfield Academy'" in err
    status, out, err = casebook(capsys, "digest", "--config", str(config))
    assert status == 2 and "also added with `casebook school add`" in err


def test_a_school_whose_name_differs_only_in_letter_case_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "hosted.db")
    config = tmp_path / "casebook.toml"
    config.write_text(FILE_SCHOOL, encoding="utf-8")
    assert casebook(capsys, "school", "add", "Southgate", "--db", db)[0] == 0
    status, _, err = casebook(capsys, "school", "add", "SOUTHGATE", "--db", db)
    assert status == 2 and "'Southgate' is added already" in err
    args = ("--config", str(config), "--db", db)
    status, _, err = casebook(capsys, "school", "add", "northfield academy", *args)
    assert status == 2 and "[[schools]]" in err
    status, out, _ = casebook(capsys, "school", "list", "--db", db, "--format", "json")
    assert [school["name"] for school in json.loads(out)] == ["Southgate"]


def test_person_export_lists_the_schools_a_person_leads_in_the_file_and_the_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "casebook.toml"
    config.write_text(FILE_SCHOOL)
    db = str(tmp_path / "hosted.db")
    files = ("--config", str(config), "--db", db)
    assert casebook(capsys, "school", "add", "Southgate", *files)[0] == 0

    async def lead_southgate() -> None:
        store = await open_store(db)
        async with store.transaction() as unit:
            lena = await unit.people.ensure("console:lena", "Lena")
            await unit.people.ensure("console:sol", "Sol")
            school = await unit.schools.by_name("Southgate")
            assert school is not None
            await unit.hosted.add_lead(school.id, lena.id, datetime.now(UTC))
        await store.close()

    asyncio.run(lead_southgate())
    status, out, _ = casebook(capsys, "person", "export", "--console", "lena", *files)
    assert status == 0 and json.loads(out)["schools"] == ["Northfield Academy", "Southgate"]
    status, out, _ = casebook(capsys, "person", "export", "--console", "sol", *files)
    assert status == 0 and json.loads(out)["schools"] == []
