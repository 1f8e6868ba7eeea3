"""The terminal transport: each stdin line is a message from a demo member of staff.

It reads bytes, so invalid UTF-8 from a pipe becomes replacement characters rather than a crash,
and it reads on a daemon thread, so Ctrl-C and EOF both end the session cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from pathlib import Path
from typing import BinaryIO, TextIO

from bot.adapters.console_config import CONSOLE, DEMO_STAFF
from bot.delivery import Delivery
from bot.router import Router
from handlers import messages
from handlers.events import (
    HTML_PAGE,
    Attachment,
    Incoming,
    IncomingKind,
    Outgoing,
    Place,
    PlaceKind,
    User,
)
from handlers.links import MAX_URL_LENGTH, extract_urls
from handlers.settings import SchoolConfig
from handlers.text import clean_text
from handlers.withdraw import is_withdraw_button

STAFF_ROOM = Place(CONSOLE, "staff-room", PlaceKind.CHANNEL)
MAX_LINE_BYTES = 1_000_000


class ConsoleTransport:
    """Reads commands and messages from a stream and prints what Casebook sends; a web page it
    sends is saved in `files` instead, since its HTML means nothing printed in a terminal."""

    def __init__(self, school: SchoolConfig, output: TextIO, files: Path) -> None:
        self._school = school
        self._output = output
        self._files = files
        self._user = User(CONSOLE, DEMO_STAFF, DEMO_STAFF)

    @property
    def user(self) -> User:
        return self._user

    async def send(self, outgoing: Outgoing) -> str | None:
        """Print one message, saying whom it is for when that is not the person typing."""
        header = "casebook"
        if outgoing.place.kind is PlaceKind.LEADS:
            header += " " + messages.console_to_leads(self._school.name)
        elif outgoing.place.kind is PlaceKind.DIRECT and outgoing.place.id != self._user.id:
            header += " " + messages.console_to_user(outgoing.place.id)
        lines = [f"{header}: {outgoing.text}"]
        # Typed numbers answer the waiting question, so only its options are numbered here; the
        # "Not a report" button becomes a hint to type its command instead.
        options = [b for b in outgoing.buttons if not is_withdraw_button(b.value)]
        if options:
            lines.append("  " + "  ".join(f"[{i}] {b.label}" for i, b in enumerate(options, 1)))
        if len(options) < len(outgoing.buttons):
            lines.append("  " + messages.CONSOLE_WITHDRAW_HINT)
        attachment = outgoing.attachment
        if attachment is not None and attachment.mime == HTML_PAGE:
            lines.append(self._save(attachment))
        elif attachment is not None and attachment.is_text:
            lines.append(f"--- {attachment.name} ---")
            content = attachment.data.decode("utf-8", errors="replace")
            lines.append(content.rstrip("\r\n").replace("\r\n", "\n"))
            lines.append("---")
        elif attachment is not None:
            lines.append(messages.console_file(attachment.name, len(attachment.data)))
        print("\n".join(lines), file=self._output, flush=True)
        return None

    async def run(
        self, stream: BinaryIO, router: Router, delivery: Delivery, resume: bool = True
    ) -> None:
        """Process lines until EOF or /quit; each line is stored, handled and answered in turn.
        With `resume`, first ask again the question a previous run left waiting."""
        self.say(messages.console_banner(self._school.name, self._user.name))
        if resume:
            await router.resume(self._incoming(""))
            await delivery.flush()
        lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        threading.Thread(target=_read_lines, args=(stream, loop, lines), daemon=True).start()
        while (raw := await lines.get()) is not None:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not self._local_command(line):
                if line.strip().lower() in ("/quit", "/exit"):
                    return
                incoming = self._incoming(line)
                await router.receive(incoming, CONSOLE, incoming.event_id or "")
                await router.process_pending()
                await delivery.flush()

    def say(self, text: str) -> None:
        print(text, file=self._output, flush=True)

    def _save(self, attachment: Attachment) -> str:
        """Write the file under its own name, numbered rather than replacing one already there."""
        name = Path(attachment.name)
        path, number = self._files / name, 1
        while True:
            try:
                with path.open("xb") as file:
                    file.write(attachment.data)
            except FileExistsError:
                number += 1
                path = self._files / f"{name.stem}-{number}{name.suffix}"
            except OSError as error:
                return messages.console_not_saved(attachment.name, error.strerror or str(error))
            else:
                return messages.console_saved(path)

    def _local_command(self, line: str) -> bool:
        """Terminal-only commands that change who is typing; True when handled here."""
        words = line.strip().split(maxsplit=1)
        if not words:
            return False
        command = words[0].lower()
        if command == "/as":
            given = clean_text(words[1] if len(words) > 1 else "").split()
            if not given:
                self.say(messages.CONSOLE_AS_NEEDS_NAME)
                return True
            if len(given) > 1:
                # A name is one word, as commands name people ("assign 3 sam"); taking only
                # its first word would quietly make someone else the reporter.
                self.say(messages.console_as_one_word(" ".join(given)))
                return True
            name = given[0][:40]
            self._user = User(CONSOLE, name, name)
            role = (
                messages.CONSOLE_ROLE_LEAD
                if name in self._school.on(CONSOLE).leads
                else messages.CONSOLE_ROLE_STAFF
            )
            self.say(messages.console_now_speaking_as(name, role))
            return True
        if command == "/lead":
            if not self._school.on(CONSOLE).leads:
                self.say(messages.console_no_leads(self._school.name))
                return True
            name = self._school.on(CONSOLE).leads[0]
            self._user = User(CONSOLE, name, name)
            self.say(messages.console_now_speaking_as(name, messages.CONSOLE_ROLE_LEAD))
            return True
        if command == "/help":
            self.say(messages.CONSOLE_HELP)
        return False

    def _incoming(self, line: str) -> Incoming:
        event_id = str(uuid.uuid4())
        stripped = line.strip()
        if stripped.startswith("/") and len(stripped) > 1 and not stripped.startswith("//"):
            command, _, rest = stripped[1:].partition(" ")
            return Incoming(
                kind=IncomingKind.COMMAND,
                place=STAFF_ROOM,
                user=self._user,
                text=rest,
                command=command,
                school=self._school.name,
                event_id=event_id,
            )
        return Incoming(
            kind=IncomingKind.MESSAGE,
            place=STAFF_ROOM,
            user=self._user,
            text=line,
            school=self._school.name,
            event_id=event_id,
        )


def _read_lines(
    stream: BinaryIO, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[bytes | None]
) -> None:
    """Feed lines to the event loop; an over-long line is cut, not split into several messages,
    and keeps the links of the part cut off.

    It reads the file descriptor directly rather than the buffered stream: a daemon thread
    blocked inside a buffered read holds its lock, and Python aborts at exit (Ctrl-C) over it.
    """
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        fd = None

    def put(line: bytes | None) -> None:
        loop.call_soon_threadsafe(lines.put_nowait, line)

    pending = b""
    long_line: _LongLine | None = None  # the line being read is longer than MAX_LINE_BYTES
    try:
        while True:
            chunk = os.read(fd, 65536) if fd is not None else stream.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                break
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if long_line is None and len(line) <= MAX_LINE_BYTES:
                    put(line + b"\n")
                    continue
                long_line = long_line or _LongLine()
                long_line.feed(line)
                put(long_line.finish() + b"\n")
                long_line = None
            if long_line is not None or len(pending) > MAX_LINE_BYTES:
                long_line = long_line or _LongLine()
                long_line.feed(pending)
                pending = b""
        if long_line is not None:
            put(long_line.finish())
        elif pending:
            put(pending)
    except (OSError, ValueError, RuntimeError):
        pass
    finally:
        # The loop may have closed already: Ctrl-C during shutdown.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(lines.put_nowait, None)


class _LongLine:
    """A line over MAX_LINE_BYTES: its first MAX_LINE_BYTES, plus every link in the rest.

    Memory stays bounded however long the line is, and a link near the end of a huge message
    is still found (it would otherwise be cut off before the handlers could see it).
    """

    def __init__(self) -> None:
        self._head = b""
        self._tail = b""  # an unfinished word carried over to the next piece
        self._links: list[str] = []

    def feed(self, data: bytes) -> None:
        if len(self._head) < MAX_LINE_BYTES:
            room = MAX_LINE_BYTES - len(self._head)
            self._head, data = self._head + data[:room], data[room:]
            if not data:
                return
            # The head may end inside a link: that word is read again in full with the rest.
            cut = max(self._head.rfind(b" "), self._head.rfind(b"\t"))
            if cut > 0:
                self._head, data = self._head[:cut], self._head[cut:] + data
        data = self._tail + data
        cut = max(data.rfind(b" "), data.rfind(b"\t"))
        if cut < 0:
            self._tail = data[-_LONGEST_WORD:]
            return
        self._scan(data[:cut])
        self._tail = data[cut:][-_LONGEST_WORD:]

    def finish(self) -> bytes:
        self._scan(self._tail)
        return b" ".join([self._head, *(link.encode() for link in self._links)])

    def _scan(self, data: bytes) -> None:
        for url in extract_urls(data.decode("utf-8", errors="replace")):
            if len(self._links) < _MOST_LINKS:
                self._links.append(url)


_LONGEST_WORD = 4 * MAX_URL_LENGTH  # bytes: a longer word holds no link Casebook would keep
_MOST_LINKS = 50
