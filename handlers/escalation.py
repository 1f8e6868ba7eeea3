"""Escalation recorded: where a lead took a case the platform did not act on, and when.

The day of the first escalation is what time to removal after escalation counts from, so a later
one (POSH first, the police after) is audited and shown in the timeline but leaves the case's
route and time as they were. Both the lead command and the escalation reminder's buttons record
it through `escalated`, so the two cannot disagree.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from storage.models import Case, EscalationRoute, Status

ROUTES = {route.value: route for route in EscalationRoute}


def escalated(case: Case, route: EscalationRoute, now: datetime) -> Case:
    """The case marked escalated, keeping the first escalation's route and time if it had one."""
    return dataclasses.replace(
        case,
        status=Status.ESCALATED,
        escalated_to=case.escalated_to or route,
        escalated_at=case.escalated_at or now,
        updated_at=now,
    )
