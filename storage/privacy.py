"""The SQL of retention and erasure: anonymising a case, pseudonymising a person.

Identities live in `people`, and everything else refers to people by number, so erasing a person
rewrites one row (plus the few places a raw platform id can hide) and leaves the history readable.
"""

from __future__ import annotations

from datetime import datetime

from storage.models import ERASED_SCHEME
from storage.sql import Dialect, SqlConnection
from storage.times import to_db


class SqlPrivacy:
    def __init__(self, connection: SqlConnection) -> None:
        self._db = connection
        # Where one text occurs in another: the same arguments under two names.
        self._instr = "strpos" if connection.dialect is Dialect.POSTGRES else "instr"

    async def anonymise_case(self, case_id: int, at: datetime) -> None:
        """Remove links, free text, notes and identities; keep what the statistics need."""
        db = self._db
        await db.execute(
            "UPDATE cases SET reporter_count = (SELECT COUNT(*) FROM case_reporters"
            " WHERE case_id = ?), assignee_id = NULL, purged_at = ? WHERE id = ?",
            (case_id, to_db(at), case_id),
        )
        for table in (
            "case_reporters",
            "case_links",
            "notes",
            "conversation_cases",
            "case_messages",
        ):
            await db.execute(f"DELETE FROM {table} WHERE case_id = ?", (case_id,))
        await db.execute(
            "UPDATE audit SET actor_id = NULL,"
            " from_value = CASE WHEN from_value LIKE 'person:%' THEN NULL ELSE from_value END,"
            " to_value = CASE WHEN to_value LIKE 'person:%' THEN NULL ELSE to_value END"
            " WHERE case_id = ?",
            (case_id,),
        )
        await db.execute(
            "UPDATE outbox SET payload = '', place = NULL, thread = NULL, message_ref = NULL,"
            " direct_person_id = NULL WHERE case_id = ?",
            (case_id,),
        )
        await db.execute(
            "DELETE FROM conversations WHERE id NOT IN"
            " (SELECT conversation_id FROM conversation_cases) AND finished_at IS NOT NULL"
            " AND id NOT IN (SELECT conversation_id FROM reminders"
            " WHERE conversation_id IS NOT NULL)"
        )

    async def forget_direct_refs(self, sent_before: datetime) -> None:
        """Blank the direct-chat references of messages sent before a moment: retention."""
        await self._db.execute(
            "UPDATE outbox SET message_ref = NULL, direct_person_id = NULL"
            " WHERE direct_person_id IS NOT NULL AND sent_at < ?",
            (to_db(sent_before),),
        )

    async def erase_person(self, person_id: int, raw_id: str, pseudonym: str, at: datetime) -> None:
        """Replace a person's identity everywhere with a stable pseudonym; keep their cases."""
        db = self._db
        await db.execute(
            "UPDATE people SET key = ?, name = ? WHERE id = ?",
            (f"{ERASED_SCHEME}:{person_id}", pseudonym, person_id),
        )
        await db.execute(
            "UPDATE conversations SET place_id = 'erased' WHERE person_id = ? OR place_id = ?",
            (person_id, raw_id),
        )
        for table, column in (("case_reporters", "description"), ("notes", "text")):
            await db.execute(
                f"UPDATE {table} SET {column} = replace({column}, ?, ?)"
                f" WHERE {self._instr}({column}, ?) > 0",
                (raw_id, pseudonym, raw_id),
            )
        await db.execute(
            "UPDATE inbox SET payload = ''"
            f" WHERE {self._instr}(payload, ?) > 0 AND processed_at IS NOT NULL",
            (raw_id,),
        )
        # A Telegram private chat's id is the person's id, and it is part of a message's key.
        await db.execute(
            "UPDATE inbox SET event_id = 'erased:' || id WHERE event_id LIKE '%:' || ? || '|%'",
            (raw_id,),
        )
        await db.execute("DELETE FROM case_messages WHERE message_key LIKE ? || '|%'", (raw_id,))
        await db.execute(
            "UPDATE outbox SET payload = '', place = NULL, thread = NULL,"
            " failed_at = COALESCE(failed_at, ?),"
            " last_error = COALESCE(last_error, 'recipient erased')"
            f" WHERE {self._instr}(payload, ?) > 0",
            (to_db(at), raw_id),
        )
        # A waiting fold of their reports holds the message to their chat: it is not sent.
        await db.execute(
            "UPDATE report_folds SET reply = '', alerts = '[]', sent_at = COALESCE(sent_at, ?)"
            " WHERE person_id = ?",
            (to_db(at), person_id),
        )
        # A sent message's reference names the chat it went to: a direct chat identifies the
        # person (a Telegram private chat's id is their own id).
        await db.execute(
            "UPDATE outbox SET message_ref = NULL, direct_person_id = NULL"
            " WHERE direct_person_id = ? OR substr(message_ref, 1, ?) = ?",
            (person_id, len(raw_id) + 1, raw_id + "|"),
        )
