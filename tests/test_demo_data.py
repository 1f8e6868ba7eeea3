"""`casebook demo-data`: made-up anonymised exports that `casebook evidence` reads as real ones."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from handlers.evidence import sources
from handlers.export import FIELDS

END = date(2026, 11, 24)


def _demo(out: Path, seed: int = 1, schools: int = 20) -> list[Path]:
    args = ["--schools", str(schools), "--months", "12", "--seed", str(seed)]
    assert main(["demo-data", *args, "--end", END.isoformat(), "--out", str(out)]) == 0
    return sorted(out.glob("*.json"))


def _records(files: list[Path]) -> list[dict[str, Any]]:
    return [record for path in files for record in json.loads(path.read_text(encoding="utf-8"))]


def test_the_files_are_anonymised_exports_that_evidence_reads(tmp_path: Path) -> None:
    files = _demo(tmp_path / "demo")
    assert len(files) > 1
    records = _records(files)
    for record in records:
        assert list(record) == list(FIELDS)
        assert record["url"] is None and record["links"] is None and record["assignee"] is None
        assert isinstance(record["reporters"], int)
        for name in ("created_at", "reported_to_platform_at", "removed_at", "closed_at"):
            assert record[name] is None or len(record[name]) == len("2026-11-24")
    # Written as the JSON export writes: one compact object a line, non-ASCII as it is.
    first = files[0].read_text(encoding="utf-8").splitlines()
    assert first[0] == "[" and first[-1] == "]"
    assert first[1].rstrip(",") == json.dumps(
        json.loads(first[1].rstrip(",")), ensure_ascii=False, separators=(",", ":")
    )
    assert len({r["school"] for r in records}) == 20
    reasons = Counter(r["close_reason"] for r in records)
    assert reasons["duplicate"] and reasons["withdrawn"] and reasons["resolved"]
    assert sum(1 for r in records if r["reported_to_platform_at"] and not r["removed_at"])

    rows, read = sources.read_exports(files)
    assert read == len(records) == len(rows)
    out = tmp_path / "report.json"
    until = ["--until", END.isoformat(), "--format", "json", "--out", str(out)]
    assert main(["evidence", "--from", *map(str, files), *until]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    counted = [
        r for r in records if r["close_reason"] not in ("duplicate", "withdrawn", "not-abuse")
    ]
    assert report["cases"] == len(counted)


def test_each_platform_behaves_in_its_own_way(tmp_path: Path) -> None:
    records = _records(_demo(tmp_path / "demo", schools=40))
    by_platform: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_platform.setdefault(record["platform"], []).append(record)
    assert len(by_platform) >= 6

    def removed_of_reported(name: str) -> float:
        reported = [r for r in by_platform[name] if r["reported_to_platform_at"]]
        return sum(1 for r in reported if r["removed_at"]) / len(reported)

    def median_days(name: str) -> float:
        days = sorted(r["days_to_removal"] for r in by_platform[name] if r["removed_at"])
        return float(days[len(days) // 2])

    assert removed_of_reported("tiktok") > 0.75 > 0.55 > removed_of_reported("x")
    escalated = Counter(r["escalated_to"] for r in records if r["escalated_to"])
    assert set(escalated) == {"posh", "report-harmful-content", "police"}
    assert median_days("tiktok") < median_days("facebook") < median_days("x")
    shares = {name: round(removed_of_reported(name), 2) for name in ("tiktok", "instagram", "x")}
    assert len(set(shares.values())) == 3


def test_the_same_seed_gives_the_same_files_and_another_seed_others(tmp_path: Path) -> None:
    once = _demo(tmp_path / "one", seed=7)
    again = _demo(tmp_path / "two", seed=7)
    other = _demo(tmp_path / "three", seed=8)
    assert [p.name for p in once] == [p.name for p in again]
    assert [p.read_bytes() for p in once] == [p.read_bytes() for p in again]
    assert [p.read_bytes() for p in once] != [p.read_bytes() for p in other]


def test_existing_files_are_kept_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _demo(tmp_path / "demo")
    files[0].write_text("keep me", encoding="utf-8")
    args = ["demo-data", "--end", END.isoformat(), "--out", str(tmp_path / "demo")]
    assert main(args) == 2
    assert "--force" in capsys.readouterr().err
    assert files[0].read_text(encoding="utf-8") == "keep me"
    assert main([*args, "--force"]) == 0
    assert files[0].read_text(encoding="utf-8") != "keep me"
    assert main(["demo-data", "--schools", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--schools must be from 1" in capsys.readouterr().err
