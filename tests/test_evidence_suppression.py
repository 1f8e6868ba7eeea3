"""Small numbers in the evidence report: what is hidden, how it is labelled, and that no hidden
count can be worked out from what is published.

"Worked out" is checked as an analyst would attack the tables: every published total and its
published parts are equations, a "<5" is a number from 0 to 4, a "withheld" one is 5 or more, and
a linear program finds the smallest and largest value each hidden count can take. If the two are
less than 1 apart, the count is known; that is allowed only for a zero, which names no one.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import random
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from handlers.evidence import html, tables
from handlers.evidence.figures import ALL, OTHERS, WITHHELD, build, iso_week
from handlers.evidence.suppression import Hidden, suppress
from storage.evidence import EvidenceRow
from tests.test_association_report import (
    START,
    UNTIL,
    Made,
    assert_still_up_matches,
    evidence,
    expected_durations,
    export,
    make_db,
    random_cases,
    scipy_figures,
)

pytestmark = pytest.mark.filterwarnings("ignore:The confidence interval is undefined")

Cell = tuple[str, str, str]  # (table, platform, measure) as in the CSV


def csv_cells(text: str) -> dict[Cell, str]:
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    return {(r["table"], r["platform"], r["measure"]): r["value"] for r in rows}


def published_relations(cells: dict[Cell, str]) -> list[list[Cell]]:
    """Every sum a reader can see in the tables: parts, then their total."""
    platforms = [p for t, p, m in cells if t == "platforms" and m == "cases" and p != ALL] + [ALL]
    weeks = sorted({m for t, _, m in cells if t == "weekly"})
    kinds = sorted({m for t, _, m in cells if t == "categories"})
    relations = [[("platforms", p, m) for p in platforms] for m in ("cases", "reported", "removed")]
    relations += [[("weekly", p, w) for p in platforms] for w in weeks]
    relations += [[("categories", p, k) for p in platforms] for k in kinds]
    if weeks:
        relations += [
            [("weekly", p, w) for w in weeks] + [("platforms", p, "cases")] for p in platforms
        ]
    return [relation for relation in relations if all(key in cells for key in relation)]


def worked_out(cells: dict[Cell, str], threshold: int) -> list[tuple[Cell, float, float]]:
    """The hidden counts whose value the published figures pin down, with their range."""
    label = f"<{threshold}"
    hidden = [key for key, value in cells.items() if value in (label, WITHHELD)]
    if not hidden:
        return []
    index = {key: n for n, key in enumerate(hidden)}
    rows, rhs = [], []
    for relation in published_relations(cells):
        row = [0.0] * len(hidden)
        constant = 0.0
        for position, key in enumerate(relation):
            sign = -1.0 if position == len(relation) - 1 else 1.0
            if key in index:
                row[index[key]] += sign
            else:
                constant += sign * float(cells[key])
        if any(row):
            rows.append(row)
            rhs.append(-constant)
    bounds = [
        (0.0, threshold - 1.0) if cells[key] == label else (float(threshold), None)
        for key in hidden
    ]
    # Solutions for a few random objectives settle most counts at once: one that takes two
    # values at least 1 apart is not known. Each count left gets its own smallest and largest.
    chance = random.Random(0)
    seen: list[list[float]] = [[] for _ in hidden]
    for _ in range(4):
        goal = [chance.uniform(0.1, 1) for _ in hidden]
        result = linprog(goal, A_eq=rows or None, b_eq=rhs or None, bounds=bounds, method="highs")
        if result.status == 0:
            for n, value in enumerate(result.x):
                seen[n].append(float(value))
    found = []
    for key, n in index.items():
        if seen[n] and max(seen[n]) - min(seen[n]) >= 1 - 1e-9:
            continue
        ranges = []
        for direction in (1.0, -1.0):
            goal = [0.0] * len(hidden)
            goal[n] = direction
            result = linprog(
                goal, A_eq=rows or None, b_eq=rhs or None, bounds=bounds, method="highs"
            )
            assert result.status in (0, 3), (key, result.message)  # feasible, maybe unbounded
            ranges.append(direction * result.fun if result.status == 0 else float("inf"))
        low, high = ranges[0], ranges[1]
        if high - low < 1 - 1e-9 and high >= 1 - 1e-9:
            found.append((key, low, high))
    return found


def truth(cases: list[Made], until: date, grouped: list[str]) -> dict[Cell, int]:
    """Every count the report publishes, counted again from the cases themselves."""
    counted = [c for c in cases if c.close_reason not in ("duplicate", "not-abuse", "withdrawn")]
    true: Counter[Cell] = Counter()
    for c in counted:
        for name in (OTHERS if c.platform in grouped else c.platform, ALL):
            true["platforms", name, "cases"] += 1
            true["platforms", name, "reported"] += c.reported is not None
            true["platforms", name, "removed"] += c.removed is not None and c.removed <= until
            true["weekly", name, iso_week(c.created)] += 1
            for kind in c.categories:
                true["categories", name, kind] += 1
    return true


# --- Point 1: a withheld count is never labelled as small ----------------------------------------


def _rows(platform: str, count: int, reported: int = 0, day: date = START) -> list[EvidenceRow]:
    return [
        EvidenceRow(
            "d",
            f"{platform}{n}",
            f"S{n % 3}",
            platform,
            day,
            day if n < reported else None,
            None,
            None,
            None,
            ("harassment",),
            "",
        )
        for n in range(count)
    ]


def test_a_count_hidden_only_to_protect_another_reads_withheld_not_fewer_than() -> None:
    # One week: YouTube's 7 and TikTok's 40 beside Instagram's 2 (grouped, and still small).
    rows = (
        _rows("youtube", 7, reported=7)
        + _rows("tiktok", 40, reported=30)
        + _rows("instagram", 2, reported=2)
    )
    report = build(rows, START + timedelta(days=2), since=START)
    document = json.loads(tables.to_json(report))
    by_name = {p["platform"]: p for p in document["platforms"]}
    assert by_name[OTHERS]["cases"] == "<5" and by_name[OTHERS]["members"] == ["instagram"]
    assert by_name["youtube"]["cases"] == 7 and by_name["tiktok"]["cases"] == 40
    assert by_name[ALL]["cases"] == "withheld" and document["cases"] == "withheld"
    cells = csv_cells(tables.to_csv(report))
    assert cells["platforms", ALL, "cases"] == "withheld"
    for key, value in cells.items():
        if value == "<5" and key[2] in ("cases", "reported"):
            assert key[1] == OTHERS, key
    page = html.render(report, UNTIL)
    assert "withheld<sup>*</sup>" in page
    assert "* Withheld: this count is 5 or more" in page
    youtube_row = re.search(r"<tr><td>YouTube</td>(.*?)</tr>", page)
    assert youtube_row is not None and youtube_row.group(1).startswith("<td>7</td>")
    assert "<td>7 (100 %)</td>" in youtube_row.group(1)  # reported, and its share


def test_the_all_platforms_row_has_estimates_only_while_its_reported_count_is_published() -> None:
    published = build(
        _rows("x", 20, reported=20) + _rows("tiktok", 10, reported=10),
        START + timedelta(days=2),
        since=START,
    )
    everything = next(p for p in published.platforms if p.platform == ALL)
    assert everything.reported == 30 and everything.curve is not None
    # Instagram's 2 reported posts are hidden, so the total row's 39 is withheld to protect
    # them, and its curve (whose steps are fractions of it) with it.
    withheld = build(
        _rows("youtube", 7, reported=7)
        + _rows("tiktok", 40, reported=30)
        + _rows("instagram", 2, reported=2),
        START + timedelta(days=2),
        since=START,
    )
    everything = next(p for p in withheld.platforms if p.platform == ALL)
    assert everything.reported == WITHHELD and everything.curve is None


def test_a_platform_whose_removals_are_hidden_publishes_no_estimate_that_counts_them() -> None:
    # TikTok: 7 reported, 2 removed ("<5"). Its curve steps down by fractions of what is still
    # up, so any share it gives (5 of 7 still up: 0.714) tells the 2: no curve, share or median.
    rows = _rows("tiktok", 7, reported=7) + _rows("x", 20, reported=20)
    rows = [
        dataclasses.replace(r, removed=START + timedelta(days=1))
        if r.key in ("tiktok0", "tiktok1")
        else r
        for r in rows
    ]
    report = build(rows, START + timedelta(days=10), since=START)
    tiktok = next(p for p in report.platforms if p.platform == "tiktok")
    assert (tiktok.reported, tiktok.removed) == (7, "<5")
    assert tiktok.curve is None and tiktok.km_median_days is None
    assert all(share is None for share in tiktok.still_up_after_days.values())
    # With none removed, the curve says only that none were: a zero names no one.
    none_removed = build(_rows("tiktok", 7, reported=7), START + timedelta(days=10), since=START)
    tiktok = next(p for p in none_removed.platforms if p.platform == "tiktok")
    assert tiktok.removed == "<5" and tiktok.curve is not None
    still_up = tiktok.still_up_after_days[7]
    assert still_up is not None and still_up.share == 1.0


def test_with_threshold_3_only_counts_below_3_read_fewer_than_3(tmp_path: Path) -> None:
    cases = [Made("N", "youtube", START + timedelta(days=n % 3)) for n in range(7)]
    cases += [Made("N", "tiktok", START + timedelta(days=n % 3)) for n in range(2)]
    cases += [Made("M", "x", START + timedelta(days=n % 3)) for n in range(12)]
    make_db(tmp_path / "a.db", cases)
    out = tmp_path / "r.csv"
    common = ["--db", str(tmp_path / "a.db"), "--since", START.isoformat()]
    until = (START + timedelta(days=4)).isoformat()
    assert (
        evidence(
            *common, "--until", until, "--threshold", "3", "--format", "csv", "--out", str(out)
        )
        == 0
    )
    cells = csv_cells(out.read_text(encoding="utf-8-sig"))
    true = truth(cases, START + timedelta(days=4), grouped=["tiktok"])
    assert cells["platforms", "youtube", "cases"] == "7"
    smalls = [key for key, value in cells.items() if value == "<3"]
    assert smalls and all(true[key] < 3 for key in smalls if key[0] != "summary")
    assert worked_out(cells, 3) == []


# --- Point 2: group first, then withhold totals, weeks and kinds before a platform's figures ----


def test_small_platforms_are_grouped_and_a_big_one_keeps_its_counts_and_estimates() -> None:
    rows = (
        _rows("x", 96, reported=90)
        + _rows("snapchat", 3, reported=3)
        + _rows("threads", 2, reported=1)
        + _rows("tiktok", 30, reported=25)
    )
    # X's posts: half removed after 2 days.
    rows = [
        dataclasses.replace(r, removed=START + timedelta(days=2))
        if r.platform == "x" and int(r.key[1:]) % 2 == 0
        else r
        for r in rows
    ]
    report = build(rows, START + timedelta(days=20), since=START)
    names = [p.platform for p in report.platforms]
    assert names == ["tiktok", "x", OTHERS, ALL]
    assert report.grouped == ["snapchat", "threads"]
    x = report.platforms[1]
    assert (x.cases, x.reported, x.removed) == (96, 90, 48)
    assert x.km_median_days == 2 and x.curve is not None
    assert all(x.still_up_after_days[d] is not None for d in (1, 2, 3, 7))
    others = report.platforms[2]
    assert others.cases == 5 and others.reported == "<5" and others.curve is None


def test_a_group_that_reaches_the_threshold_is_published() -> None:
    rows = _rows("snapchat", 3, reported=1) + _rows("threads", 2) + _rows("x", 20, reported=20)
    report = build(rows, START + timedelta(days=3), since=START)
    others = next(p for p in report.platforms if p.platform == OTHERS)
    assert others.cases == 5 and report.cases == 25


def _generated(sizes: list[int], days: list[int], threshold: int, seed: int) -> list[EvidenceRow]:
    chance = random.Random(seed)
    platforms = ["tiktok", "instagram", "facebook", "snapchat", "x", "youtube"]
    rows = []
    for platform, size in zip(platforms, sizes, strict=False):
        for n in range(size):
            created = START + timedelta(days=chance.choice(days))
            reported = created if chance.random() < 0.8 else None
            removed = (
                reported + timedelta(days=chance.randint(0, 9))
                if reported and chance.random() < 0.6
                else None
            )
            kinds = tuple(chance.sample(["harassment", "threat", "hate-racist-faith"], 1))
            rows.append(
                EvidenceRow(
                    "d",
                    f"{platform}{n}",
                    f"S{n % 4}",
                    platform,
                    created,
                    reported,
                    removed,
                    None,
                    None,
                    kinds,
                    "",
                )
            )
    return rows


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=6),
    days=st.lists(st.integers(0, 20), min_size=1, max_size=6),
    threshold=st.sampled_from([3, 5, 10]),
    seed=st.integers(0, 10_000),
)
def test_no_hidden_count_can_be_worked_out_through_totals_weeks_or_kinds(
    sizes: list[int], days: list[int], threshold: int, seed: int
) -> None:
    rows = _generated(sizes, days, threshold, seed)
    report = build(rows, START + timedelta(days=30), since=START, threshold=threshold)
    cells = csv_cells(tables.to_csv(report))
    for key, value in cells.items():
        if value.startswith("<"):
            assert value == f"<{threshold}", key
    assert worked_out(cells, threshold) == []
    for figures in report.platforms:
        counts_shown = isinstance(figures.reported, int) and isinstance(figures.removed, int)
        # A curve whose steps would give a hidden reported or removed count away is withheld.
        if figures.curve is not None:
            assert counts_shown or not figures.curve.steps, figures.platform
        # A platform with enough reported posts, both counts published, keeps its estimates.
        actual = sum(1 for r in rows if r.platform == figures.platform and r.reported)
        if figures.platform not in (ALL, OTHERS) and actual >= threshold and counts_shown:
            assert figures.curve is not None, figures.platform


def test_the_attack_finds_a_count_given_away_by_one_hidden_cell() -> None:
    """The checker itself: one hidden part beside its total is found, two are not."""
    cells: dict[Cell, str] = {
        ("platforms", "x", "cases"): "40",
        ("platforms", OTHERS, "cases"): "<5",
        ("platforms", ALL, "cases"): "43",
    }
    assert [key for key, _, _ in worked_out(cells, 5)] == [("platforms", OTHERS, "cases")]
    cells["platforms", ALL, "cases"] = WITHHELD
    assert worked_out(cells, 5) == []
    # A withheld count is 5 or more: beside a "<5" adding up to a published 5, it is known
    # (and the "<5" is a zero, which is allowed to be known).
    cells = {
        ("platforms", "x", "cases"): WITHHELD,
        ("platforms", OTHERS, "cases"): "<5",
        ("platforms", ALL, "cases"): "5",
    }
    assert [key for key, _, _ in worked_out(cells, 5)] == [("platforms", "x", "cases")]


# --- Acceptance 2: three deployments, about 100 X cases and 3 Snapchat cases ---------------------


def test_x_keeps_everything_and_snapchats_three_cannot_be_worked_out(tmp_path: Path) -> None:
    chance = random.Random(29)
    deployments = {
        "a": random_cases(chance, ["Northfield", "Eastfield"], 140),
        "b": random_cases(chance, ["Southgate"], 100),
        "c": random_cases(chance, ["Westbrook", "Hill"], 160),
    }
    for n, name in enumerate(("a", "b", "c")):  # Snapchat: one case in each deployment
        day = START + timedelta(days=9 * n + 3)
        deployments[name].append(Made("Southgate", "snapchat", day, day))
    every = [c for cases in deployments.values() for c in cases]
    x_cases = sum(1 for c in every if c.platform == "x")
    assert 85 <= x_cases <= 115
    files = []
    for name, cases in deployments.items():
        make_db(tmp_path / f"{name}.db", cases)
        files.append(str(export(tmp_path / f"{name}.db", tmp_path / f"{name}.json")))
    paths = {fmt: tmp_path / f"report.{fmt}" for fmt in ("json", "csv", "html")}
    for fmt, path in paths.items():
        args = ["--from", *files, "--until", UNTIL.isoformat(), "--format", fmt]
        assert evidence(*args, "--out", str(path)) == 0

    report = json.loads(paths["json"].read_text())
    by_name = {p["platform"]: p for p in report["platforms"]}
    assert "snapchat" not in by_name and by_name[OTHERS]["members"] == ["snapchat"]
    counted = [c for c in every if c.close_reason not in ("duplicate", "not-abuse", "withdrawn")]
    mine = [c for c in counted if c.platform == "x"]
    x = by_name["x"]
    assert x["cases"] == len(mine)
    assert x["reported"] == sum(1 for c in mine if c.reported)
    assert x["removed"] == sum(1 for c in mine if c.removed and c.removed <= UNTIL)
    expected = scipy_figures(*expected_durations(mine, UNTIL))
    for key in ("km_median_days", "km_median_ci", "km_p90_days"):
        assert x[key] == expected[key], key
    assert x["km_median_days"] is not None
    assert_still_up_matches(x["still_up_after_days"], expected["still_up_after_days"])

    cells = csv_cells(paths["csv"].read_text(encoding="utf-8-sig"))
    true = truth(every, UNTIL, grouped=["snapchat"])
    for key, value in cells.items():
        if value == "<5" and key[0] != "summary":
            assert true[key] < 5, (key, true[key])
        if key[1] == "x" and key[2] in ("cases", "reported", "removed"):
            assert value not in ("<5", WITHHELD), key
    assert cells["platforms", OTHERS, "cases"] == "<5"
    assert worked_out(cells, 5) == []

    page = paths["html"].read_text()
    x_row = re.search(r"<tr><td>X \(Twitter\)</td>(.*?)</tr>", page)
    assert x_row is not None
    assert "fewer than" not in x_row.group(1) and "withheld" not in x_row.group(1)
    assert f"<td>{len(mine)}</td>" in x_row.group(1)


# --- Which counts secondary suppression withholds, asked of `suppress` itself ---------------------


def _given_away(
    values: dict[str, int], relations: list[list[str]], hidden: Hidden[str], threshold: int
) -> list[str]:
    """The hidden counts other than zeros that the relations, read together, pin to one value."""
    keys = sorted(hidden.small | hidden.withheld)
    rows, rhs = [], []
    for relation in relations:
        row, constant = [0.0] * len(keys), 0.0
        for position, key in enumerate(relation):
            sign = -1.0 if position == len(relation) - 1 else 1.0
            if key in hidden:
                row[keys.index(key)] += sign
            else:
                constant += sign * values[key]
        rows.append(row)
        rhs.append(-constant)
    bounds = [(0.0, threshold - 1.0) if k in hidden.small else (threshold, None) for k in keys]
    found = []
    for n, key in enumerate(keys):
        ends = []
        for direction in (1.0, -1.0):
            goal = [0.0] * len(keys)
            goal[n] = direction
            result = linprog(goal, A_eq=rows, b_eq=rhs, bounds=bounds, method="highs")
            ends.append(direction * result.fun if result.status == 0 else float("inf"))
        if ends[1] - ends[0] < 1 - 1e-9 and values[key] != 0:
            found.append(key)
    return found


def test_suppression_withholds_more_while_the_tables_together_still_give_a_count_away() -> None:
    # a is 0 and b is 2, both small. Each relation is safe with c withheld beside them, yet
    # together they are not: c + a = 6 and a + c + b = 8 make b = 2 whatever a and c are. So
    # t1 is withheld too, in a second round.
    values = {"a": 0, "b": 2, "c": 6, "t0": 6, "t1": 8}
    relations = [["c", "a", "t0"], ["a", "c", "b", "t1"]]
    assert _given_away(values, relations, Hidden(frozenset("ab"), frozenset("c")), 5) == ["b"]
    hidden = suppress(values, relations, 5)
    assert (hidden.small, hidden.withheld) == ({"a", "b"}, {"c", "t1"})
    assert _given_away(values, relations, hidden, 5) == []


def test_a_withheld_count_leaves_its_relation_two_values_not_just_the_preferred_kind() -> None:
    # c is small, so a count beside it in t0 is withheld: a (the most preferred, kind 0). Then
    # a is alone hidden in t1; b is preferred to the headline t1, but two counts of 5 or more
    # adding up to a published 10 are both known to be 5, so t1 is withheld instead.
    values = {"a": 5, "b": 5, "c": 2, "t0": 12, "t1": 10}
    kind = {"a": 0, "b": 1, "c": 0, "t0": 2, "t1": 2}
    relations = [["b", "a", "c", "t0"], ["a", "b", "t1"]]
    hidden = suppress(values, relations, 5, kind.__getitem__)
    assert (hidden.small, hidden.withheld) == ({"c"}, {"a", "t1"})
    assert _given_away(values, relations, hidden, 5) == []


def test_one_withheld_count_protects_a_small_one_in_both_tables_that_publish_its_sum() -> None:
    # b is small and a + b is published twice (t0 and t1). Withholding a protects b in both;
    # the look-ahead counts t1 as left to mend only while it is unsafe, and withholding a
    # leaves it safe, so t0 is not withheld as well.
    values = {"a": 8, "b": 3, "t0": 11, "t1": 11}
    kind = {"a": 1, "b": 1, "t0": 2, "t1": 2}
    relations = [["a", "b", "t0"], ["a", "b", "t1"]]
    hidden = suppress(values, relations, 5, kind.__getitem__)
    assert (hidden.small, hidden.withheld) == ({"b"}, {"a"})


def test_a_count_the_tables_give_away_together_is_protected_by_the_pick_forcing_no_other() -> None:
    # b + a = t2 (a published) makes b = 0, so t1 = c + b + a gives c = 4 away. Withholding a
    # (the first by key and by kind) would leave a pinned in two relations beside headline
    # counts only, to be mended with t0 and t2; withholding t1 forces nothing.
    values = {"a": 5, "b": 0, "c": 4, "t0": 5, "t1": 9, "t2": 5}
    kind = {"a": 0, "b": 1, "c": 0, "t0": 2, "t1": 2, "t2": 2}
    relations = [["a", "t0"], ["c", "b", "a", "t1"], ["b", "a", "t2"]]
    hidden = suppress(values, relations, 5, kind.__getitem__)
    assert (hidden.small, hidden.withheld) == ({"b", "c"}, {"t1"})
    assert _given_away(values, relations, hidden, 5) == []


def test_a_count_withheld_for_the_tables_together_has_its_own_relations_mended_first() -> None:
    # Read together, the relations give c = 2 away (d + b + a = t1 makes b = 0). a is withheld
    # for it, which leaves a alone beside b in t1: mended at once with d, a count of the
    # preferred kind, before the tables are read together again, so t0 is never needed.
    values = {"a": 3, "b": 0, "c": 2, "d": 5, "t0": 5, "t1": 8, "t2": 2}
    kind = {"a": 0, "b": 1, "c": 0, "d": 0, "t0": 2, "t1": 2, "t2": 2}
    relations = [["c", "a", "b", "t0"], ["d", "b", "a", "t1"], ["c", "t2"]]
    hidden = suppress(values, relations, 3, kind.__getitem__)
    assert (hidden.small, hidden.withheld) == ({"b", "c", "t2"}, {"a", "d"})
    assert _given_away(values, relations, hidden, 3) == []


def test_a_small_count_with_two_values_left_needs_nothing_more_withheld() -> None:
    # With a threshold of 2, b is "<2": 0 or 1. The 3 beside it is withheld, so it is 3 or 4:
    # two values each, which is enough. The total is not withheld as well.
    values = {"a": 3, "b": 1, "t": 4}
    hidden = suppress(values, [["a", "b", "t"]], 2)
    assert (hidden.small, hidden.withheld) == ({"b"}, {"a"})


def test_the_bounds_a_reader_knows_count_when_the_tables_are_read_together() -> None:
    # a, c and t1 are small (0 to 2, with a threshold of 3). Each relation is safe once t0 is
    # withheld, but together they say c = 5 - 2a (a = t1, t1 + t0 = 12, b + c + a = t0 with
    # b = 7), and only a = 2 leaves c within 0 to 2: both are known. So more is withheld.
    values = {"a": 2, "b": 7, "c": 1, "t0": 10, "t1": 2, "T": 12}
    relations = [["b", "c", "a", "t0"], ["a", "t1"], ["t1", "t0", "T"]]
    assert _given_away(values, relations, Hidden(frozenset({"a", "c", "t1"}), frozenset({"t0"})), 3)
    hidden = suppress(values, relations, 3)
    assert (hidden.small, hidden.withheld) == ({"a", "c", "t1"}, {"b", "t0", "T"})
    assert _given_away(values, relations, hidden, 3) == []


def test_a_small_count_two_published_sums_differ_by_is_protected_whatever_comes_first() -> None:
    # t0 - t1 is c, so once a and b are withheld (each relation is then safe) t0 must be too.
    # The first table, s and its total u (both small, both "<3"), gives nothing away; it is
    # read first and must not end the search.
    values = {"s": 1, "u": 1, "a": 9, "b": 6, "c": 1, "t0": 16, "t1": 15}
    relations = [["s", "u"], ["a", "b", "c", "t0"], ["a", "b", "t1"]]
    hidden = suppress(values, relations, 3)
    assert (hidden.small, hidden.withheld) == ({"s", "u", "c"}, {"a", "b", "t0"})
    assert _given_away(values, relations, hidden, 3) == []


def test_withheld_counts_with_no_upper_limit_still_protect_a_small_one() -> None:
    # c is small; a, b and t0 are withheld, so a + b + c = t0 puts no upper limit on b or t0,
    # while c + a = 32 (published) still holds a down. Nothing more is withheld.
    values = {"a": 30, "b": 3, "c": 2, "t0": 35, "t1": 32}
    relations = [["a", "b", "c", "t0"], ["c", "a", "t1"]]
    hidden = suppress(values, relations, 3)
    assert (hidden.small, hidden.withheld) == ({"c"}, {"a", "b", "t0"})
    assert _given_away(values, relations, hidden, 3) == []


def test_two_small_counts_at_the_top_of_their_range_are_known_from_their_sum() -> None:
    # With a threshold of 3, a and c are "<3" (0 to 2), and t0 - b says they add up to 4:
    # both must be 2. So b is withheld (the preferred kind), and that is enough.
    values = {"a": 2, "b": 12, "c": 2, "t0": 16}
    kind = {"a": 1, "b": 0, "c": 1, "t0": 2}
    hidden = suppress(values, [["a", "c", "b", "t0"]], 3, kind.__getitem__)
    assert (hidden.small, hidden.withheld) == ({"a", "c"}, {"b"})


def test_two_withheld_counts_that_are_equal_still_leave_each_many_values() -> None:
    # t0 (the small a's total) is alone hidden beside t1 and T, so t1 is withheld; then t1 is
    # alone hidden beside its one part d, so d is withheld. d = t1 says only that both are
    # the same number of 5 or more, so t1 + t0 = 9 leaves t0 0 to 4: T stays published.
    values = {"a": 2, "d": 7, "t0": 2, "t1": 7, "T": 9}
    relations = [["a", "t0"], ["d", "t1"], ["t1", "t0", "T"]]
    hidden = suppress(values, relations, 5)
    assert (hidden.small, hidden.withheld) == ({"a", "t0"}, {"d", "t1"})
    assert _given_away(values, relations, hidden, 5) == []


@pytest.mark.timeout(60)
def test_suppression_ends_when_a_relation_has_nothing_left_to_withhold() -> None:
    # With a threshold of 2, two counts of 1 are "<2" and their total of 2 is withheld, yet a
    # reader still knows all three (the total is at least 2 and at most 1 + 1). Nothing else
    # can be hidden, so suppression stops there rather than searching for ever.
    values = {"a": 1, "b": 1, "t": 2}
    hidden = suppress(values, [["a", "b", "t"]], 2)
    assert (hidden.small, hidden.withheld) == ({"a", "b"}, {"t"})


def test_a_count_pinned_through_relations_it_is_not_in_has_a_count_withheld_there() -> None:
    # b, c and their total t1 are all small, so t1's own relation has nothing left to withhold;
    # yet a + b + c = t0 with a and t0 published gives b + c = 2, and so t1 = 2. A count of a
    # relation linked to t1 through hidden counts is withheld instead: a or t0.
    values = {"a": 6, "b": 1, "c": 1, "t0": 8, "t1": 2}
    relations = [["a", "b", "c", "t0"], ["b", "c", "t1"]]
    assert _given_away(values, relations, Hidden(frozenset({"b", "c", "t1"}), frozenset()), 5) == [
        "t1"
    ]
    hidden = suppress(values, relations, 5)
    assert hidden.small == {"b", "c", "t1"}
    assert hidden.withheld == {"a"}  # the smaller of the two that would do
    assert _given_away(values, relations, hidden, 5) == []
