"""A unit of work: every repository bound to one open transaction."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.audit import SqliteAudit
from storage.case_messages import SqliteCaseMessages
from storage.cases import SqliteCases
from storage.conversations import SqliteConversations
from storage.directory import SqlitePeople, SqliteSchools
from storage.evidence import SqliteEvidence
from storage.exports import SqliteExports
from storage.inbox import SqliteInbox
from storage.notes import SqliteNotes
from storage.outbox import SqliteOutbox
from storage.places import SqlitePlaces
from storage.privacy import SqlitePrivacy
from storage.protocols import (
    AuditRepository,
    CaseMessageRepository,
    CaseRepository,
    ConversationRepository,
    EvidenceRepository,
    ExportRepository,
    InboxRepository,
    NoteRepository,
    OutboxRepository,
    PeopleRepository,
    PlaceRepository,
    PrivacyRepository,
    ReminderRepository,
    SavepointRepository,
    SchoolRepository,
)
from storage.reminders import SqliteReminders
from storage.savepoints import SqliteSavepoints


@dataclass(frozen=True)
class Unit:
    schools: SchoolRepository
    people: PeopleRepository
    cases: CaseRepository
    conversations: ConversationRepository
    audit: AuditRepository
    notes: NoteRepository
    inbox: InboxRepository
    outbox: OutboxRepository
    reminders: ReminderRepository
    privacy: PrivacyRepository
    exports: ExportRepository
    places: PlaceRepository
    evidence: EvidenceRepository
    case_messages: CaseMessageRepository
    savepoints: SavepointRepository

    @classmethod
    def over(cls, connection: aiosqlite.Connection) -> Unit:
        return cls(
            schools=SqliteSchools(connection),
            people=SqlitePeople(connection),
            cases=SqliteCases(connection),
            conversations=SqliteConversations(connection),
            audit=SqliteAudit(connection),
            notes=SqliteNotes(connection),
            inbox=SqliteInbox(connection),
            outbox=SqliteOutbox(connection),
            reminders=SqliteReminders(connection),
            privacy=SqlitePrivacy(connection),
            exports=SqliteExports(connection),
            places=SqlitePlaces(connection),
            evidence=SqliteEvidence(connection),
            case_messages=SqliteCaseMessages(connection),
            savepoints=SqliteSavepoints(connection),
        )
