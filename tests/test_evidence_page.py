"""The page says what it shows: weekly rows labelled truly, and a school's own page."""

from __future__ import annotations

import re
from datetime import timedelta

from handlers.evidence import html
from handlers.evidence.figures import build
from storage.evidence import EvidenceRow
from tests.chat import Chat
from tests.test_association_report import START, UNTIL


def _rows(platform: str, per_week: list[int], school: str = "S") -> list[EvidenceRow]:
    rows = []
    for week, count in enumerate(per_week):
        day = START + timedelta(days=7 * week)
        rows += [
            EvidenceRow(
                "d",
                f"{platform}{week}-{n}",
                school,
                platform,
                day,
                day,
                None,
                None,
                None,
                ("harassment",),
                "",
            )
            for n in range(count)
        ]
    return rows


def _weekly_rows(page: str) -> dict[str, str]:
    """Each weekly row's labels: platform name -> the text beside it."""
    chart = page[page.index("Cases each week") :]
    chart = chart[: chart.index("</svg>")]
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", chart)
    return {texts[n]: texts[n + 1] for n in range(0, len(texts) - 2, 2)}


def test_a_row_whose_weeks_are_mostly_hidden_gives_its_count_for_the_whole_period() -> None:
    # TikTok: 20 or more every week. X: 3 weeks of 2, 9 weeks of none, one of 9: 15 in all.
    tiktok = _rows("tiktok", [20 + n for n in range(13)])
    x = _rows("x", [2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9])
    report = build(tiktok + x, START + timedelta(days=7 * 13 - 1), since=START)
    labels = _weekly_rows(html.render(report, UNTIL))
    assert labels["X (Twitter)"] == "15 cases in the whole period (most weeks are too few to show)"
    assert "up to" not in labels["X (Twitter)"]
    # Every other row's label holds for the weeks it shows, and only claims a peak for all
    # weeks where none is hidden.
    for name, counts in report.weekly.items():
        label = labels[html.platform_name(name)]
        shown = [c for c in counts if isinstance(c, int)]
        if len(shown) == len(counts):
            assert label == f"up to {max(shown)} a week"
        elif len(shown) * 2 >= len(counts):
            assert label == f"tallest bar shown: {max(shown)}"
        else:
            assert label.endswith("cases in the whole period (most weeks are too few to show)")
        assert label != "up to 1 a week"


def test_a_row_with_a_few_hidden_weeks_does_not_claim_a_peak_for_them() -> None:
    tiktok = _rows("tiktok", [6, 7, 8, 9, 10, 11, 12, 3])
    report = build(tiktok, START + timedelta(days=7 * 8 - 1), since=START)
    labels = _weekly_rows(html.render(report, UNTIL))
    assert labels["TikTok"] == "tallest bar shown: 12"


def test_a_schools_own_page_has_no_schools_column_and_reads_right_for_one_day() -> None:
    rows = _rows("tiktok", [6], school="Northfield")
    report = build(rows, START, since=START, school_name="Northfield")
    page = html.render(report, START)
    header = re.search(r"<thead><tr>(.*?)</tr></thead>", page)
    assert header is not None and "<th>Schools</th>" not in header.group(1)
    assert "<th>Cases</th>" in header.group(1)
    first_row = re.search(r"<tbody><tr><td>TikTok</td>(.*?)</tr>", page)
    assert first_row is not None and first_row.group(1).startswith("<td>6</td><td>6 (100 %)")
    day = f"{START.day} {START:%B %Y}"
    assert f"On {day}, staff at Northfield reported 6 posts." in page
    assert "Between" not in page
    # The association's page keeps the column.
    association = html.render(build(rows, START, since=START), START)
    assert "<th>Schools</th>" in association


async def test_the_chat_report_of_one_school_has_no_schools_column(chat: Chat) -> None:
    for n in range(6):
        await chat.say(
            f"https://www.tiktok.com/@someone/video/{n}", user=f"staff{n}", school="Northfield"
        )
    [reply] = await chat.command("cases", "evidence", user="lena")
    assert reply.attachment is not None
    page = reply.attachment.data.decode("utf-8")
    assert "<th>Schools</th>" not in page and "<th>Cases</th>" in page
    assert re.search(r"On \d+ \w+ \d{4}, staff at Northfield reported 6 posts\.", page)
