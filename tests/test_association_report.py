"""`casebook evidence`: combined exports, Kaplan-Meier against SciPy, and small-number suppression.

Databases are real SQLite files made by Casebook's migrations; the cases in them are written with
plain SQL so that each one's dates are exactly what the test says. Exports are made by
`casebook export --anonymised`, as a school would make them.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scipy.stats import CensoredData, ecdf

from bot.cli import main
from handlers import messages
from handlers.evidence.figures import build
from handlers.evidence.suppression import suppress
from handlers.evidence.survival import kaplan_meier
from storage.db import Database
from storage.evidence import EvidenceRow
from tests.chat import Chat, texts

# SciPy warns where the log-log band is undefined (S = 0 or 1); the tests read those as 0 or 1.
pytestmark = pytest.mark.filterwarnings("ignore:The confidence interval is undefined")

UNTIL = date(2026, 11, 24)
START = date(2026, 9, 1)


@dataclass
class Made:
    school: str
    platform: str
    created: date
    reported: date | None = None
    removed: date | None = None
    closed: date | None = None
    close_reason: str | None = None
    categories: tuple[str, ...] = ("harassment",)
    updated: date | None = field(default=None)


async def _database(path: Path) -> None:
    database = await Database.open(path)
    await database.close()


def _day(value: date | None) -> str | None:
    return None if value is None else f"{value.isoformat()}T10:00:00Z"


def make_db(path: Path, cases: Iterable[Made]) -> None:
    """A Casebook database (schema from the migrations) holding exactly these cases."""
    import asyncio

    asyncio.run(_database(path))
    db = sqlite3.connect(path)
    numbers: dict[str, int] = {}
    db.execute("INSERT INTO people (key, name) VALUES ('slack:U1', 'Pat Reporter')")
    for case in cases:
        school_id = _school(db, case.school)
        numbers[case.school] = numbers.get(case.school, 0) + 1
        status = (
            "closed"
            if case.closed
            else "removed"
            if case.removed
            else "reported"
            if case.reported
            else "open"
        )
        updated = case.updated or case.closed or case.removed or case.reported or case.created
        cursor = db.execute(
            "INSERT INTO cases (school_id, number, status, platform, source,"
            " reported_to_platform, reported_to_platform_at, removed_at, created_at, updated_at,"
            " closed_at, close_reason) VALUES (?, ?, ?, ?, 'slack', ?, ?, ?, ?, ?, ?, ?)",
            (
                school_id,
                numbers[case.school],
                status,
                case.platform,
                "yes" if case.reported else None,
                _day(case.reported),
                _day(case.removed),
                _day(case.created),
                _day(updated),
                _day(case.closed),
                case.close_reason,
            ),
        )
        for category in case.categories:
            db.execute("INSERT INTO case_categories VALUES (?, ?)", (cursor.lastrowid, category))
        db.execute(
            "INSERT INTO case_reporters VALUES (?, 1, 'the head is called a liar', ?)",
            (cursor.lastrowid, _day(case.created)),
        )
    db.commit()
    db.close()


def _school(db: sqlite3.Connection, name: str) -> int:
    row = db.execute("SELECT id FROM schools WHERE name = ?", (name,)).fetchone()
    if row:
        return int(row[0])
    cursor = db.execute("INSERT INTO schools (name, timezone) VALUES (?, 'Europe/London')", (name,))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def export(db: Path, out: Path) -> Path:
    code = main(["export", "--db", str(db), "--anonymised", "--format", "json", "--out", str(out)])
    assert code == 0
    return out


def evidence(*args: str) -> int:
    return main(["evidence", *args])


def random_cases(chance: random.Random, schools: list[str], count: int) -> list[Made]:
    platforms = ["tiktok", "instagram", "facebook", "x"]
    made = []
    for _ in range(count):
        created = START + timedelta(days=chance.randint(0, 80))
        reported = (
            created + timedelta(days=chance.randint(0, 3)) if chance.random() < 0.85 else None
        )
        removed = None
        closed = None
        reason = None
        if reported is not None and chance.random() < 0.6:
            removed = reported + timedelta(days=int(chance.expovariate(1 / 8)))
            if removed > UNTIL + timedelta(days=5):
                removed = None
        if removed is None and chance.random() < 0.15:
            closed = (reported or created) + timedelta(days=chance.randint(0, 20))
            reason = "resolved"
        if chance.random() < 0.05:
            closed, reason = (
                created + timedelta(days=1),
                chance.choice(["duplicate", "not-abuse", "withdrawn"]),
            )
        made.append(
            Made(
                chance.choice(schools),
                chance.choice(platforms),
                created,
                reported,
                removed,
                closed,
                reason,
                tuple(chance.sample(["harassment", "threat", "hate-racist-faith"], 1)),
            )
        )
    return made


def expected_durations(cases: Iterable[Made], until: date) -> tuple[list[int], list[int]]:
    """The issue's rule, written out again: (removal days, censoring days) per reported post."""
    removed, censored = [], []
    for c in cases:
        if c.close_reason in ("duplicate", "not-abuse", "withdrawn"):
            continue
        if c.created > until or c.reported is None or c.reported > until:
            continue
        if c.removed is not None and c.removed <= until:
            removed.append((c.removed - c.reported).days)
        else:
            end = until if c.closed is None else min(c.closed, until)
            censored.append((end - c.reported).days)
    return removed, censored


def scipy_figures(removed: list[int], censored: list[int]) -> dict[str, Any]:
    """Median, its log-log interval and the still-up shares, from SciPy's Kaplan-Meier."""
    result = ecdf(CensoredData(uncensored=removed, right=censored))
    sf = result.sf
    band = sf.confidence_interval(0.95, method="log-log")
    days = sorted(set(removed))

    def first(values: Any, level: float) -> int | None:
        for day in days:
            value = float(values(day))
            value = 0.0 if math.isnan(value) else value
            if value <= level + 1e-12:
                return day
        return None

    def edge(values: Any, day: int) -> float:
        value = float(values(day))
        return 0.0 if math.isnan(value) else value

    longest = max(removed + censored)
    low, high = first(band.low.evaluate, 0.5), first(band.high.evaluate, 0.5)
    return {
        "km_median_days": first(sf.evaluate, 0.5),
        "km_median_ci": None if low is None or high is None else [low, high],
        "km_p90_days": first(sf.evaluate, 0.1),
        "still_up_after_days": {
            str(d): (
                None
                if d > longest
                else (
                    float(sf.evaluate(d)),
                    # Before the first removal SciPy's band is undefined; S = 1 there, exactly.
                    edge(band.low.evaluate, d) if float(sf.evaluate(d)) < 1 else 1.0,
                    edge(band.high.evaluate, d) if float(sf.evaluate(d)) < 1 else 1.0,
                )
            )
            for d in STILL_UP_KEYS
        },
    }


STILL_UP_KEYS = (1, 2, 3, 7, 30)


def assert_still_up_matches(published: dict[str, Any], expected: dict[str, Any]) -> None:
    """The published shares and their intervals are SciPy's to within 0.01."""
    assert sorted(published, key=int) == [str(d) for d in STILL_UP_KEYS]
    for key, want in expected.items():
        got = published[key]
        if want is None:
            assert got is None, key
            continue
        if not isinstance(got, dict):  # a StillUp from figures.build
            got = {"share": got.share, "ci": [got.low, got.high]}
        assert abs(got["share"] - want[0]) <= 0.01, (key, got, want)
        assert abs(got["ci"][0] - want[1]) <= 0.01 and abs(got["ci"][1] - want[2]) <= 0.01, (
            key,
            got,
            want,
        )


# --- The estimator against SciPy --------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_kaplan_meier_matches_scipy_on_generated_data(seed: int) -> None:
    chance = random.Random(seed)
    size = chance.randint(5, 300)
    data = [(chance.randint(0, 45), chance.random() < 0.55) for _ in range(size)]
    removed = [d for d, e in data if e]
    censored = [d for d, e in data if not e]
    if not removed:
        removed, censored, data = [3], censored, [*data, (3, True)]
    curve = kaplan_meier(data)
    expected = scipy_figures(removed, censored)
    assert curve.quantile(0.5) == expected["km_median_days"]
    assert curve.quantile(0.9) == expected["km_p90_days"]
    ci = curve.quantile_ci(0.5)
    assert (list(ci) if ci else None) == expected["km_median_ci"]
    for day in STILL_UP_KEYS:
        want = expected["still_up_after_days"][str(day)]
        share, band = curve.survival(day), curve.survival_ci(day)
        if want is None:
            assert share is None and band is None
        else:
            assert share is not None and band is not None
            assert round(share, 3) == round(want[0], 3)
            assert (round(band[0], 3), round(band[1], 3)) == (round(want[1], 3), round(want[2], 3))
    # The bands too, at every step, to 3 decimals.
    band = ecdf(CensoredData(uncensored=removed, right=censored)).sf.confidence_interval(
        0.95, method="log-log"
    )
    for step in curve.steps:
        low = float(band.low.evaluate(step.day))
        high = float(band.high.evaluate(step.day))
        assert round(step.low, 3) == round(0.0 if math.isnan(low) else low, 3)
        assert round(step.high, 3) == round(0.0 if math.isnan(high) else high, 3)


def test_still_up_is_estimated_up_to_the_longest_follow_up_and_left_blank_past_it() -> None:
    # Removed on day 1, still up on day 3: half were still up on days 1 to 3; nothing is known
    # of day 4, where no post was followed.
    curve = kaplan_meier([(1, True), (3, False)])
    assert curve.survival(3) == 0.5 and curve.survival_ci(3) is not None
    assert curve.survival(4) is None and curve.survival_ci(4) is None
    # One post, removed on day 2: up on day 1 for certain, down from day 2.
    lone = kaplan_meier([(2, True)])
    assert (lone.survival(1), lone.survival_ci(1)) == (1.0, (1.0, 1.0))
    assert (lone.survival(2), lone.survival_ci(2)) == (0.0, (0.0, 0.0))
    # Posts followed for no more than the day of their report say nothing of day 1.
    same_day = kaplan_meier([(0, True), (0, False)])
    assert same_day.survival(0) == 0.5
    assert same_day.survival(1) is None and same_day.survival_ci(1) is None
    # No posts, no estimate, even on day 0.
    assert kaplan_meier([]).survival(0) is None and kaplan_meier([]).survival_ci(0) is None


def test_a_platform_that_never_removes_the_hard_cases_does_not_look_fast() -> None:
    # Ten posts: four removed on day 1, six still up after 60 days. The naive median is 1 day;
    # Kaplan-Meier has no median at all, and 60 % still up after 30 days.
    rows = [
        EvidenceRow(
            "d", str(n), "S", "tiktok", START, START, START + timedelta(days=1), None, None, (), ""
        )
        for n in range(4)
    ] + [
        EvidenceRow("d", str(n), "S", "tiktok", START, START, None, None, None, (), "")
        for n in range(4, 10)
    ]
    report = build(rows, START + timedelta(days=60), threshold=1)
    tiktok = report.platforms[0]
    assert tiktok.naive_median_days == 1.0
    assert tiktok.km_median_days is None
    after_30 = tiktok.still_up_after_days[30]
    assert after_30 is not None and after_30.share == pytest.approx(0.6)


def test_posts_are_censored_at_closing_or_at_until_and_removals_after_until_do_not_count() -> None:
    day = START
    rows = [
        # removed after 3 days
        EvidenceRow("d", "1", "S", "x", day, day, day + timedelta(days=3), None, None, (), ""),
        # closed while still up after 2 days: censored at 2
        EvidenceRow(
            "d", "2", "S", "x", day, day, None, day + timedelta(days=2), "resolved", (), ""
        ),
        # removed only after `until`: still up at until (5 days)
        EvidenceRow("d", "3", "S", "x", day, day, day + timedelta(days=30), None, None, (), ""),
        # a duplicate is left out altogether
        EvidenceRow("d", "4", "S", "x", day, day, day, day, "duplicate", (), ""),
        EvidenceRow("d", "5", "S", "x", day, day, None, None, None, (), ""),
        EvidenceRow("d", "6", "S", "x", day, day, day + timedelta(days=5), None, None, (), ""),
    ]
    # One ISO week (Tuesday to Sunday), so no week of zero cases is hidden beside them.
    report = build(rows, day + timedelta(days=5), threshold=1)
    x = report.platforms[0]
    assert (x.cases, x.reported, x.removed) == (5, 5, 2)
    expected = scipy_figures([3, 5], [2, 5, 5])
    assert x.km_median_days == expected["km_median_days"]
    assert_still_up_matches(
        {str(k): v for k, v in x.still_up_after_days.items()}, expected["still_up_after_days"]
    )


# --- Acceptance 1: three deployments combined, each case once -----------------------------------


def test_exports_from_three_deployments_combine_and_match_scipy(tmp_path: Path) -> None:
    chance = random.Random(17)
    deployments = {
        "a": random_cases(chance, ["Northfield", "Eastfield"], 120),
        "b": random_cases(chance, ["Southgate"], 90),
        "c": random_cases(chance, ["Westbrook", "Hill Trust Primary"], 150),
    }
    files = []
    for name, cases in deployments.items():
        make_db(tmp_path / f"{name}.db", cases)
        files.append(export(tmp_path / f"{name}.db", tmp_path / f"{name}-1.json"))
    # Deployment a exports again later: the same cases, one of them since removed.
    db = sqlite3.connect(tmp_path / "a.db")
    target = next(
        i
        for i, c in enumerate(deployments["a"], start=1)
        if c.reported and not c.removed and not c.closed
    )
    later = UNTIL - timedelta(days=1)
    db.execute(
        "UPDATE cases SET status = 'removed', removed_at = ?, updated_at = ? WHERE id = ?",
        (_day(later), _day(later + timedelta(days=1)), target),
    )
    db.commit()
    db.close()
    deployments["a"][target - 1].removed = later
    files.append(export(tmp_path / "a.db", tmp_path / "a-2.json"))
    files.append(files[0])  # the first file read twice

    out = tmp_path / "report.json"
    assert (
        evidence(
            "--from",
            *map(str, files),
            "--until",
            UNTIL.isoformat(),
            "--format",
            "json",
            "--out",
            str(out),
        )
        == 0
    )
    report = json.loads(out.read_text())

    every = [c for cases in deployments.values() for c in cases]
    counted = [c for c in every if c.close_reason not in ("duplicate", "not-abuse", "withdrawn")]
    first = min(c.created for c in counted)
    assert report["period"] == {"from": first.isoformat(), "until": UNTIL.isoformat()}
    assert report["deployments"] == "<5"  # three deployments: a count below 5 too
    assert report["cases"] == len(counted)
    assert report["schools"] == 5
    assert set(report) == {"period", "deployments", "schools", "cases", "platforms", "escalation"}
    assert report["escalation"] == []  # no case in these exports was escalated
    by_platform = {p["platform"]: p for p in report["platforms"]}
    for name, figures in by_platform.items():
        mine = [c for c in counted if name == "all" or c.platform == name]
        assert figures["cases"] == len(mine)
        assert figures["reported"] == sum(1 for c in mine if c.reported)
        assert figures["removed"] == sum(1 for c in mine if c.removed and c.removed <= UNTIL)
        removed, censored = expected_durations(mine, UNTIL)
        expected = scipy_figures(removed, censored)
        for key in ("km_median_days", "km_median_ci", "km_p90_days"):
            assert figures[key] == expected[key], (name, key)
        assert_still_up_matches(figures["still_up_after_days"], expected["still_up_after_days"])
        ordered = sorted(removed)
        middle = len(ordered) // 2
        naive = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
        assert figures["naive_median_days"] == naive
        assert set(figures) == {
            "platform",
            "cases",
            "reported",
            "removed",
            "km_median_days",
            "km_median_ci",
            "km_p90_days",
            "still_up_after_days",
            "naive_median_days",
        }


def test_the_database_and_its_export_give_the_same_report(tmp_path: Path) -> None:
    make_db(tmp_path / "a.db", random_cases(random.Random(3), ["Northfield", "Eastfield"], 200))
    exported = export(tmp_path / "a.db", tmp_path / "a.json")
    from_db, from_file = tmp_path / "db.json", tmp_path / "file.json"
    common = ["--until", UNTIL.isoformat(), "--since", START.isoformat(), "--format", "json"]
    assert evidence("--db", str(tmp_path / "a.db"), *common, "--out", str(from_db)) == 0
    assert evidence("--from", str(exported), *common, "--out", str(from_file)) == 0
    assert json.loads(from_db.read_text()) == json.loads(from_file.read_text())


def test_old_exports_are_each_a_deployment_and_the_same_file_twice_counts_once(
    tmp_path: Path,
) -> None:
    cases = [Made("Northfield", "tiktok", START + timedelta(days=n)) for n in range(6)]
    make_db(tmp_path / "a.db", cases)
    records = json.loads(export(tmp_path / "a.db", tmp_path / "a.json").read_text())
    for record in records:  # as exports were written before they carried ids
        del record["deployment"], record["case_key"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(records))
    other = tmp_path / "other.json"
    other.write_text(json.dumps(records, indent=1))  # another file: another deployment
    out = tmp_path / "r.json"
    common = [
        "--until",
        UNTIL.isoformat(),
        "--format",
        "json",
        "--threshold",
        "1",
        "--out",
        str(out),
        "--force",
    ]
    assert evidence("--from", str(old), str(old), *common) == 0
    assert json.loads(out.read_text())["cases"] == 6
    assert evidence("--from", str(old), str(other), *common) == 0
    assert json.loads(out.read_text())["cases"] == 12
    assert json.loads(out.read_text())["deployments"] == 2


def test_bad_input_exits_2_naming_the_file_and_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = {
        "id": 1,
        "school": "N",
        "platform": "tiktok",
        "created_at": "2026-10-01",
        "categories": [],
        "deployment": "d1",
        "case_key": "k1",
    }
    bad = {**good, "id": 7, "case_key": "k2", "removed_at": "last tuesday"}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([good, bad]))
    out = tmp_path / "r.html"
    assert evidence("--from", str(path), "--out", str(out)) == 2
    error = capsys.readouterr().err
    assert str(path) in error and "record 2 (case 7)" in error and "removed_at" in error
    assert not out.exists()

    for text, words in (
        ("{not json", "is not a JSON export"),
        ('{"a": 1}', "expected a list"),
        (json.dumps([{**good, "platform": "Mr Smith's page"}]), "record 1 (case 1): 'platform'"),
        (json.dumps([{**good, "categories": ["liar"]}]), "'categories'"),
        (json.dumps([7]), "record 1: is not an object"),
    ):
        path.write_text(text)
        assert evidence("--from", str(path), "--out", str(out)) == 2
        error = capsys.readouterr().err
        assert str(path) in error and words in error, error
    assert evidence("--from", str(tmp_path / "missing.json"), "--out", str(out)) == 2
    assert "missing.json: cannot be read" in capsys.readouterr().err


# --- Acceptance 2: small numbers -----------------------------------------------------------------


def test_suppression_hides_a_second_cell_wherever_one_would_be_revealed() -> None:
    values = {"a": 3, "b": 40, "c": 7, "total": 50}
    hidden = suppress(values, [["a", "b", "c", "total"]], 5)
    assert (hidden.small, hidden.withheld) == ({"a"}, {"c"})
    # Chained: hiding c in one relation forces a second hide in c's other relation.
    values = {"a": 3, "b": 40, "c": 7, "t1": 50, "c2": 9, "d": 20, "t2": 36}
    hidden = suppress(values, [["a", "b", "c", "t1"], ["c", "c2", "d", "t2"]], 5)
    assert (hidden.small, hidden.withheld) == ({"a"}, {"c", "c2"})
    assert len(suppress({"a": 5, "b": 6, "t": 11}, [["a", "b", "t"]], 5)) == 0


def test_suppression_spares_a_count_whose_hiding_forces_a_headline_count_elsewhere() -> None:
    # "a" is small, so "b" or "c" is withheld beside it. "b" is the smaller, but it is also a
    # part of t1, beside headline counts only (kind 2, the least preferred to hide), and of t2,
    # beside a week (kind 1): withholding "b" would leave t1 to be mended only with a headline
    # count, while t2 could be mended with its week.
    values = {"a": 2, "b": 6, "c": 7, "t0": 15, "d": 10, "t1": 16, "e": 8, "t2": 14}
    kind = {"a": 1, "b": 1, "c": 1, "t0": 2, "d": 2, "t1": 2, "e": 1, "t2": 2}
    relations = [["a", "b", "c", "t0"], ["b", "d", "t1"], ["b", "e", "t2"]]
    hidden = suppress(values, relations, 5, kind.__getitem__)
    assert (hidden.small, hidden.withheld) == ({"a"}, {"c"})
    assert len(hidden) == 2 and "c" in hidden and "b" not in hidden


def test_the_threshold_is_configurable(tmp_path: Path) -> None:
    make_db(tmp_path / "a.db", [Made("N", "x", START + timedelta(days=n)) for n in range(7)])
    out = tmp_path / "r.json"
    common = ["--db", str(tmp_path / "a.db"), "--until", UNTIL.isoformat(), "--format", "json"]
    assert evidence(*common, "--out", str(out)) == 0
    assert json.loads(out.read_text())["cases"] == 7
    assert evidence(*common, "--threshold", "10", "--out", str(out), "--force") == 0
    assert json.loads(out.read_text())["cases"] == "<10"


def test_a_threshold_of_2_is_refused_as_one_that_gives_counts_away(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """At 2, two counts of 1 beside their total of 2 give each other away whatever is withheld
    (each is 0 or 1, the total 2 or more); 1 withholds nothing, 3 works."""
    make_db(tmp_path / "a.db", [Made("N", "x", START + timedelta(days=n)) for n in range(7)])
    out = tmp_path / "r.json"
    common = ["--db", str(tmp_path / "a.db"), "--until", UNTIL.isoformat(), "--format", "json"]
    for refused in ("2", "0", "-1"):
        assert evidence(*common, "--threshold", refused, "--out", str(out)) == 2
        assert messages.CLI_THRESHOLD_TOO_LOW in capsys.readouterr().err
        assert not out.exists()
    for allowed in ("1", "3"):
        assert evidence(*common, "--threshold", allowed, "--out", str(out), "--force") == 0


# --- The page -----------------------------------------------------------------------------------


def test_the_html_is_one_self_contained_file_with_charts_tables_and_methods(tmp_path: Path) -> None:
    make_db(tmp_path / "a.db", random_cases(random.Random(9), [f"S{n}" for n in range(8)], 400))
    out = tmp_path / "r.html"
    assert (
        evidence("--db", str(tmp_path / "a.db"), "--until", UNTIL.isoformat(), "--out", str(out))
        == 0
    )
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    for attribute in ("src=", "href=", "url(", "@import", "http://", "https://"):
        assert attribute not in page.lower()
    assert "default-src 'none'" in page
    assert page.count("<svg") == 3 and page.count("<table") == 3
    assert "How these figures are made" in page and "censored" in page
    assert "@page{size:A4" in page and 'name="viewport"' in page
    assert "8 schools reported" in page


# --- In chat ------------------------------------------------------------------------------------


async def test_a_lead_gets_their_own_schools_report_privately(chat: Chat) -> None:
    for n in range(6):
        await chat.say(
            f"https://www.tiktok.com/@someone/video/{n}", user=f"staff{n}", school="Northfield"
        )
    await chat.say("https://instagram.com/p/Abc", user="tom", school="Southgate")
    [reply] = await chat.command("cases", "evidence", user="lena")
    assert reply.private and reply.to_user is not None and reply.to_user.id == "lena"
    assert reply.text == messages.evidence_ready("Northfield")
    assert reply.attachment is not None and reply.attachment.name.endswith(".html")
    page = reply.attachment.data.decode("utf-8")
    assert "Northfield" in page and "Southgate" not in page
    assert "staff at Northfield reported 6 posts" in page
    assert "tiktok.com" not in page and "<script" not in page
    refused = await chat.command("cases", "evidence", user="alex")
    assert texts(refused) == messages.NOT_A_LEAD


def test_school_filter_and_until_defaulting_to_today(tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    cases = [Made("Northfield", "x", today - timedelta(days=n)) for n in range(6)]
    cases += [Made("Southgate", "tiktok", today - timedelta(days=n)) for n in range(8)]
    make_db(tmp_path / "a.db", cases)
    exported = export(tmp_path / "a.db", tmp_path / "a.json")
    for source in (["--db", str(tmp_path / "a.db")], ["--from", str(exported)]):
        out = tmp_path / "r.json"
        common = [*source, "--format", "json", "--threshold", "1", "--out", str(out), "--force"]
        assert evidence(*common, "--school", "Southgate") == 0
        report = json.loads(out.read_text())
        assert report["period"]["until"] == today.isoformat()
        assert report["cases"] == 8 and report["schools"] == 1
        assert [p["platform"] for p in report["platforms"]] == ["tiktok", "all"]
        assert evidence(*common, "--school", "Southgate", "Northfield") == 0
        assert json.loads(out.read_text())["cases"] == 14
