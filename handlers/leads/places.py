"""`/cases here reports|leads|off` and `/cases invite`: a hosted school's lead sets the school up
from the chat, with no file to edit.

A place belongs to one school: claiming one that another school uses is refused without naming
that school. A school from the config file is set up in the file, so these are refused for it.
Every change, and every refusal, is audited.
"""

from __future__ import annotations

from handlers import joining, messages
from handlers.context import Context
from handlers.events import Outgoing, Place, PlaceKind
from handlers.hosting import SCHOOLS_CHANGED
from handlers.leads.lookup import Command, Refusal
from storage.hosted import PlaceKey, PlaceRole
from storage.models import AuditAction

OFF = "off"


async def here(ctx: Context, args: list[str]) -> list[Outgoing]:
    """Claim, change or release the place the command was typed in."""
    word = args[0].lower() if len(args) == 1 else ""
    if word not in (PlaceRole.REPORTS, PlaceRole.LEADS, OFF):
        raise Refusal("here-usage", messages.PLACE_USAGE)
    await _hosted_only(ctx)
    place = ctx.incoming.place
    if place.kind is not PlaceKind.CHANNEL:
        raise Refusal("here-not-a-channel", messages.PLACE_NEEDS_CHANNEL)
    key = place_key(place)
    if word == OFF:
        if not await ctx.unit.hosted.release(key, ctx.school.id):
            raise Refusal("here-not-claimed", messages.PLACE_NOT_CLAIMED)
        await ctx.audit(AuditAction.PLACE, None, from_value=_where(key), to_value=OFF)
        ctx.count(SCHOOLS_CHANGED)
        return [Outgoing(place, messages.place_released(ctx.school.name))]
    role = PlaceRole(word)
    before = await ctx.unit.hosted.place(key)
    owner = await ctx.unit.hosted.claim(key, ctx.school.id, role, ctx.now)
    if owner != ctx.school.id:
        raise Refusal("here-other-school", messages.PLACE_OF_ANOTHER_SCHOOL)
    ctx.count(SCHOOLS_CHANGED)
    previous = None if before is None or before.gone_at is not None else before.role.value
    await ctx.audit(
        AuditAction.PLACE, None, from_value=previous, to_value=role.value, reason=_where(key)
    )
    return [Outgoing(place, messages.place_set(ctx.school.name, role.value))]


async def invite(ctx: Context, args: list[str]) -> list[Outgoing]:
    """A new code for the lead's school, sent to the lead alone. The code is made as the message
    leaves, so neither the outbox nor the audit ever holds it."""
    await _hosted_only(ctx)
    await ctx.audit(AuditAction.INVITED, None)
    user = ctx.incoming.user
    text = messages.invitation(ctx.school.name, joining.CODE_MARK, joining.VALID_FOR.days)
    return [
        Outgoing(
            Place(user.transport, user.id, PlaceKind.DIRECT),
            text,
            to_user=user,
            invitation_for=ctx.school.id,
        )
    ]


def place_key(place: Place) -> PlaceKey:
    """Where a place is kept: within the workspace its id names (a Teams tenant), else the
    platform's one space of ids."""
    return PlaceKey.of(place.transport, place.id)


async def _hosted_only(ctx: Context) -> None:
    if ctx.school.id not in {school.id for school in await ctx.unit.hosted.schools()}:
        made = messages.set_in_demo if ctx.config.demo else messages.set_in_config
        raise Refusal("configured-school", made(ctx.school.name))


def _where(key: PlaceKey) -> str:
    return f"{key.transport}:{key.workspace}:{key.place_id}"


COMMANDS: dict[str, Command] = {"here": here, "invite": invite}
