"""Invitation codes made as their message leaves, so that no table ever holds one.

`/cases invite` queues a message to the lead with a mark where the code goes
(`Outgoing.invitation_for`). Only here, just before the platform is asked to deliver it, is a
code made: its hash is committed, then the text with the code goes out and is forgotten. A
send that fails leaves a hash nobody holds the code for; its retry makes a new code.
"""

from __future__ import annotations

import dataclasses

from bot.clock import Clock
from bot.delivery import Sender
from handlers import joining
from handlers.events import Outgoing
from storage.store import Store


class InvitingSender:
    """A transport's sender that fills in invitation codes."""

    def __init__(self, inner: Sender, database: Store, clock: Clock) -> None:
        self._inner = inner
        self._database = database
        self._clock = clock

    async def send(self, outgoing: Outgoing) -> str | None:
        school_id = outgoing.invitation_for
        if school_id is None:
            return await self._inner.send(outgoing)
        async with self._database.transaction() as unit:
            code = await joining.invite(unit, school_id, self._clock.now())
        text = joining.invitation_text(outgoing.text, code)
        return await self._inner.send(dataclasses.replace(outgoing, text=text, invitation_for=None))
