"""Folds of a flood of one person's reports: counted per person and school, added to while
waiting, and sent once."""

from __future__ import annotations

from datetime import timedelta

from storage.protocols import FoldRepository
from storage.store import Store
from tests.contract.support import T0, covers, new_case, school_and_person

MINUTE = timedelta(minutes=1)


@covers(FoldRepository.reports_since)
async def test_reports_are_counted_per_person_and_school_since_a_moment(store: Store) -> None:
    north, alex = await school_and_person(store)
    south, _ = await school_and_person(store, "Southgate")
    async with store.transaction() as unit:
        sam = (await unit.people.ensure("console:sam", "Sam")).id
        await unit.cases.create(new_case(north, alex, "https://a.org/1", at=T0))
        await unit.cases.create(new_case(north, alex, "https://a.org/2", at=T0 + 5 * MINUTE))
        await unit.cases.create(new_case(south, alex, "https://a.org/3", at=T0 + 5 * MINUTE))
        joined = await unit.cases.create(new_case(north, sam, "https://a.org/4", at=T0))
        await unit.cases.add_reporter(joined.id, alex, "me too", T0 + 6 * MINUTE)
        assert await unit.folds.reports_since(north, alex, T0) == 3
        assert await unit.folds.reports_since(north, alex, T0 + MINUTE) == 2
        assert await unit.folds.reports_since(south, alex, T0) == 1
        assert await unit.folds.reports_since(north, sam, T0) == 1


@covers(FoldRepository.start, FoldRepository.waiting, FoldRepository.add_numbers)
async def test_a_waiting_fold_gathers_case_numbers_each_once(store: Store) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        assert await unit.folds.waiting(north, alex) is None
        fold_id = await unit.folds.start(north, alex, '{"r": 1}', ['{"a": 1}'], T0, T0 + MINUTE)
        await unit.folds.add_numbers(fold_id, [11, 12], [11])
        await unit.folds.add_numbers(fold_id, [12, 13], [13])
        fold = await unit.folds.waiting(north, alex)
    assert fold is not None and fold.id == fold_id
    assert fold.numbers == (11, 12, 13) and fold.new_numbers == (11, 13)
    assert fold.reply == '{"r": 1}' and fold.alerts == ('{"a": 1}',)
    assert fold.due_at == T0 + MINUTE and fold.sent_at is None


@covers(FoldRepository.due, FoldRepository.mark_sent)
async def test_a_due_fold_is_sent_once_and_forgets_its_messages(
    store: Store, another_process: Store
) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        fold_id = await unit.folds.start(north, alex, '{"r": 1}', ['{"a": 1}'], T0, T0 + MINUTE)
        assert await unit.folds.due(T0) == []
        [due] = await unit.folds.due(T0 + MINUTE)
        assert due.id == fold_id
        assert await unit.folds.mark_sent(fold_id, T0 + MINUTE)
    async with another_process.transaction() as unit:
        assert not await unit.folds.mark_sent(fold_id, T0 + 2 * MINUTE)
        assert await unit.folds.due(T0 + 2 * MINUTE) == []
        assert await unit.folds.waiting(north, alex) is None
