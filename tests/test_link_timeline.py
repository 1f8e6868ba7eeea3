"""A case's timeline says how a link came after the report: sent in a later message, or added by
an edit of the report; an entry written before that was kept says only that a link was added."""

from __future__ import annotations

from handlers import messages
from handlers.events import Incoming, IncomingKind, User
from storage.models import AuditAction, Platform
from tests.chat import STAFF_ROOM, Chat, texts

INSTAGRAM = "https://www.instagram.com/p/ABC123/"
LATER = "link sent after the report (instagram)"
EDITED = "link added by an edit (instagram)"


def _message(text: str, kind: IncomingKind = IncomingKind.MESSAGE) -> Incoming:
    return Incoming(
        kind,
        STAFF_ROOM,
        User(STAFF_ROOM.transport, "alex", "alex"),
        text,
        "Northfield",
        message_key="m1",
    )


async def test_a_link_sent_after_a_report_without_one_is_not_called_an_edit(chat: Chat) -> None:
    await chat.say("hello")
    assert messages.late_link_added(1, Platform.INSTAGRAM) in texts(await chat.say(INSTAGRAM))
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    assert LATER in shown
    assert "edit" not in shown


async def test_a_link_added_by_editing_the_report_is_called_an_edit(chat: Chat) -> None:
    await chat.send(_message("a fake account of Ms Patel"))
    said = await chat.send(_message(f"a fake account of Ms Patel {INSTAGRAM}", IncomingKind.EDIT))
    assert messages.link_added(1, Platform.INSTAGRAM) in texts(said)
    shown = texts(await chat.command("cases", "show 1", user="lena"))
    assert EDITED in shown
    assert LATER not in shown


def test_an_entry_written_before_the_way_was_kept_says_only_a_link_was_added() -> None:
    assert messages.audit_text(AuditAction.LINK_ADDED, None, "instagram", None) == (
        "link added (instagram)"
    )
