"""The inbox and the outbox: stored once, claimed once, retried, set aside; and the small
records around them (places already welcomed, savepoints)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from storage.outbox import ROWS_PER_INSERT
from storage.protocols import (
    InboxRepository,
    OutboxRepository,
    PlaceRepository,
    SavepointRepository,
)
from storage.store import Store, Target
from tests.contract.support import T0, covers, new_case, school_and_person

MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


def _to(place: str, n: int = 0) -> str:
    """An outbox payload for a message to `place`."""
    return json.dumps({"place": {"id": place}, "n": n})


def _event(user: str, n: int) -> str:
    return json.dumps({"user": {"id": user}, "n": n})


@covers(InboxRepository.add, InboxRepository.pending, InboxRepository.mark_processed)
async def test_inbox_refuses_a_repeated_event_id(store: Store) -> None:
    async with store.transaction() as unit:
        assert await unit.inbox.add("slack", "Ev1", "{}", T0) is True
        assert await unit.inbox.add("slack", "Ev1", "{}", T0) is False
        assert await unit.inbox.add("telegram", "Ev1", "{}", T0) is True
        pending = await unit.inbox.pending(T0)
        assert await unit.inbox.mark_processed(pending[0].id, T0) is True
        assert await unit.inbox.mark_processed(pending[0].id, T0) is False
        assert [i.source for i in await unit.inbox.pending(T0)] == ["telegram"]
        assert await unit.inbox.add("slack", "Ev1", "{}", T0) is False  # done, still known


@covers(InboxRepository.pending)
async def test_pending_takes_each_persons_events_in_turn_keeping_their_order(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        for n in range(3):
            await unit.inbox.add("slack", f"busy{n}", _event("U1", n), T0)
        await unit.inbox.add("slack", "quiet", _event("U2", 0), T0)
        await unit.inbox.add("slack", "unreadable", "not json", T0)
        pending = await unit.inbox.pending(T0)
        assert [i.event_id for i in pending] == ["busy0", "quiet", "unreadable", "busy1", "busy2"]
        assert pending[0].payload == _event("U1", 0) and pending[0].received_at == T0
        assert [i.event_id for i in await unit.inbox.pending(T0, limit=2)] == ["busy0", "quiet"]


@covers(InboxRepository.mark_failed, InboxRepository.oldest_pending)
async def test_a_failed_item_waits_for_its_retry_time_and_counts_attempts(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        assert await unit.inbox.oldest_pending() is None
        await unit.inbox.add("slack", "Ev1", "{}", T0)
        await unit.inbox.add("slack", "Ev2", "{}", T0 + MINUTE)
        [first, _] = await unit.inbox.pending(T0 + MINUTE)
        await unit.inbox.mark_failed(first.id, "database is locked", T0 + 5 * MINUTE)
        assert [i.event_id for i in await unit.inbox.pending(T0 + 4 * MINUTE)] == ["Ev2"]
        assert await unit.inbox.oldest_pending() == T0  # still waiting, if for a retry
        retried = await unit.inbox.pending(T0 + 5 * MINUTE)
        assert [(i.event_id, i.attempts) for i in retried] == [("Ev1", 1), ("Ev2", 0)]
        await unit.inbox.mark_processed(first.id, T0 + 5 * MINUTE)
        assert await unit.inbox.oldest_pending() == T0 + MINUTE


@covers(InboxRepository.set_aside, InboxRepository.set_aside_items, InboxRepository.retry)
async def test_a_set_aside_item_is_kept_for_a_person_and_can_be_retried(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        for event in ("Ev1", "Ev2", "Ev3"):
            await unit.inbox.add("slack", event, "{}", T0)
        one, two, three = await unit.inbox.pending(T0)
        await unit.inbox.mark_failed(one.id, "locked", T0)
        await unit.inbox.set_aside(one.id, "x" * 600, T0 + MINUTE)
        await unit.inbox.set_aside(two.id, "bad", T0 + MINUTE)
        assert [i.id for i in await unit.inbox.pending(T0 + MINUTE)] == [three.id]
        assert await unit.inbox.oldest_pending() == T0  # the third
        aside = await unit.inbox.set_aside_items()
        assert [(i.id, i.source, i.event_id, i.attempts, i.set_aside_at) for i in aside] == [
            (one.id, "slack", "Ev1", 2, T0 + MINUTE),
            (two.id, "slack", "Ev2", 1, T0 + MINUTE),
        ]
        assert [i.has_payload for i in aside] == [True, True]
        assert aside[0].error == "x" * 500 and aside[0].received_at == T0
        assert await unit.inbox.mark_processed(one.id, T0) is False  # set aside is not done
        assert await unit.inbox.retry(one.id) == 1
        assert await unit.inbox.retry(one.id) == 0
        assert [(i.id, i.attempts) for i in await unit.inbox.pending(T0)] == [
            (one.id, 0),
            (three.id, 0),
        ]
        await unit.inbox.set_aside(one.id, "again", T0)
        assert await unit.inbox.retry(None) == 2
        assert await unit.inbox.set_aside_items() == []


@covers(InboxRepository.forget_set_aside)
async def test_retention_blanks_old_set_aside_items_which_then_cannot_be_retried(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        for event in ("old", "new", "live"):
            await unit.inbox.add("slack", event, "{}", T0)
        old, new, _ = await unit.inbox.pending(T0)
        await unit.inbox.set_aside(old.id, "bad", T0)
        await unit.inbox.set_aside(new.id, "bad", T0 + timedelta(days=30))
        assert await unit.inbox.forget_set_aside(T0 + timedelta(days=1)) == 1
        assert await unit.inbox.forget_set_aside(T0 + timedelta(days=1)) == 0
        aside = await unit.inbox.set_aside_items()
        assert [(i.event_id, i.has_payload, i.error) for i in aside] == [
            ("old", False, "bad"),
            ("new", True, "bad"),
        ]
        assert await unit.inbox.retry(old.id) == 0
        assert await unit.inbox.retry(None) == 1
        assert [i.event_id for i in await unit.inbox.pending(T0)] == ["new", "live"]


@covers(OutboxRepository.add, OutboxRepository.claim_due)
async def test_outbox_rows_are_claimed_by_one_sender_only(store: Store) -> None:
    async with store.transaction() as unit:
        for n in range(20):
            await unit.outbox.add("console", f'{{"n": {n}}}', None, T0)

    async def claim() -> list[int]:
        async with store.transaction() as unit:
            items = await unit.outbox.claim_due(["console"], T0, T0 + MINUTE, limit=7)
        return [i.id for i in items]

    results = await asyncio.gather(*(claim() for _ in range(5)))
    claimed = [i for r in results for i in r]
    assert len(claimed) == 20 and len(set(claimed)) == 20


@covers(OutboxRepository.claim_due)
async def test_claims_take_chats_in_turn_keep_order_and_skip_busy_places(
    store: Store,
) -> None:
    north, alex = await school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, None))
        a1 = await unit.outbox.add("slack", _to("A", 1), case.id, T0)
        a2 = await unit.outbox.add("slack", _to("A", 2), None, T0)
        b1 = await unit.outbox.add("slack", _to("B", 1), None, T0)
        t1 = await unit.outbox.add("telegram", _to("A", 1), None, T0)
        assert await unit.outbox.claim_due([], T0, T0 + MINUTE) == []
        first = await unit.outbox.claim_due(["slack"], T0, T0 + MINUTE, limit=2)
        assert [(i.id, i.transport, i.attempts, i.case_id) for i in first] == [
            (a1, "slack", 1, case.id),
            (b1, "slack", 1, None),
        ]
        assert first[0].payload == _to("A", 1)
        await unit.outbox.mark_sent(b1, T0, None)
        await unit.outbox.mark_retry(a1, "429", T0 + 5 * MINUTE)  # holds back the rest of A
        assert await unit.outbox.claim_due(["slack"], T0 + 30 * SECOND, T0 + 2 * MINUTE) == []
        busy = await unit.outbox.claim_due(
            ["slack", "telegram"], T0 + 5 * MINUTE, T0 + 6 * MINUTE, busy=["slack/A"]
        )
        assert [i.id for i in busy] == [t1]
        rest = await unit.outbox.claim_due(["slack"], T0 + 5 * MINUTE, T0 + 6 * MINUTE)
        assert [(i.id, i.attempts) for i in rest] == [(a1, 2), (a2, 1)]  # in order
        assert await unit.outbox.claim_due(["slack"], T0 + 5 * MINUTE, T0 + 6 * MINUTE) == []


@covers(OutboxRepository.add_many, OutboxRepository.claim_due)
async def test_messages_queued_together_keep_their_order_place_and_thread(store: Store) -> None:
    """add_many writes several rows a statement: they must be the rows `add` would write one
    by one, in the order given, past the rows one statement holds."""
    north, alex = await school_and_person(store)
    count = ROWS_PER_INSERT + 3
    places = ["A" if n % 2 else "B" for n in range(count)]
    threads = [f"{n % 3}.0" for n in range(count)]
    payloads = [
        json.dumps({"place": {"id": places[n]}, "thread": threads[n], "n": n}) for n in range(count)
    ]
    transports = ["telegram" if n == 4 else "slack" for n in range(count)]
    async with store.transaction() as unit:
        case = await unit.cases.create(new_case(north, alex, None))
        before = await unit.outbox.add("slack", json.dumps({"place": {"id": "A"}}), None, T0)
        await unit.outbox.add_many([], T0)
        await unit.outbox.add_many(
            [(transports[n], payloads[n], case.id if n == 2 else None) for n in range(count)],
            T0,
        )
        claimed = await unit.outbox.claim_due(["slack", "telegram"], T0, T0 + MINUTE, limit=99)
    rows = sorted(claimed, key=lambda item: item.id)
    assert rows[0].id == before
    assert [row.payload for row in rows[1:]] == payloads
    assert [row.transport for row in rows[1:]] == transports
    assert [row.case_id for row in rows[1:]] == [case.id if n == 2 else None for n in range(count)]
    async with store.transaction() as unit:
        for row in rows:
            await unit.outbox.mark_retry(row.id, "later", T0)
        again = await unit.outbox.claim_due(
            ["slack"], T0, T0 + MINUTE, limit=99, busy=["slack/B/1.0"]
        )
    # Each row's place and thread were read out of its own payload: B's thread "1.0" waits.
    waiting = {n for n in range(count) if (places[n], threads[n]) == ("B", "1.0")}
    assert waiting and sorted(json.loads(i.payload).get("n", -1) for i in again) == [
        -1,
        *(n for n in range(count) if n not in waiting and transports[n] == "slack"),
    ]


@covers(OutboxRepository.claim_due)
async def test_a_busy_thread_holds_back_only_itself_and_a_busy_place_all_its_threads(
    store: Store,
) -> None:
    def in_thread(thread: str | None, n: int) -> str:
        return json.dumps({"place": {"id": "C"}, "thread": thread, "n": n})

    async with store.transaction() as unit:
        x1 = await unit.outbox.add("slack", in_thread("1.1", 1), None, T0)
        y1 = await unit.outbox.add("slack", in_thread("2.2", 1), None, T0)
        main = await unit.outbox.add("slack", in_thread(None, 1), None, T0)
        x2 = await unit.outbox.add("slack", in_thread("1.1", 2), None, T0)
        lease = T0 + MINUTE
        assert await unit.outbox.claim_due(["slack"], T0, lease, busy=["slack/C"]) == []
        others = await unit.outbox.claim_due(["slack"], T0, lease, busy=["slack/C/1.1"])
        assert [i.id for i in others] == [y1, main]
        rest = await unit.outbox.claim_due(["slack"], T0, lease)
        assert [i.id for i in rest] == [x1, x2]  # the thread's own messages, in order


@covers(
    OutboxRepository.mark_retry,
    OutboxRepository.mark_sent,
    OutboxRepository.message_ref,
)
async def test_outbox_lease_expiry_and_retry(store: Store) -> None:
    async with store.transaction() as unit:
        row = await unit.outbox.add("slack", "{}", None, T0)
        assert [i.id for i in await unit.outbox.claim_due(["slack"], T0, T0 + 60 * SECOND)] == [row]
        assert await unit.outbox.claim_due(["slack"], T0 + 30 * SECOND, T0) == []
        again = await unit.outbox.claim_due(["slack"], T0 + 61 * SECOND, T0 + 121 * SECOND)
        assert [i.attempts for i in again] == [2]
        await unit.outbox.mark_retry(row, "429", T0 + 5 * MINUTE)
        assert await unit.outbox.claim_due(["slack"], T0 + 4 * MINUTE, T0) == []
        assert len(await unit.outbox.claim_due(["slack"], T0 + 5 * MINUTE, T0)) == 1
        assert await unit.outbox.message_ref(row) is None
        await unit.outbox.mark_sent(row, T0, "ts1")
        assert await unit.outbox.message_ref(row) == "ts1"
        assert await unit.outbox.claim_due(["slack"], T0 + timedelta(days=1), T0) == []
        assert await unit.outbox.message_ref(row + 100) is None


@covers(OutboxRepository.mark_failed)
async def test_a_failed_message_is_never_claimed_again(store: Store) -> None:
    async with store.transaction() as unit:
        failed = await unit.outbox.add("slack", "{}", None, T0)
        other = await unit.outbox.add("slack", "{}", None, T0)
        await unit.outbox.claim_due(["slack"], T0, T0 + MINUTE)
        await unit.outbox.mark_failed(failed, "channel_not_found", T0)
        await unit.outbox.mark_retry(other, "500", T0)
        later = await unit.outbox.claim_due(["slack"], T0 + timedelta(days=1), T0 + MINUTE)
        assert [i.id for i in later] == [other]
        assert await unit.outbox.message_ref(failed) is None


@covers(OutboxRepository.release_claims_of_others)
async def test_a_new_process_takes_back_the_claims_of_the_one_before_unless_others_share_it(
    store: Store, store_target: str
) -> None:
    # One process per SQLite file: a claim not ours is a dead process's. On a store shared by
    # several processes the others are alive and sending, and their leases run out on their own.
    shared = Target.parse(store_target).url is not None
    async with store.transaction() as unit:
        mine = await unit.outbox.add("slack", _to("A"), None, T0)  # one chat each
        theirs = await unit.outbox.add("slack", _to("B"), None, T0)
        sent = await unit.outbox.add("slack", _to("C"), None, T0)
        lease = T0 + timedelta(hours=1)
        await unit.outbox.claim_due(["slack"], T0, lease, limit=1, owner="me")
        await unit.outbox.claim_due(["slack"], T0, lease, owner="old")
        await unit.outbox.mark_sent(sent, T0, "ts")
        assert await unit.outbox.claim_due(["slack"], T0 + MINUTE, lease) == []
        assert await unit.outbox.release_claims_of_others("me") == (0 if shared else 1)
        assert await unit.outbox.release_claims_of_others("me") == 0
        again = await unit.outbox.claim_due(["slack"], T0 + MINUTE, lease, owner="me")
        assert [i.id for i in again] == ([] if shared else [theirs])
        assert mine != theirs


@covers(PlaceRepository.first_visit)
async def test_a_place_is_visited_for_the_first_time_once(store: Store) -> None:
    async with store.transaction() as unit:
        assert await unit.places.first_visit("slack", "C1", T0) is True
        assert await unit.places.first_visit("slack", "C1", T0 + MINUTE) is False
        assert await unit.places.first_visit("telegram", "C1", T0) is True
    async with store.transaction() as unit:
        assert await unit.places.first_visit("slack", "C1", T0) is False


@covers(PlaceRepository.remember_address, PlaceRepository.addresses)
async def test_a_places_address_is_kept_and_a_newer_one_replaces_it(store: Store) -> None:
    async with store.transaction() as unit:
        await unit.places.remember_address("teams", "19:a", "https://one/", T0)
        await unit.places.remember_address("teams", "19:b", "https://one/", T0)
        await unit.places.remember_address("slack", "19:a", "elsewhere", T0)
    async with store.transaction() as unit:
        await unit.places.remember_address("teams", "19:a", "https://two/", T0 + MINUTE)
    async with store.reading() as unit:
        assert await unit.places.addresses("teams") == {
            "19:a": "https://two/",
            "19:b": "https://one/",
        }
        assert await unit.places.addresses("telegram") == {}


@covers(SavepointRepository.around)
async def test_a_savepoint_undoes_only_the_piece_that_failed(store: Store) -> None:
    async with store.transaction() as unit:
        async with unit.savepoints.around():
            await unit.inbox.add("slack", "kept", "{}", T0)
        with pytest.raises(RuntimeError):
            async with unit.savepoints.around():
                await unit.inbox.add("slack", "undone", "{}", T0)
                raise RuntimeError("this item failed")
        await unit.inbox.add("slack", "after", "{}", T0)
    async with store.transaction() as unit:  # pending claims the items on a shared store
        assert [i.event_id for i in await unit.inbox.pending(T0)] == ["kept", "after"]
