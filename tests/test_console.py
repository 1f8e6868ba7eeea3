"""The real `casebook` command, driven through a pipe, as a person or a script would use it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from handlers import commands, messages
from storage.models import Platform

TIKTOK = (
    "https://www.tiktok.com/@someone/video/7301234567890123456?is_from_webapp=1&sender_device=pc"
)
CANONICAL = "https://tiktok.com/@someone/video/7301234567890123456"
ROOT = Path(__file__).resolve().parent.parent


def casebook(
    *args: str, stdin: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        cwd=cwd or ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def test_piped_reports_of_one_post_make_one_case_with_two_reporters(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    session = f"{TIKTOK}\n/as sam\n{CANONICAL}\n".encode()
    run = casebook("run", "--db", str(db), stdin=session)
    assert run.returncode == 0, run.stderr
    out = run.stdout.decode()
    assert messages.case_logged(1, Platform.TIKTOK) in out
    assert messages.already_logged(1) in out

    exported = casebook("export", "--format", "json", "--db", str(db))
    assert exported.returncode == 0, exported.stderr
    [case] = json.loads(exported.stdout)
    assert case["platform"] == "tiktok"
    assert case["url"] == CANONICAL
    assert case["reporters"] == ["demo-staff", "sam"]


def test_invalid_utf8_and_nul_bytes_from_the_pipe_do_not_crash(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    run = casebook(
        "run", "--db", str(db), stdin=b"\xff\xfe bad \x00 bytes about Mr X\n\n/nonsense\n"
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout.decode()
    assert "Traceback" not in out + run.stderr.decode()
    assert messages.case_logged_no_link(1) in out
    assert messages.EMPTY_MESSAGE in out
    assert messages.unknown_command("nonsense") in out


def test_terminal_help_lead_switch_and_csv_export(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    run = casebook(
        "run",
        "--db",
        str(db),
        stdin=b"/help\n/lead\n/as\n=cmd|' /C calc'!A0 https://x.com/a/status/1\n",
    )
    out = run.stdout.decode()
    assert messages.CONSOLE_HELP in out and commands.staff_help().splitlines()[0] in out
    assert messages.console_now_speaking_as("demo-lead", messages.CONSOLE_ROLE_LEAD) in out
    assert messages.CONSOLE_AS_NEEDS_NAME in out
    target = tmp_path / "cases.csv"
    exported = casebook("export", "--format", "csv", "--db", str(db), "--out", str(target))
    assert exported.returncode == 0, exported.stderr
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # spreadsheet programs read it as UTF-8
    header, row = raw.decode("utf-8-sig").splitlines()
    assert header.startswith("id,school,status,urgent,platform,url,categories")
    assert "https://x.com/a/status/1" in row and "demo-lead" in row


def test_export_rejects_a_bad_date_and_a_missing_folder(tmp_path: Path) -> None:
    bad_date = casebook("export", "--since", "yesterday", "--db", str(tmp_path / "x.db"))
    assert bad_date.returncode == 2 and b"not a date" in bad_date.stderr
    missing = casebook("export", "--db", str(tmp_path / "no" / "such" / "x.db"))
    assert missing.returncode == 2 and b"there is no database at" in missing.stderr
    assert b"Traceback" not in missing.stderr


def start_run(db: Path) -> subprocess.Popen[bytes]:
    """`casebook run --db FILE` with every standard stream piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--db", str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


class Session:
    """A running `casebook run` whose output is read line by line with a deadline."""

    def __init__(self, db: Path) -> None:
        self.process = start_run(db)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.put(raw.decode())

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            if text in line:
                return
        raise AssertionError(f"{text!r} not seen in {seen}")


@pytest.mark.slow  # a crash test: two processes, one killed
def test_a_killed_process_resumes_the_conversation_at_the_next_question(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    first = Session(db)
    first.send(TIKTOK)
    first.wait_for(messages.Q_TARGETS)
    first.send("2")
    first.wait_for(messages.Q_CATEGORIES)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)

    second = Session(db)
    second.wait_for("Casebook for")
    second.wait_for(messages.question_resumed(1))
    second.wait_for(messages.Q_CATEGORIES)  # asked again, without typing anything
    second.send("1, 9, 13")
    second.wait_for(messages.Q_THREAT)
    assert second.process.stdin is not None
    second.process.stdin.close()
    assert second.process.wait(timeout=20) == 0

    [case] = json.loads(casebook("export", "--db", str(db)).stdout)
    assert case["targets"] == "colleague"
    assert case["categories"] == ["false-allegation", "harassment"]  # alphabetical
    assert case["reporters"] == ["demo-staff"]


def test_ctrl_c_ends_the_session_cleanly(tmp_path: Path) -> None:
    session = Session(tmp_path / "x.db")
    session.wait_for("Casebook for")
    session.send(TIKTOK)
    session.wait_for(messages.Q_TARGETS)
    session.process.send_signal(signal.SIGINT)
    assert session.process.wait(timeout=20) == 0
    assert session.process.stderr is not None
    assert b"Traceback" not in session.process.stderr.read()
    [case] = json.loads(casebook("export", "--db", str(tmp_path / "x.db")).stdout)
    assert case["platform"] == "tiktok"


def test_a_closed_output_pipe_ends_quietly_and_keeps_what_was_logged(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    process = start_run(db)
    assert process.stdout is not None and process.stdin is not None
    process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    _, err = process.communicate(f"{TIKTOK}\n/as sam\n{CANONICAL}\n".encode(), timeout=30)
    assert process.returncode == 0
    assert b"Traceback" not in err
    [case] = json.loads(casebook("export", "--db", str(db)).stdout)
    assert case["platform"] == "tiktok"


def test_the_terminal_numbers_only_the_questions_options(tmp_path: Path) -> None:
    run = casebook("run", "--db", str(tmp_path / "x.db"), stdin=f"{TIKTOK}\n/withdraw\n".encode())
    out = run.stdout.decode()
    assert run.returncode == 0, run.stderr
    assert "[1] Not a report" not in out and messages.CONSOLE_WITHDRAW_HINT in out
    assert "[1] Me" in out and messages.withdrawn(1) in out


def test_the_terminal_saves_the_evidence_report_in_the_folder_rather_than_printing_its_html(
    tmp_path: Path,
) -> None:
    run = casebook(
        "run",
        "--db",
        str(tmp_path / "x.db"),
        stdin=f"{TIKTOK}\n/lead\n/cases evidence\n/cases evidence\n".encode(),
        cwd=tmp_path,
    )
    out = run.stdout.decode()
    assert run.returncode == 0, run.stderr
    first, again = sorted(
        tmp_path.glob("casebook-evidence-demo-school-*.html"), key=lambda p: len(p.name)
    )
    assert again.name == first.stem + "-2.html"  # the first is not replaced
    for saved in (first, again):
        assert saved.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
        assert messages.console_saved(saved) in out
    assert out.count(messages.evidence_ready("Demo School")) == 2
    assert "<html" not in out


def test_a_folder_as_the_database_is_one_line_on_stderr(tmp_path: Path) -> None:
    run = casebook("run", "--db", f"{tmp_path}/")
    assert run.returncode == 2
    assert run.stderr.decode().splitlines() == [
        f"casebook: {tmp_path}: cannot open the database (unable to open database file)."
    ]


def test_as_with_a_name_of_two_words_says_it_takes_one_and_switches_nobody(
    tmp_path: Path,
) -> None:
    db = tmp_path / "x.db"
    run = casebook("run", "--db", str(db), stdin=b"/as Sam Ortiz\nhello\n")
    assert run.returncode == 0, run.stderr
    out = run.stdout.decode()
    assert messages.console_as_one_word("Sam Ortiz") in out
    assert "/as sam_ortiz" in out
    assert messages.console_now_speaking_as("Sam", messages.CONSOLE_ROLE_STAFF) not in out
    exported = casebook("export", "--format", "json", "--db", str(db))
    [case] = json.loads(exported.stdout)
    assert case["reporters"] == ["demo-staff"]


def test_a_link_sent_after_a_report_without_one_is_added_to_it(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    run = casebook("run", "--db", str(db), stdin=f"hello\n{TIKTOK}\n".encode())
    assert run.returncode == 0, run.stderr
    out = run.stdout.decode()
    assert messages.case_logged_no_link(1) in out
    assert messages.late_link_added(1, Platform.TIKTOK) in out
    exported = casebook("export", "--format", "json", "--db", str(db))
    [case] = json.loads(exported.stdout)
    assert case["url"] == CANONICAL and case["platform"] == "tiktok"


def test_invite_in_the_demo_says_it_is_the_demo_school_not_that_a_file_sets_it_up(
    tmp_path: Path,
) -> None:
    run = casebook("run", "--db", str(tmp_path / "x.db"), stdin=b"/lead\n/cases invite\n")
    assert run.returncode == 0, run.stderr
    out = run.stdout.decode()
    assert messages.set_in_demo("Demo School") in out
    assert messages.set_in_config("Demo School") not in out and "join " not in out
