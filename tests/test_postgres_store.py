"""What the PostgreSQL store promises beyond the shared contract: the same append-only audit as
SQLite's, its refusals, work claimed by one process only, and faults reported as transient."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from bot.adapters.console_config import CONSOLE
from bot.app import sync_schools
from bot.delivery import Delivery
from handlers import messages
from handlers.events import Incoming, IncomingKind, Outgoing, Place, PlaceKind, Transport, User
from storage.db import migrations
from storage.inbox import SCHOOLS_PER_CLAIM
from storage.models import AuditEntry, CaseLink, InboxItem, NewCase, Platform
from storage.postgres import PostgresStore, numbered
from storage.store import (
    BackupUnsupported,
    DatabaseError,
    SchemaTooNewError,
    Store,
    is_transient,
    open_store,
)
from storage.unit import Unit
from tests.chat import STAFF_ROOM, Chat, FakeClock, texts
from tests.conftest import two_schools
from tests.fakes.pausing_proxy import PausingProxy
from tests.postgres import terminate_others
from tests.test_delivery import GatedSender

LATEST = migrations("storage.migrations.postgres")[-1][0]

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[Store]:
    db = await open_store(postgres_url)
    yield db
    await db.close()


async def _school_and_person(store: Store, school: str = "Northfield") -> tuple[int, int]:
    async with store.transaction() as unit:
        s = await unit.schools.ensure(school, "Europe/London")
        p = await unit.people.ensure("console:alex", "Alex")
    return s.id, p.id


def _new(school_id: int, person_id: int, url: str | None = None) -> NewCase:
    link = None if url is None else CaseLink(url, url, Platform.TIKTOK)
    return NewCase(school_id, Platform.TIKTOK, Transport("console"), person_id, "words", T0, link)


async def _raw(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def test_a_url_opens_postgresql_and_says_what_it_found(store: Store) -> None:
    assert isinstance(store, PostgresStore)
    assert (await store.server_version()).startswith("PostgreSQL ")
    assert await store.schema_version() == len(migrations("storage.migrations.postgres"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit SET action = 'x'",
        "UPDATE audit SET reason = 'x'",
        "UPDATE audit SET at = '2020-01-01T00:00:00Z'",
        "UPDATE audit SET to_value = NULL",  # 'new' is not a person reference
        "DELETE FROM audit",
    ],
)
async def test_audit_rows_cannot_be_changed_or_deleted(
    store: Store,
    postgres_url: str,
    statement: str,
) -> None:
    north, alex = await _school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(_new(north, alex))
        await unit.audit.append(AuditEntry(case.id, north, alex, "created", T0, to_value="new"))
    with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="append-only"):
        await _raw(postgres_url, statement)
    async with store.transaction() as unit:
        assert [e.to_value for e in await unit.audit.for_cases([case.id])] == ["new"]


async def test_person_references_in_the_audit_may_be_blanked(store: Store) -> None:
    north, alex = await _school_and_person(store)
    async with store.transaction() as unit:
        case = await unit.cases.create(_new(north, alex))
        await unit.audit.append(
            AuditEntry(case.id, north, alex, "assigned", T0, to_value=f"person:{alex}")
        )
        await unit.privacy.anonymise_case(case.id, T0)
        [entry] = await unit.audit.for_cases([case.id])
    assert (entry.actor_id, entry.to_value, entry.action) == (None, None, "assigned")


async def test_every_case_gets_a_random_key_and_the_database_an_id(
    store: Store,
) -> None:
    north, alex = await _school_and_person(store)
    async with store.transaction() as unit:
        for _ in range(3):
            await unit.cases.create(_new(north, alex))
    async with store.reading() as unit:
        rows = await unit.evidence.rows()
    keys = {row.key for row in rows}
    assert len(keys) == 3 and all(len(k) == 16 and int(k, 16) >= 0 for k in keys)
    assert len({row.deployment for row in rows}) == 1


async def test_another_programs_database_is_refused(postgres_url: str) -> None:
    await _raw(postgres_url, "CREATE TABLE invoices (id INTEGER)")
    with pytest.raises(DatabaseError, match="not a Casebook database"):
        await open_store(postgres_url)


async def test_a_newer_schema_is_refused(store: Store, postgres_url: str) -> None:
    await _raw(
        postgres_url,
        "INSERT INTO schema_version VALUES (99, '099_future.sql', '2030-01-01T00:00:00Z')",
    )
    with pytest.raises(SchemaTooNewError, match="version 99"):
        await open_store(postgres_url)


async def test_two_processes_opening_a_new_database_migrate_it_once(
    postgres_url: str,
) -> None:
    first, second = await asyncio.gather(open_store(postgres_url), open_store(postgres_url))
    try:
        latest = len(migrations("storage.migrations.postgres"))
        assert await first.schema_version() == await second.schema_version() == latest
    finally:
        await first.close()
        await second.close()


async def test_case_numbers_stay_unique_when_two_processes_create_cases_at_once(
    store: Store,
    postgres_url: str,
) -> None:
    north, alex = await _school_and_person(store)
    other = await open_store(postgres_url)  # a second pool, as a second process has

    async def create(on: Store) -> int:
        async with on.transaction() as unit:
            case = await unit.cases.create(_new(north, alex))
            await asyncio.sleep(0.01)  # hold the transaction while the other creates too
        return case.number

    try:
        numbers = await asyncio.gather(*(create(s) for _ in range(10) for s in (store, other)))
    finally:
        await other.close()
    assert sorted(numbers) == list(range(1, 21))


async def test_one_link_reported_in_two_processes_at_once_makes_one_case(
    store: Store, postgres_url: str
) -> None:
    north, alex = await _school_and_person(store)
    other = await open_store(postgres_url)
    url = "https://tiktok.com/@a/video/1"

    async def report(on: Store) -> int:
        async with on.transaction() as unit:
            found = await unit.cases.find_active_by_link(north, url)
            await asyncio.sleep(0.05)  # both look before either creates, unless they take turns
            if found is not None:
                return found.id
            return (await unit.cases.create(_new(north, alex, url))).id

    try:
        first, second = await asyncio.gather(report(store), report(other))
    finally:
        await other.close()
    assert first == second


async def test_an_inbox_item_is_handled_by_one_process_only(store: Store) -> None:
    async with store.transaction() as unit:
        for n in range(6):
            await unit.inbox.add("slack", f"Ev{n}", f'{{"user": {{"id": "U{n}"}}}}', T0)
    first, second = await _claims_side_by_side(store, first_limit=3)
    a, b = [i.id for i in first], [i.id for i in second]
    assert len(a) == 3 and len(b) == 3 and not set(a) & set(b)


async def _claims_side_by_side(
    store: Store, first_limit: int = 100
) -> tuple[list[InboxItem], list[InboxItem]]:
    """Two claims of pending inbox items at once: the first holds its transaction (and so its
    claim) open until the second has claimed."""
    taken = asyncio.Event()
    release = asyncio.Event()

    async def first() -> list[InboxItem]:
        async with store.transaction() as unit:
            items = await unit.inbox.pending(T0, limit=first_limit)
            taken.set()
            await release.wait()
        return items

    async def second() -> list[InboxItem]:
        await taken.wait()
        async with store.transaction() as unit:
            items = await unit.inbox.pending(T0)
        release.set()
        return items

    return await asyncio.gather(first(), second())


async def test_a_persons_later_event_waits_while_another_process_holds_an_earlier_one(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        await unit.inbox.add("slack", "A1", '{"user": {"id": "UA"}}', T0)
        await unit.inbox.add("slack", "A2", '{"user": {"id": "UA"}}', T0)
        await unit.inbox.add("slack", "B1", '{"user": {"id": "UB"}}', T0)
    taken = asyncio.Event()
    release = asyncio.Event()

    async def first() -> list[str]:
        async with store.transaction() as unit:
            items = await unit.inbox.pending(T0, limit=1)
            taken.set()
            await release.wait()
        return [i.event_id for i in items]

    async def second() -> list[str]:
        await taken.wait()
        async with store.transaction() as unit:
            items = await unit.inbox.pending(T0)
        release.set()
        return [i.event_id for i in items]

    a, b = await asyncio.gather(first(), second())
    assert a == ["A1"]
    assert b == ["B1"]  # A2 waits for A1, which the first process holds


async def test_the_same_user_id_on_another_platform_does_not_wait_behind_a_held_event(
    store: Store,
) -> None:
    """A person is a user id on one platform: a Telegram user whose id matches a Slack user's
    is someone else, and their report is not held back while another process holds the Slack
    user's earlier event."""
    async with store.transaction() as unit:
        await unit.inbox.add("slack", "A1", '{"user": {"id": "42"}}', T0)
        await unit.inbox.add("slack", "A2", '{"user": {"id": "42"}}', T0)
        await unit.inbox.add("telegram", "T1", '{"user": {"id": "42"}}', T0)
    first, second = await _claims_side_by_side(store, first_limit=1)
    assert [i.event_id for i in first] == ["A1"]
    assert [i.event_id for i in second] == ["T1"]  # A2 waits for A1; T1 is not theirs


async def _claimed_late(
    store: Store, postgres_url: str, meanwhile: Callable[[Unit], Awaitable[None]]
) -> list[str]:
    """What a claim takes when `meanwhile` runs and commits in another transaction after the
    claim has read what is waiting and before it locks it: a loopback proxy holds the claim's
    lock statement (FOR UPDATE SKIP LOCKED) until then."""
    proxy = PausingProxy(postgres_url, b"FOR UPDATE SKIP LOCKED")
    late = await open_store(await proxy.start())

    async def claim() -> list[str]:
        async with late.transaction() as unit:
            return [item.event_id for item in await unit.inbox.pending(T0)]

    try:
        claiming = asyncio.create_task(claim())
        async with asyncio.timeout(30):
            await proxy.held.wait()  # it has read what is waiting, and locked nothing yet
        async with store.transaction() as unit:
            await meanwhile(unit)
        proxy.release.set()
        return await claiming
    finally:
        proxy.release.set()
        await late.close()
        await proxy.close()


async def test_an_item_processed_after_another_process_saw_it_waiting_is_not_taken_again(
    store: Store, postgres_url: str
) -> None:
    """The claim reads what is waiting, then locks it (FOR UPDATE SKIP LOCKED). An item another
    process handled (or set aside) and committed in between is no longer locked by anyone, so
    only checking again that it is still waiting keeps it from being handled twice."""
    async with store.transaction() as unit:
        await unit.inbox.add("slack", "Ev1", '{"user": {"id": "U1"}}', T0)
        await unit.inbox.add("slack", "Ev2", '{"user": {"id": "U2"}}', T0)

    async def handle_one_and_set_aside_the_other(unit: Unit) -> None:
        done, failed = await unit.inbox.pending(T0)
        assert await unit.inbox.mark_processed(done.id, T0)
        await unit.inbox.set_aside(failed.id, "cannot be read", T0)

    assert await _claimed_late(store, postgres_url, handle_one_and_set_aside_the_other) == []


async def test_an_item_that_failed_after_another_process_saw_it_waiting_waits_for_its_retry(
    store: Store, postgres_url: str
) -> None:
    """As above, for an item whose handling failed in between: it is waiting again, but not
    before its retry time, so the claim checks that time again on the locked row."""
    async with store.transaction() as unit:
        await unit.inbox.add("slack", "Ev1", '{"user": {"id": "U1"}}', T0)

    async def fail_it(unit: Unit) -> None:
        [item] = await unit.inbox.pending(T0)
        await unit.inbox.mark_failed(item.id, "handler failed", T0 + timedelta(minutes=5))

    assert await _claimed_late(store, postgres_url, fail_it) == []


async def test_concurrent_claims_take_the_items_of_different_schools(store: Store) -> None:
    """A report holds its school's turn until its batch commits, so a claim takes the turns of
    a few schools nobody holds, and only their items: a second handler, in this process or
    another, works on the other schools instead of queueing behind the first."""
    names = [f"School {n}" for n in range(6)]
    async with store.transaction() as unit:
        for name in names:
            await unit.schools.ensure(name, "Europe/London")
        for n in range(12):
            payload = json.dumps({"user": {"id": f"U{n}"}, "school": names[n % 6]})
            await unit.inbox.add("slack", f"Ev{n}", payload, T0)
    first, second = await _claims_side_by_side(store)
    a, b = [i.event_id for i in first], [i.event_id for i in second]
    school_of = {f"Ev{n}": names[n % 6] for n in range(12)}
    assert len({school_of[e] for e in a}) == SCHOOLS_PER_CLAIM
    assert {school_of[e] for e in a}.isdisjoint(school_of[e] for e in b)
    assert sorted(a + b) == sorted(school_of)


async def test_a_chat_claimed_by_another_process_is_busy(store: Store) -> None:
    async with store.transaction() as unit:
        for n in range(3):
            await unit.outbox.add("slack", f'{{"place": {{"id": "C1"}}, "n": {n}}}', None, T0)
        await unit.outbox.add("slack", '{"place": {"id": "C2"}}', None, T0)
    lease = T0 + timedelta(minutes=1)
    async with store.transaction() as unit:
        mine = await unit.outbox.claim_due(["slack"], T0, lease, limit=1, owner="one")
    async with store.transaction() as unit:
        theirs = await unit.outbox.claim_due(["slack"], T0, lease, owner="two")
        assert await unit.outbox.release_claims_of_others("two") == 0  # both are alive
    assert [i.id for i in mine] == [1]
    assert [i.id for i in theirs] == [4]  # C1's later rows wait for the first process's claim
    async with store.transaction() as unit:
        await unit.outbox.mark_sent(1, T0, "ts")
        rest = await unit.outbox.claim_due(["slack"], T0, lease, owner="two")
    assert [i.id for i in rest] == [2, 3]


async def test_a_chats_next_message_waits_while_another_process_sends_its_first(
    store: Store,
) -> None:
    """Two processes on one database: while one sends a chat's first message, the other does
    not claim the chat's next one (it would go first); the first process sends it after."""
    clock = FakeClock()

    async def queue(text: str) -> None:
        message = Outgoing(Place(CONSOLE, "alex", PlaceKind.DIRECT), text)
        async with store.transaction() as unit:
            await unit.outbox.add("console", message.to_json(), None, clock.now())

    await queue("first")
    one, other = GatedSender(), GatedSender()
    other.gate.set()
    sending = asyncio.create_task(Delivery(store, clock, {CONSOLE: one}).flush())
    await one.wait_for(1)
    await queue("second")
    assert await Delivery(store, clock, {CONSOLE: other}).flush() == 0
    one.gate.set()
    assert await sending == 2
    assert one.sent == ["first", "second"] and other.on_wire == []


async def test_savepoints_undo_only_their_own_writes(store: Store) -> None:
    north, alex = await _school_and_person(store)
    async with store.transaction() as unit:
        await unit.cases.create(_new(north, alex))
        with pytest.raises(RuntimeError):
            async with unit.savepoints.around():
                await unit.cases.create(_new(north, alex))
                raise RuntimeError("this item fails")
        await unit.cases.create(_new(north, alex))
    async with store.reading() as unit:
        assert [c.number for c in await unit.cases.listing()] == [1, 2]


async def test_a_server_that_is_gone_is_a_transient_fault(store: Store) -> None:
    refused = await open_store_error("postgresql://casebook@127.0.0.1:1/casebook")
    assert isinstance(refused.__cause__, OSError)
    assert is_transient(refused.__cause__)
    assert is_transient(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert is_transient(asyncpg.exceptions.SerializationError("could not serialize"))
    assert is_transient(asyncpg.exceptions.DeadlockDetectedError("deadlock"))
    assert is_transient(asyncpg.exceptions.CannotConnectNowError("starting up"))
    assert not is_transient(asyncpg.exceptions.UniqueViolationError("duplicate"))
    assert not is_transient(ValueError("bad input"))


async def open_store_error(url: str) -> DatabaseError:
    with pytest.raises(DatabaseError, match="cannot connect") as caught:
        await open_store(url)
    return caught.value


async def test_a_connection_killed_mid_transaction_is_transient_and_the_pool_recovers(
    store: Store,
    postgres_url: str,
) -> None:
    with pytest.raises(Exception) as caught:
        async with store.transaction() as unit:
            await unit.inbox.add("slack", "Ev1", "{}", T0)
            assert await terminate_others(postgres_url) >= 1
            await unit.inbox.add("slack", "Ev2", "{}", T0)
    assert is_transient(caught.value)
    async with store.transaction() as unit:  # a new connection from the pool
        assert await unit.inbox.add("slack", "Ev1", "{}", T0) is True  # the first was rolled back
    probe = await store.probe(1.0)
    assert probe.error == "" and probe.oldest_pending == T0


async def test_backup_points_to_pg_dump(store: Store, tmp_path: Path) -> None:
    with pytest.raises(BackupUnsupported, match="pg_dump"):
        await store.backup(tmp_path / "copy.db")


def test_placeholders_are_numbered_outside_quoted_text() -> None:
    assert numbered("SELECT ?, '?', ? WHERE a = '' OR b = ?") == (
        "SELECT $1, '?', $2 WHERE a = '' OR b = $3"
    )


async def test_connections_lost_in_a_server_restart_are_replaced_and_nothing_is_lost(
    postgres_url: str, tmp_path: Path
) -> None:
    store = await open_store(postgres_url)
    try:
        config = two_schools(tmp_path / "unused.db")
        await sync_schools(store, config)
        chat = Chat(store, config, FakeClock())
        report = Incoming(
            IncomingKind.MESSAGE,
            STAFF_ROOM,
            User(Transport("console"), "alex", "alex"),
            text="https://www.tiktok.com/@a/video/7301234567890123456",
            school="Northfield",
        )
        assert await chat.router.receive(report, "test", "e1") is True
        # Every pooled connection dies, as when the server restarts.
        assert await terminate_others(postgres_url) >= 1
        await chat.router.process_pending()  # on new connections
        await chat.delivery.flush()
        assert messages.case_logged(1, Platform.TIKTOK) in texts(chat.transport.sent)
    finally:
        await store.close()


async def test_a_large_export_streams_in_batches_from_a_snapshot(store: Store) -> None:
    north, alex = await _school_and_person(store)
    async with store.transaction() as unit:
        for _ in range(2500):
            await unit.cases.create(_new(north, alex))
    async with store.reading() as unit:
        sizes = []
        async for batch in unit.exports.documents():
            sizes.append(len(batch))
            if len(sizes) == 1:  # written meanwhile: not in this snapshot
                async with store.transaction() as writer:
                    await writer.cases.create(_new(north, alex))
    assert sizes == [1000, 1000, 500]
