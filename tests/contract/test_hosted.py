"""Hosted schools: leads, claimed places, invitation codes and the lockout's attempts."""

from __future__ import annotations

from datetime import timedelta

from handlers.events import Outgoing, Place, PlaceKind
from storage.hosted import PlaceKey, PlaceRole
from storage.models import AuditAction, AuditEntry, ConversationPlace, Transport
from storage.protocols import HostedRepository, InvitationRepository
from storage.store import Store
from tests.contract.support import T0, covers, new_case, school_and_person

GROUP = PlaceKey("telegram", "", "-100123")


@covers(HostedRepository.add, HostedRepository.schools, HostedRepository.version)
async def test_a_hosted_school_is_added_once_and_each_change_moves_the_version(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        before = await unit.hosted.version()
        await unit.schools.ensure("Configured", "Europe/London")
        north = await unit.hosted.add("Northfield", "Europe/Dublin", T0)
        assert north is not None and (north.name, north.timezone) == ("Northfield", "Europe/Dublin")
        assert await unit.hosted.add("Northfield", "Europe/London", T0) is None
        assert await unit.schools.by_name("Northfield") is not None
        assert await unit.hosted.version() == before + 1
    async with store.reading() as unit:
        assert [s.name for s in await unit.hosted.schools()] == ["Northfield"]


@covers(HostedRepository.add_lead, HostedRepository.leads, HostedRepository.remove)
async def test_leads_are_kept_once_and_go_with_their_school(store: Store) -> None:
    async with store.transaction() as unit:
        north = await unit.hosted.add("Northfield", "Europe/London", T0)
        south = await unit.hosted.add("Southgate", "Europe/London", T0)
        assert north is not None and south is not None
        alex = await unit.people.ensure("telegram:42", "Alex")
        assert await unit.hosted.add_lead(north.id, alex.id, T0)
        assert not await unit.hosted.add_lead(north.id, alex.id, T0 + timedelta(hours=1))
        assert await unit.hosted.add_lead(south.id, alex.id, T0)
        leads = await unit.hosted.leads()
        assert [(lead.school_id, lead.person_key, lead.added_at) for lead in leads] == [
            (north.id, "telegram:42", T0),  # when they were first added, not the second time
            (south.id, "telegram:42", T0),
        ]
        await unit.hosted.claim(GROUP, north.id, PlaceRole.REPORTS, T0)
        assert await unit.hosted.remove(north.id)
        assert not await unit.hosted.remove(north.id)
        assert [lead.school_id for lead in await unit.hosted.leads()] == [south.id]
        assert await unit.hosted.places() == []
        assert [s.name for s in await unit.hosted.schools()] == ["Southgate"]
        assert await unit.schools.by_name("Northfield") is None  # nothing names it any more


@covers(HostedRepository.remove)
async def test_a_removed_school_goes_entirely_unless_the_audit_trail_names_it(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        north = await unit.hosted.add("Northfield", "Europe/London", T0)
        south = await unit.hosted.add("Southgate", "Europe/London", T0)
        assert north is not None and south is not None
        alex = await unit.people.ensure("telegram:42", "Alex")
        place = ConversationPlace("telegram", "42", PlaceKind.DIRECT)
        for school in (north, south):
            await unit.schools.add_member(school.id, alex.id, T0)
            await unit.conversations.start(school.id, alex.id, place, [], "which?", T0)
            assert await unit.reminders.claim_digest(school.id, 2026, 48, T0)
        await unit.audit.append(AuditEntry(None, south.id, alex.id, AuditAction.JOINED, T0))
        assert await unit.hosted.remove(north.id) and await unit.hosted.remove(south.id)
        assert await unit.schools.by_name("Northfield") is None
        assert [s.name for s in await unit.schools.all()] == ["Southgate"]
        assert await unit.schools.of_member(alex.id) == []
        assert await unit.people.get(alex.id) is not None  # a person is not the school's


@covers(HostedRepository.claim, HostedRepository.place, HostedRepository.places)
async def test_a_place_belongs_to_one_school_and_a_school_has_one_leads_place(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        north = await unit.hosted.add("Northfield", "Europe/London", T0)
        south = await unit.hosted.add("Southgate", "Europe/London", T0)
        assert north is not None and south is not None
        assert await unit.hosted.claim(GROUP, north.id, PlaceRole.REPORTS, T0) == north.id
        assert await unit.hosted.claim(GROUP, south.id, PlaceRole.REPORTS, T0) == north.id
        found = await unit.hosted.place(GROUP)
        assert found is not None and found.school_id == north.id
        assert found.role is PlaceRole.REPORTS and found.claimed_at == T0
        # The same id in another workspace is another place.
        slack_a = PlaceKey("slack", "T1", "C1")
        slack_b = PlaceKey("slack", "T2", "C1")
        assert await unit.hosted.claim(slack_a, north.id, PlaceRole.LEADS, T0) == north.id
        assert await unit.hosted.claim(slack_b, south.id, PlaceRole.LEADS, T0) == south.id
        second = PlaceKey("slack", "T1", "C2")
        await unit.hosted.claim(second, north.id, PlaceRole.LEADS, T0)
        assert await unit.hosted.place(slack_a) is None  # one leads' place per workspace
        assert await unit.hosted.claim(GROUP, north.id, PlaceRole.LEADS, T0) == north.id
        assert [(p.key, p.role) for p in await unit.hosted.places(north.id)] == [
            (second, PlaceRole.LEADS),
            (GROUP, PlaceRole.LEADS),
        ]
        assert len(await unit.hosted.places()) == 3
        assert await unit.hosted.place(PlaceKey("telegram", "", "-1")) is None


@covers(HostedRepository.release, HostedRepository.mark_gone, HostedRepository.move)
async def test_a_place_is_released_marked_gone_and_moved(store: Store) -> None:
    async with store.transaction() as unit:
        north = await unit.hosted.add("Northfield", "Europe/London", T0)
        south = await unit.hosted.add("Southgate", "Europe/London", T0)
        assert north is not None and south is not None
        await unit.hosted.claim(GROUP, north.id, PlaceRole.REPORTS, T0)
        assert not await unit.hosted.release(GROUP, south.id)
        there = Outgoing(Place(Transport("telegram"), GROUP.place_id), "hello")
        elsewhere = Outgoing(Place(Transport("telegram"), "-100456"), "hello")
        await unit.outbox.add_many([there.outbox_row(), elsewhere.outbox_row()], T0)
        assert await unit.hosted.mark_gone(GROUP, T0 + timedelta(hours=1))
        # What was queued for the place is given up; other places' messages are not.
        due = await unit.outbox.claim_due(
            ["telegram"], T0 + timedelta(hours=1), T0 + timedelta(hours=2)
        )
        assert [Outgoing.from_json(item.payload).place.id for item in due] == ["-100456"]
        assert not await unit.hosted.mark_gone(GROUP, T0 + timedelta(hours=2))
        gone = await unit.hosted.place(GROUP)
        assert gone is not None and gone.gone_at == T0 + timedelta(hours=1)
        await unit.hosted.claim(GROUP, north.id, PlaceRole.REPORTS, T0 + timedelta(hours=3))
        back = await unit.hosted.place(GROUP)
        assert back is not None and back.gone_at is None
        assert await unit.hosted.move(GROUP, "-100999")
        assert not await unit.hosted.move(GROUP, "-100998")
        moved = PlaceKey("telegram", "", "-100999")
        assert (await unit.hosted.place(moved)) is not None
        assert await unit.hosted.release(moved, north.id)
        assert await unit.hosted.place(moved) is None


async def test_a_place_within_a_workspace_gives_up_only_its_own_queued_messages(
    store: Store,
) -> None:
    ours, theirs = "aaaa-1/19:general@thread", "bbbb-2/19:general@thread"
    key = PlaceKey.of("teams", ours)
    assert key == PlaceKey("teams", "aaaa-1", "19:general@thread") and key.qualified == ours
    assert PlaceKey.of("teams", "19:general@thread").workspace == ""
    async with store.transaction() as unit:
        north = await unit.hosted.add("Northfield", "Europe/London", T0)
        assert north is not None
        await unit.hosted.claim(key, north.id, PlaceRole.LEADS, T0)
        queued = [Outgoing(Place(Transport("teams"), where), "hello") for where in (ours, theirs)]
        await unit.outbox.add_many([each.outbox_row() for each in queued], T0)
        assert await unit.hosted.mark_gone(key, T0)
        due = await unit.outbox.claim_due(["teams"], T0, T0 + timedelta(hours=1))
        assert [Outgoing.from_json(item.payload).place.id for item in due] == [theirs]


def test_a_place_whose_own_id_holds_the_workspace_mark_is_read_back_within_its_workspace() -> None:
    """`of` reads back what `qualified` wrote whatever the platform's own id holds: the
    workspace ends at the first mark."""
    key = PlaceKey("teams", "aaaa-1", "a:1xyz/abc")
    assert PlaceKey.of("teams", key.qualified) == key


@covers(InvitationRepository.add, InvitationRepository.redeem)
async def test_a_code_is_redeemed_once_and_not_after_it_expires(store: Store) -> None:
    async with store.transaction() as unit:
        north = await unit.hosted.add("Northfield", "Europe/London", T0)
        assert north is not None
        alex = await unit.people.ensure("telegram:42", "Alex")
        sam = await unit.people.ensure("telegram:43", "Sam")
        week = T0 + timedelta(days=7)
        await unit.invitations.add(north.id, "a" * 64, T0, week)
        await unit.invitations.add(north.id, "b" * 64, T0, week)
        assert await unit.invitations.redeem("a" * 64, alex.id, T0) == north.id
        assert await unit.invitations.redeem("a" * 64, sam.id, T0) is None
        assert await unit.invitations.redeem("c" * 64, sam.id, T0) is None
        assert await unit.invitations.redeem("b" * 64, sam.id, week) is None
        assert await unit.invitations.redeem("b" * 64, sam.id, week - timedelta(seconds=1))


@covers(
    InvitationRepository.attempt,
    InvitationRepository.failures,
    InvitationRepository.lock,
    InvitationRepository.locked_until,
)
async def test_wrong_codes_are_counted_since_a_moment_and_a_lockout_is_kept(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        alex = await unit.people.ensure("telegram:42", "Alex")
        sam = await unit.people.ensure("telegram:43", "Sam")
        for minute in range(3):
            await unit.invitations.attempt(alex.id, T0 + timedelta(minutes=minute), False)
        await unit.invitations.attempt(alex.id, T0 + timedelta(minutes=3), True)
        await unit.invitations.attempt(sam.id, T0, False)
        assert await unit.invitations.failures(alex.id, T0 - timedelta(seconds=1)) == 3
        assert await unit.invitations.failures(alex.id, T0) == 2
        assert await unit.invitations.locked_until(alex.id) is None
        await unit.invitations.lock(alex.id, T0 + timedelta(hours=1))
        await unit.invitations.lock(alex.id, T0 + timedelta(hours=2))
        assert await unit.invitations.locked_until(alex.id) == T0 + timedelta(hours=2)
        assert await unit.invitations.locked_until(sam.id) is None


@covers(HostedRepository.last_report)
async def test_the_last_report_is_the_newest_case_of_that_school(store: Store) -> None:
    school_id, person_id = await school_and_person(store)
    other_id, _ = await school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        assert await unit.hosted.last_report(school_id) is None
        for hours in (2, 1):
            at = T0 + timedelta(hours=hours)
            await unit.cases.create(new_case(school_id, person_id, None, at))
        await unit.cases.create(new_case(other_id, person_id, None, T0 + timedelta(hours=5)))
        assert await unit.hosted.last_report(school_id) == T0 + timedelta(hours=2)


@covers(HostedRepository.version)
async def test_every_change_to_a_hosted_school_moves_the_version_and_no_change_does_not(
    store: Store,
) -> None:
    """Another process reloads the hosted schools only when the version moves: a lead added
    or a place claimed, released, gone or moved there must move it, or that process keeps
    answering as before."""
    async with store.transaction() as unit:
        north = await unit.hosted.add("Northfield", "Europe/London", T0)
        assert north is not None
        alex = await unit.people.ensure("telegram:42", "Alex")
        moved = PlaceKey("telegram", "", "-100999")
        changes = [
            (lambda: unit.hosted.add_lead(north.id, alex.id, T0), True),
            (lambda: unit.hosted.add_lead(north.id, alex.id, T0), False),
            (lambda: unit.hosted.claim(GROUP, north.id, PlaceRole.REPORTS, T0), True),
            (lambda: unit.hosted.mark_gone(GROUP, T0), True),
            (lambda: unit.hosted.mark_gone(GROUP, T0), False),
            (lambda: unit.hosted.move(GROUP, moved.place_id), True),
            (lambda: unit.hosted.move(GROUP, moved.place_id), False),
            (lambda: unit.hosted.release(moved, north.id), True),
            (lambda: unit.hosted.release(moved, north.id), False),
        ]
        for change, moves in changes:
            before = await unit.hosted.version()
            await change()
            assert await unit.hosted.version() == before + int(moves)
