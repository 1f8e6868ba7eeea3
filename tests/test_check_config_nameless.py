"""check-config shows a school with no name among every other problem, its own included."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import casebook


def test_a_school_with_no_name_is_one_problem_among_all_the_others(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "[[schools]]\n"  # 1
        'name = ""\n'  # 2
        'timezone = "Mars/Olympus"\n'  # 3
        "[[schools]]\n"  # 4
        'name = "B"\n'  # 5
        "[digest]\n"  # 6
        "chart = 3\n"  # 7
    )
    code, _, err = casebook(capsys, "check-config", str(path))
    assert code == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    expected = [
        (2, "[[schools]] #1 needs a name"),
        (3, "timezone 'Mars/Olympus' is unknown"),
        (7, "[digest] chart must be true or false"),
    ]
    assert len(lines) == len(expected), err
    for line, (number, words) in zip(lines, expected, strict=True):
        assert f"c.toml, line {number}: " in line and words in line, line
