"""The time marks: shares still up after 1, 2, 3, 7 and 30 days, the 1-, 2- and 3-day marks
beside the published reference points, and targets given with --target."""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest

from handlers.evidence import html
from handlers.evidence.figures import build
from handlers.evidence.marks import Target, TargetError, parse_target, reference_points
from storage.evidence import EvidenceRow
from tests.test_association_report import (
    START,
    UNTIL,
    assert_still_up_matches,
    evidence,
    scipy_figures,
)

pytestmark = pytest.mark.filterwarnings("ignore:The confidence interval is undefined")
ROOT = Path(__file__).resolve().parent.parent


def _x_rows() -> tuple[list[EvidenceRow], list[int], list[int]]:
    """40 posts on X: removed after 0 to 9 days in turn, every fifth never removed."""
    rows, removed, censored = [], [], []
    until = START + timedelta(days=60)
    for n in range(40):
        gone = None if n % 5 == 4 else START + timedelta(days=n % 10)
        rows.append(
            EvidenceRow("d", str(n), f"S{n % 6}", "x", START, START, gone, None, None, (), "")
        )
        if gone is None:
            censored.append((until - START).days)
        else:
            removed.append((gone - START).days)
    return rows, removed, censored


def test_still_up_after_1_2_3_7_and_30_days_with_intervals_match_scipy(tmp_path: Path) -> None:
    rows, removed, censored = _x_rows()
    report = build(rows, START + timedelta(days=60), since=START)
    x = report.platforms[0]
    expected = scipy_figures(removed, censored)["still_up_after_days"]
    assert_still_up_matches({str(k): v for k, v in x.still_up_after_days.items()}, expected)
    from handlers.evidence import tables

    document = json.loads(tables.to_json(report))
    for figures in document["platforms"]:
        assert list(figures["still_up_after_days"]) == ["1", "2", "3", "7", "30"]
        assert_still_up_matches(figures["still_up_after_days"], expected)


def test_the_page_sets_the_1_2_and_3_day_marks_beside_the_reference_points_and_targets() -> None:
    rows, removed, censored = _x_rows()
    report = build(rows, START + timedelta(days=60), since=START)
    expected = scipy_figures(removed, censored)["still_up_after_days"]
    targets = (Target("x", 2, 0.9), Target("x", 3, 0.25), Target("tiktok", 1, 0.5))
    page = html.render(report, UNTIL, targets)
    section = page[page.index("Removed within 1, 2 and 3 days") :]
    row = re.search(r"<tr><td>X \(Twitter\)</td>(.*?)</tr>", section)
    assert row is not None
    shown = [int(v) for v in re.findall(r"<td>(\d+) %", row.group(1))]
    assert shown == [round((1 - expected[str(d)][0]) * 100) for d in (1, 2, 3)]
    points = json.loads((ROOT / "handlers/evidence/reference_points.json").read_text())["points"]
    assert len(points) >= 3
    for point in points:
        line = f"{point['period']}: {round(point['share'] * 100)} % of {point['measure']}"
        assert html.escape(line) in section, line
    assert "62 %" in section and "39 %" in section and "94 %" in section
    after_2 = round((1 - expected["2"][0]) * 100)
    assert f"report, X (Twitter): 90 % removed within 2 days; estimated {after_2} %" in section
    assert section.count("not met.") == 1 and section.count(": met.") == 1
    assert "report, TikTok: 50 % removed within 1 day; there are too few reported posts" in section


def test_the_reference_points_are_data_shipped_with_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = project["tool"]["setuptools"]["package-data"]["handlers.evidence"]
    assert "reference_points.json" in shipped
    sources = {point.source for point in reference_points()}
    assert any("Report Harmful Content" in s for s in sources)
    assert any("POSH" in s for s in sources)
    code = (ROOT / "handlers/evidence/html.py").read_text()
    assert "62" not in code and "Report Harmful Content" not in code


@pytest.mark.parametrize(
    ("text", "target"),
    [("x:2:0.9", Target("x", 2, 0.9)), ("TikTok:1:75%", Target("tiktok", 1, 0.75))],
)
def test_targets_are_read_as_platform_days_share(text: str, target: Target) -> None:
    assert parse_target(text) == target


@pytest.mark.parametrize("text", ["x:2", "myspace:2:0.9", "x:0:0.9", "x:2:1.5", "x:two:0.9"])
def test_a_target_that_cannot_be_read_is_refused(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(TargetError):
        parse_target(text)
    with pytest.raises(SystemExit) as stopped:
        evidence("--target", text, "--out", str(tmp_path / "r.html"))
    assert stopped.value.code == 2
    assert "PLATFORM:DAYS:SHARE" in capsys.readouterr().err


def _target_lines(page: str) -> list[str]:
    return re.findall(r"<li>Target set for this report, ([^<]*)</li>", page)


def _x_removed_25_of_42_within_a_day() -> list[EvidenceRow]:
    """42 posts on X, 25 removed the day after they were reported: 59.52 % within 2 days."""
    return [
        EvidenceRow(
            "d",
            str(n),
            f"S{n % 6}",
            "x",
            START,
            START,
            START + timedelta(days=1) if n < 25 else None,
            None,
            None,
            (),
            "",
        )
        for n in range(42)
    ]


def test_an_estimate_that_rounds_to_a_target_it_misses_is_shown_with_one_decimal() -> None:
    """59.52 % is "60 %" but misses a 60 % target: the line says 59.5 %, as its verdict does."""
    report = build(_x_removed_25_of_42_within_a_day(), START + timedelta(days=60), since=START)
    page = html.render(report, UNTIL, (Target("x", 2, 0.6), Target("x", 1, 0.5)))
    missed, met = _target_lines(page)
    assert re.fullmatch(
        r"X \(Twitter\): 60 % removed within 2 days; estimated 59\.5 % \(\d+.\d+ %\): not met\.",
        missed,
    ), missed
    assert re.search(r"; estimated 60 % \(\d+.\d+ %\): met\.$", met), met


@pytest.mark.parametrize(
    ("share", "target", "met", "shown"),
    [
        (0.5986, 60, False, "59.9"),
        (0.59996, 60, False, "59.9"),
        (0.5949, 60, False, "59"),
        (0.6, 60, True, "60"),
        (0.6049, 60, True, "60"),
    ],
)
def test_the_percentage_shown_agrees_with_the_verdict(
    share: float, target: int, met: bool, shown: str
) -> None:
    assert html._agreeing_percent(share, target, met) == shown


def test_a_target_given_twice_is_one_line() -> None:
    report = build(_x_removed_25_of_42_within_a_day(), START + timedelta(days=60), since=START)
    twice = (parse_target("x:2:0.9"), Target("x", 1, 0.5), parse_target("x:2:90%"))
    lines = _target_lines(html.render(report, UNTIL, twice))
    assert [line.split(";")[0] for line in lines] == [
        "X (Twitter): 90 % removed within 2 days",
        "X (Twitter): 50 % removed within 1 day",
    ]


def test_a_targets_range_has_the_en_dash_of_the_tables() -> None:
    report = build(_x_removed_25_of_42_within_a_day(), START + timedelta(days=60), since=START)
    page = html.render(report, UNTIL, (Target("x", 2, 0.5),))
    (line,) = _target_lines(page)
    low, high = re.findall(r"\((\d+)\u2013(\d+) %\): met\.$", line)[0]
    assert f"({low}&#8211;{high})" in page  # the table's cell for the same 2-day mark
    assert "-" not in line


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_target_is_refused_in_a_format_that_cannot_show_it(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"r.{fmt}"
    code = evidence(
        "--target", "x:2:0.9", "--format", fmt, "--until", UNTIL.isoformat(), "--out", str(out)
    )
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--target" in err and f"--format {fmt}" in err, err


def test_the_readme_commands_table_names_every_evidence_option() -> None:
    from bot import cli

    (commands,) = (a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction))
    shared = {"-h", "--help", "--config", "--db", "-v", "--verbose"}
    options = {
        option
        for action in commands.choices["evidence"]._actions
        for option in action.option_strings
        if option not in shared
    }
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    (row,) = (line for line in readme if line.startswith("| `casebook evidence "))
    assert "--target" in options
    assert {
        option for option in options if f"{option} " not in row and f"[{option}]" not in row
    } == set()
