"""A unit of work: every repository bound to one open transaction."""

from __future__ import annotations

from dataclasses import dataclass

from storage.audit import SqlAudit
from storage.case_messages import SqlCaseMessages
from storage.cases import SqlCases
from storage.conversations import SqlConversations
from storage.directory import SqlPeople, SqlSchools
from storage.evidence import SqlEvidence
from storage.exports import SqlExports
from storage.folds import SqlFolds
from storage.hosted import SqlHosted, SqlInvitations
from storage.inbox import SqlInbox
from storage.notes import SqlNotes
from storage.outbox import SqlOutbox
from storage.places import SqlPlaces
from storage.privacy import SqlPrivacy
from storage.protocols import (
    AuditRepository,
    CaseMessageRepository,
    CaseRepository,
    ConversationRepository,
    EvidenceRepository,
    ExportRepository,
    FoldRepository,
    HostedRepository,
    InboxRepository,
    InvitationRepository,
    NoteRepository,
    OutboxRepository,
    PeopleRepository,
    PlaceRepository,
    PrivacyRepository,
    ReminderRepository,
    SavepointRepository,
    SchoolRepository,
    SlackInstallationRepository,
    TableRepository,
)
from storage.reminders import SqlReminders
from storage.savepoints import SqlSavepoints
from storage.slack_installations import SqlSlackInstallations
from storage.sql import SqlConnection
from storage.tables import SqlTables


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
    folds: FoldRepository
    privacy: PrivacyRepository
    exports: ExportRepository
    places: PlaceRepository
    evidence: EvidenceRepository
    case_messages: CaseMessageRepository
    savepoints: SavepointRepository
    tables: TableRepository
    hosted: HostedRepository
    invitations: InvitationRepository
    slack_installations: SlackInstallationRepository

    @classmethod
    def over(cls, connection: SqlConnection) -> Unit:
        return cls(
            schools=SqlSchools(connection),
            people=SqlPeople(connection),
            cases=SqlCases(connection),
            conversations=SqlConversations(connection),
            audit=SqlAudit(connection),
            notes=SqlNotes(connection),
            inbox=SqlInbox(connection),
            outbox=SqlOutbox(connection),
            reminders=SqlReminders(connection),
            folds=SqlFolds(connection),
            privacy=SqlPrivacy(connection),
            exports=SqlExports(connection),
            places=SqlPlaces(connection),
            evidence=SqlEvidence(connection),
            case_messages=SqlCaseMessages(connection),
            savepoints=SqlSavepoints(connection),
            tables=SqlTables(connection),
            hosted=SqlHosted(connection),
            invitations=SqlInvitations(connection),
            slack_installations=SqlSlackInstallations(connection),
        )
