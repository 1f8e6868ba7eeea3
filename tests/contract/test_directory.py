"""Schools, people and who has been seen in which school."""

from __future__ import annotations

from datetime import timedelta

from storage.protocols import PeopleRepository, SchoolRepository
from storage.store import Store
from tests.contract.support import T0, covers


@covers(SchoolRepository.ensure, SchoolRepository.by_name, SchoolRepository.get)
async def test_ensuring_a_school_twice_keeps_its_id_and_takes_the_new_timezone(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        first = await unit.schools.ensure("Northfield", "Europe/London")
        again = await unit.schools.ensure("Northfield", "Europe/Dublin")
        assert again.id == first.id and again.timezone == "Europe/Dublin"
        assert await unit.schools.by_name("Northfield") == again
        assert await unit.schools.get(first.id) == again
        assert await unit.schools.by_name("Nowhere") is None
        assert await unit.schools.get(first.id + 100) is None


@covers(SchoolRepository.all)
async def test_all_schools_come_in_the_order_they_were_added(store: Store) -> None:
    async with store.transaction() as unit:
        south = await unit.schools.ensure("Southgate", "Europe/London")
        north = await unit.schools.ensure("Northfield", "Europe/London")
        await unit.schools.ensure("Southgate", "Europe/London")
    async with store.reading() as unit:
        assert await unit.schools.all() == [south, north]


@covers(SchoolRepository.add_member, SchoolRepository.members, SchoolRepository.of_member)
async def test_members_are_listed_once_and_their_schools_newest_seen_first(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        north = await unit.schools.ensure("Northfield", "Europe/London")
        south = await unit.schools.ensure("Southgate", "Europe/London")
        sam = await unit.people.ensure("console:sam", "Sam")
        alex = await unit.people.ensure("console:alex", "Alex")
        await unit.schools.add_member(north.id, sam.id, T0)
        await unit.schools.add_member(north.id, alex.id, T0)
        await unit.schools.add_member(south.id, alex.id, T0 + timedelta(hours=1))
        assert await unit.schools.of_member(alex.id) == [south, north]
        await unit.schools.add_member(north.id, alex.id, T0 + timedelta(hours=2))
        assert await unit.schools.members(north.id) == [alex, sam]  # by key, once each
        assert await unit.schools.members(south.id) == [alex]
        assert await unit.schools.of_member(alex.id) == [north, south]
        assert await unit.schools.of_member(sam.id) == [north]
        nobody = await unit.people.ensure("console:nobody", "Nobody")
        assert await unit.schools.of_member(nobody.id) == []


@covers(PeopleRepository.ensure, PeopleRepository.get, PeopleRepository.by_key)
async def test_a_person_keeps_their_id_and_a_newer_name_wins_but_not_a_blank_one(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        alex = await unit.people.ensure("slack:U1", "Alex")
        renamed = await unit.people.ensure("slack:U1", "Alex Smith")
        unnamed = await unit.people.ensure("slack:U1", "")
        other = await unit.people.ensure("telegram:U1", "")
    assert renamed.id == alex.id and renamed.name == "Alex Smith"
    assert unnamed == renamed
    assert other.id != alex.id and other.name == ""
    async with store.reading() as unit:
        assert await unit.people.get(alex.id) == renamed
        assert await unit.people.by_key("slack:U1") == renamed
        assert await unit.people.by_key("slack:U2") is None
        assert await unit.people.get(other.id + 100) is None
