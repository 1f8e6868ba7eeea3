"""Lead invitation codes: made for a school, redeemed by a direct message (`join CODE`, or
Telegram's `/start CODE`), which makes the sender a lead of that school.

A code is 128 random bits, URL-safe and 22 characters long, so it fits a Telegram deep link
(64 characters at most). Only its SHA-256 is ever written to the database: a copy of the
database, or of its write-ahead log, gives nobody a code. So a code a person sends is sealed
(replaced by its hash) before the event is stored in the inbox, and a code sent to a lead is
made only as the message leaves (`Outgoing.invitation_for`), never kept in the outbox.
A wrong, used or expired code gets the same refusal, so a guesser learns nothing about which
codes exist. Guessing is stopped by a lockout: MAX_FAILURES wrong codes within FAILURE_WINDOW
refuse that person for LOCKOUT, whatever they send, and a good code sent then is not used up.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from handlers import messages
from handlers.context import Request
from handlers.events import Outgoing
from handlers.hosting import SCHOOLS_CHANGED
from storage.models import AuditAction, AuditEntry
from storage.unit import Unit

CODE_BYTES = 16  # 128 bits; token_urlsafe writes them as 22 characters
VALID_FOR = timedelta(days=7)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=10)
LOCKOUT = timedelta(hours=1)
# What a code may look like: the alphabet of token_urlsafe, no longer than a deep link takes.
_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_JOIN = re.compile(r"\s*join\s+(\S+)\s*", re.IGNORECASE)
SEALED = "sha256:"
CODE_MARK = "{code}"  # where an invitation's code goes, filled in only as it is sent


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def code_hash(code: str) -> str:
    """What the database keeps of a code."""
    return hashlib.sha256(code.encode()).hexdigest()


async def invite(unit: Unit, school_id: int, now: datetime) -> str:
    """A new code for this school, stored as its hash; the code itself goes only to the caller."""
    code = new_code()
    await unit.invitations.add(school_id, code_hash(code), now, now + VALID_FOR)
    return code


def code_in_message(text: str) -> str | None:
    """The code in "join CODE", as typed in a direct chat; None for any other message."""
    found = _JOIN.fullmatch(text)
    return None if found is None else found.group(1)


def seal(code: str) -> str:
    """What is stored of a code someone sent: its hash, marked as one (or, for text that is not
    a code at all, a mark that matches no code)."""
    return SEALED + (code_hash(code) if _CODE.fullmatch(code) else "-")


def sealed_hash(sealed: str) -> str | None:
    """The hash in a sealed code; None when what was sent could not be a code."""
    if not sealed.startswith(SEALED):
        return None  # never stored unsealed: the router seals before the inbox
    value = sealed[len(SEALED) :]
    return value if value != "-" else None


def invitation_text(text: str, code: str) -> str:
    """An invitation message as it leaves, with the code made for it in place of CODE_MARK."""
    return text.replace(CODE_MARK, code)


async def redeem(request: Request, sealed: str) -> list[Outgoing]:
    """Make the sender a lead of the code's school, or refuse; every outcome is audited."""
    unit, person, now = request.unit, request.person, request.now
    locked = await unit.invitations.locked_until(person.id)
    if locked is not None and locked > now:
        await _audit(request, None, AuditAction.REFUSED, "locked out")
        return [request.private_reply(messages.JOIN_LOCKED_OUT)]
    school_id = None
    hashed = sealed_hash(sealed)
    if hashed is not None:
        school_id = await unit.invitations.redeem(hashed, person.id, now)
    await unit.invitations.attempt(person.id, now, ok=school_id is not None)
    if school_id is None:
        since = max(now - FAILURE_WINDOW, locked) if locked is not None else now - FAILURE_WINDOW
        if await unit.invitations.failures(person.id, since) >= MAX_FAILURES:
            await unit.invitations.lock(person.id, now + LOCKOUT)
            await _audit(request, None, AuditAction.LOCKED_OUT, "wrong codes")
        await _audit(request, None, AuditAction.REFUSED, "wrong code")
        return [request.private_reply(messages.JOIN_REFUSED)]
    school = await unit.schools.get(school_id)
    assert school is not None  # an invitation refers to its school
    await unit.hosted.add_lead(school_id, person.id, now)
    request.count(SCHOOLS_CHANGED)
    await _audit(request, school_id, AuditAction.JOINED, None)
    return [request.private_reply(messages.joined(school.name))]


async def _audit(
    request: Request, school_id: int | None, action: AuditAction, reason: str | None
) -> None:
    await request.unit.audit.append(
        AuditEntry(
            case_id=None,
            school_id=school_id,
            actor_id=request.person.id,
            action=action,
            at=request.now,
            to_value="join",
            reason=reason,
        )
    )
