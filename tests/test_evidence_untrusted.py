"""`casebook evidence --from FILE` with files that cannot be trusted: one line, exit 2.

Each test writes the file an association might be sent (or a mistake might make) and runs the
command as a person would; the answer must name the file and, where there is one, the record.
"""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from handlers.evidence import sources

GOOD: dict[str, Any] = {
    "id": 1,
    "school": "Northfield",
    "status": "reported",
    "urgent": False,
    "platform": "tiktok",
    "url": None,
    "categories": ["harassment"],
    "reported_to_platform_at": "2026-10-02",
    "removed_at": None,
    "reporters": 1,
    "assignee": None,
    "created_at": "2026-10-01",
    "updated_at": "2026-10-02",
    "closed_at": None,
    "close_reason": None,
    "deployment": "d1",
    "case_key": "k1",
    "links": None,
}


def _refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run evidence on these arguments; it must refuse in exactly one line and write nothing."""
    out = tmp_path / "report.html"
    code = main(["evidence", *args, "--until", "2026-11-30", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    [line] = captured.err.splitlines()
    assert "Traceback" not in line and not out.exists()
    return line


def _file(tmp_path: Path, text: str, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _records(*records: dict[str, Any]) -> str:
    return json.dumps([GOOD, *records])


def test_a_number_of_5000_digits_names_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _records({**GOOD, "case_key": "k2"}).replace('"id": 1', '"id": ' + "7" * 5000, 1)
    path = _file(tmp_path, text)
    line = _refused(tmp_path, capsys, "--from", str(path))
    assert f"{path}: record 1: 'id' is not a case number" in line
    assert len(line) < 300


def test_a_list_where_a_category_belongs_names_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, _records({**GOOD, "id": 2, "categories": [["threat"]]}))
    line = _refused(tmp_path, capsys, "--from", str(path))
    assert f"{path}: record 2 (case 2): 'categories'" in line


def test_100000_nested_brackets_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, "[" * 100_000 + "]" * 100_000)
    line = _refused(tmp_path, capsys, "--from", str(path))
    assert f"{path}: is not a JSON export" in line and "nested" in line


def test_until_in_year_9999_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, _records())
    out = tmp_path / "report.html"
    code = main(["evidence", "--from", str(path), "--until", "9999-12-31", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2 and not out.exists()
    [line] = captured.err.splitlines()
    today = datetime.now(UTC).date()
    assert f"--until 9999-12-31 is after today ({today})" in line


def test_since_in_year_1_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, _records())
    line = _refused(tmp_path, capsys, "--from", str(path), "--since", "0001-01-01")
    assert "--since 0001-01-01 is before 2000-01-01" in line


def test_created_in_year_1_is_refused_not_a_page_of_two_thousand_years(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(
        tmp_path, _records({**GOOD, "id": 2, "case_key": "k2", "created_at": "0001-01-01"})
    )
    line = _refused(tmp_path, capsys, "--from", str(path))
    assert f"{path}: record 2 (case 2): 'created_at' is 0001-01-01, before 2000-01-01" in line


@pytest.mark.parametrize(
    ("dates", "before"),
    [
        ({"reported_to_platform_at": "2026-10-05", "removed_at": "2026-10-03"}, "reported"),
        ({"reported_to_platform_at": None, "removed_at": "2026-09-20"}, "created_at"),
    ],
)
def test_a_removal_before_the_report_or_the_case_is_refused_not_counted_as_0_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dates: dict[str, Any], before: str
) -> None:
    path = _file(tmp_path, _records({**GOOD, "id": 3, "case_key": "k3", **dates}))
    line = _refused(tmp_path, capsys, "--from", str(path))
    assert f"{path}: record 2 (case 3): 'removed_at' ({dates['removed_at']}) is before" in line
    assert before in line


def test_a_1_gb_file_is_refused_unread_and_the_limit_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as stream:
        stream.truncate(1 << 30)  # sparse: a gigabyte on paper, nothing on disk
    line = _refused(tmp_path, capsys, "--from", str(path))
    assert f"{path}: is larger than {sources.MAX_BYTES // (1024 * 1024)} MB" in line


def test_dev_zero_is_read_only_up_to_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _refused(tmp_path, capsys, "--from", "/dev/zero")
    assert f"/dev/zero: is larger than {sources.MAX_BYTES // (1024 * 1024)} MB" in line


def test_control_characters_in_a_file_name_are_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _file(tmp_path, "{not json", name="a\nb\x1b[2Jc.json")
    line = _refused(tmp_path, capsys, "--from", str(path))
    assert "a\\nb\\x1b[2Jc.json: is not a JSON export" in line
    assert "\x1b" not in line


@pytest.mark.parametrize(
    "identifying",
    [
        {"url": "https://x.com/pat/status/1"},
        {"links": ["https://x.com/pat/status/1"]},
        {"reporters": ["Pat Reporter"]},
        {"assignee": "Sam Lead"},
    ],
)
def test_a_full_export_is_refused_and_the_refusal_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], identifying: dict[str, Any]
) -> None:
    path = _file(tmp_path, _records({**GOOD, "id": 2, "case_key": "k2", **identifying}))
    line = _refused(tmp_path, capsys, "--from", str(path))
    assert f"{path}: record 2 (case 2): is a full export" in line
    assert "names and links must not reach an association" in line
    assert "--allow-identifying" in line


def test_allow_identifying_reads_a_full_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = {**GOOD, "id": 2, "case_key": "k2", "url": "https://x.com/pat/status/1"}
    path = _file(tmp_path, _records(full))
    out = tmp_path / "r.json"
    args = ["evidence", "--from", str(path), "--until", "2026-11-30", "--format", "json"]
    code = main([*args, "--threshold", "1", "--allow-identifying", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["cases"] == 2
    assert "x.com/pat" not in out.read_text(encoding="utf-8")


def test_a_file_that_goes_wrong_early_is_refused_without_reading_the_rest_into_objects(
    tmp_path: Path,
) -> None:
    # Eight megabytes of empty lists would be some 150 MB of Python objects, read at once.
    path = _file(tmp_path, "[" + json.dumps({**GOOD, "id": "one"}) + ",[]" * 2_800_000 + "]")
    tracemalloc.start()
    try:
        with pytest.raises(sources.EvidenceInputError, match="record 1: 'id' is not a case number"):
            sources.read_export(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * path.stat().st_size


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "Expecting value"),
        ("[" + json.dumps(GOOD) + ",]", "Expecting value"),
        ("[" + json.dumps(GOOD) + " " + json.dumps(GOOD) + "]", "Expecting ',' delimiter"),
        ("[" + json.dumps(GOOD) + "] []", "Extra data"),
        ("[" + json.dumps(GOOD), "Expecting ',' delimiter"),
    ],
)
def test_a_broken_list_of_records_is_not_a_json_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    path = _file(tmp_path, text)
    line = _refused(tmp_path, capsys, "--from", str(path))
    assert f"{path}: is not a JSON export" in line and words in line


def test_whitespace_anywhere_json_allows_it_is_read(tmp_path: Path) -> None:
    path = _file(tmp_path, " \n[ \n" + json.dumps(GOOD, indent=3) + " \n ]\r\n")
    assert [row.key for row in sources.read_export(path)] == ["k1"]
    assert sources.read_export(_file(tmp_path, " [ ] ", name="empty.json")) == []
