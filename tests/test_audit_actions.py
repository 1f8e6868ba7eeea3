"""The audit's actions are stored as text that earlier versions wrote too: renaming a value would
make old rows unreadable and the timeline of every old case wrong."""

from __future__ import annotations

from storage.models import AuditAction

STORED = {
    "created", "reporter-added", "words-added", "link-added", "original-deleted", "status",
    "assigned", "note", "urgent", "closed", "reopened", "merged-from", "merged-into", "refused",
    "hold", "unhold", "reminder", "checked", "exported", "evidence-report", "answered",
    "escalated", "joined", "locked-out", "invited", "place",
}  # fmt: skip


def test_every_action_is_stored_as_the_text_earlier_versions_wrote() -> None:
    assert {action.value for action in AuditAction} == STORED
    assert AuditAction("closed") is AuditAction.CLOSED
