"""Bolt's installation and OAuth state stores over Casebook's database, and rotating tokens
refreshed once however many processes want them. On SQLite and, with
CASEBOOK_TEST_STORE=postgres, on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_installs import (
    REFRESH_LEASE,
    DatabaseInstallations,
    DatabaseOAuthStates,
    OAuthApp,
    WorkspaceTokens,
)
from bot.adapters.slack_send import SlackSender
from bot.adapters.slack_workspaces import WorkspaceClients
from handlers.events import Outgoing, Place, PlaceKind, Transport
from handlers.settings import Config
from storage.store import Store, open_store
from storage.tables import Table
from tests.chat import FakeClock
from tests.conftest import on_postgres
from tests.fakes.slack_api import FakeSlackApi

SLACK = Transport("slack")


def installation(team: str, token: str, **rotation: object) -> Installation:
    return Installation(
        app_id="A1",
        team_id=team,
        team_name=f"Team {team}",
        bot_token=token,
        bot_id=f"B{team}",
        bot_user_id=f"UBOT{team}",
        bot_scopes="chat:write,commands",
        user_id=f"UINSTALLER{team}",
        **rotation,  # type: ignore[arg-type]
    )


async def test_an_installation_is_kept_per_workspace_and_removed(
    database: Store, clock: FakeClock
) -> None:
    store = DatabaseInstallations(database, clock)
    await store.async_save(installation("T1", "xoxb-one"))
    await store.async_save(installation("T2", "xoxb-two"))
    await store.async_save(installation("T1", "xoxb-one-again"))

    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None
    assert (bot.bot_token, bot.bot_user_id, bot.team_id) == ("xoxb-one-again", "UBOTT1", "T1")
    found = await store.async_find_installation(enterprise_id=None, team_id="T2")
    assert found is not None and found.bot_token == "xoxb-two"
    assert await store.async_find_installation(enterprise_id=None, team_id="T3") is None
    assert (
        await store.async_find_installation(enterprise_id=None, team_id="T2", user_id="USOMEONE")
        is None
    )

    await store.async_delete_all(enterprise_id=None, team_id="T1")
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert await store.async_find_bot(enterprise_id=None, team_id="T2") is not None


async def test_an_enterprise_grid_workspace_is_found_with_or_without_its_organisation(
    database: Store, clock: FakeClock
) -> None:
    store = DatabaseInstallations(database, clock)
    await store.async_save(installation("T5", "xoxb-five", enterprise_id="E1"))
    for enterprise in ("E1", None):
        bot = await store.async_find_bot(enterprise_id=enterprise, team_id="T5")
        assert bot is not None and bot.bot_token == "xoxb-five"
    org = installation("", "xoxb-org", enterprise_id="E2", is_enterprise_install=True)
    await store.async_save(org)
    bot = await store.async_find_bot(enterprise_id="E2", team_id="T6")
    assert bot is not None and bot.bot_token == "xoxb-org"
    assert await store.async_find_bot(enterprise_id=None, team_id="T6") is None


async def test_an_oauth_state_is_used_once_and_expires(database: Store, clock: FakeClock) -> None:
    states = DatabaseOAuthStates(database, clock)
    first = await states.async_issue()
    second = await states.async_issue()
    assert first != second and len(first) >= 32
    assert await states.async_consume(first)
    assert not await states.async_consume(first)
    assert not await states.async_consume("made-up")
    clock.advance(minutes=11)
    assert not await states.async_consume(second)


async def test_a_state_is_never_written_to_the_database(database: Store, clock: FakeClock) -> None:
    state = await DatabaseOAuthStates(database, clock).async_issue()
    table = Table("slack_oauth_states", ("state_hash",))
    async with database.reading() as unit:
        rows = [row async for batch in unit.tables.rows(table, ["state_hash"]) for row in batch]
    assert len(rows) == 1 and state not in str(rows)


@pytest.fixture
async def other_process(
    database: Store, config: Config, request: pytest.FixtureRequest
) -> AsyncIterator[Store]:
    """A second connection to the test's database, as a second Casebook process has."""
    target = request.getfixturevalue("postgres_url") if on_postgres() else config.storage.database
    other = await open_store(target)
    yield other
    await other.close()


async def test_two_processes_wanting_an_expiring_token_refresh_it_once(
    database: Store, clock: FakeClock, slack_fake: FakeSlackApi, other_process: Store
) -> None:
    """Slack takes a refresh token once: the second process waits for the first's new token
    instead of spending the same refresh token."""
    client = AsyncWebClient(base_url=slack_fake.url + "/api/")
    app = OAuthApp("client-id", "client-secret")
    expires = int(clock.now().timestamp()) + 60  # within REFRESH_BEFORE
    here = DatabaseInstallations(database, clock)
    await here.async_save(
        installation(
            "T1", "xoxe.xoxb-T1-0", bot_refresh_token="xoxe-T1-0", bot_token_expires_at=expires
        )
    )
    there = DatabaseInstallations(other_process, clock)
    one = WorkspaceTokens(here, database, clock, app, client)
    two = WorkspaceTokens(there, other_process, clock, app, client)

    bots = await asyncio.gather(one.bot(None, "T1"), two.bot(None, "T1"))

    assert len(slack_fake.of("oauth.v2.access")) == 1
    call = slack_fake.of("oauth.v2.access")[0]
    assert (call["grant_type"], call["refresh_token"]) == ("refresh_token", "xoxe-T1-0")
    tokens = {bot.bot_token for bot in bots if bot is not None}
    assert len(tokens) == 1 and tokens != {"xoxe.xoxb-T1-0"}
    saved = await here.async_find_bot(enterprise_id=None, team_id="T1")
    assert saved is not None and saved.bot_token in tokens
    assert saved.bot_token_expires_at == int(clock.now().timestamp()) + 43200
    # A token far from expiry is used as it is.
    assert (await one.bot(None, "T1")) is not None
    assert len(slack_fake.of("oauth.v2.access")) == 1


async def test_a_process_that_read_the_token_before_another_refreshed_it_spends_nothing(
    database: Store, clock: FakeClock, slack_fake: FakeSlackApi, other_process: Store
) -> None:
    """One process read the expiring token; another refreshed it and ended its lease since.
    The first takes the free lease, reads the token again, and uses the new one."""
    client = AsyncWebClient(base_url=slack_fake.url + "/api/")
    app = OAuthApp("client-id", "client-secret")
    expires = int(clock.now().timestamp()) + 60
    here = DatabaseInstallations(database, clock)
    await here.async_save(
        installation(
            "T1", "xoxe.xoxb-T1-0", bot_refresh_token="xoxe-T1-0", bot_token_expires_at=expires
        )
    )
    late = WorkspaceTokens(
        DatabaseInstallations(other_process, clock), other_process, clock, app, client
    )
    assert await late.installed(None, "T1") is not None  # read now, used below
    first = await WorkspaceTokens(here, database, clock, app, client).bot(None, "T1")

    second = await late.bot(None, "T1")

    assert len(slack_fake.of("oauth.v2.access")) == 1
    assert first is not None and second is not None
    assert second.bot_token == first.bot_token != "xoxe.xoxb-T1-0"


async def test_a_lease_left_by_a_process_that_died_refreshing_runs_out(
    database: Store, clock: FakeClock, slack_fake: FakeSlackApi
) -> None:
    """A process killed while refreshing leaves its lease behind: once it has run out, the
    next process to want the token refreshes it; a saved token ends a lease at once."""
    expires = int(clock.now().timestamp()) + 60
    here = DatabaseInstallations(database, clock)
    await here.async_save(
        installation(
            "T1", "xoxe.xoxb-T1-0", bot_refresh_token="xoxe-T1-0", bot_token_expires_at=expires
        )
    )
    now = clock.now()
    async with database.transaction() as unit:
        assert await unit.slack_installations.lease_refresh("", "T1", now, now + REFRESH_LEASE)
    clock.advance(seconds=REFRESH_LEASE.total_seconds() + 1)
    client = AsyncWebClient(base_url=slack_fake.url + "/api/")
    tokens = WorkspaceTokens(here, database, clock, OAuthApp("id", "secret"), client)

    bot = await tokens.bot(None, "T1")

    assert bot is not None and bot.bot_token != "xoxe.xoxb-T1-0"
    assert [c["refresh_token"] for c in slack_fake.of("oauth.v2.access")] == ["xoxe-T1-0"]
    now = clock.now()
    async with database.transaction() as unit:
        assert await unit.slack_installations.lease_refresh("", "T1", now, now + REFRESH_LEASE)
    await here.async_save(installation("T1", "xoxb-reinstalled"))
    async with database.transaction() as unit:
        assert await unit.slack_installations.lease_refresh("", "T1", now, now + REFRESH_LEASE)


async def test_a_workspaces_client_sends_with_its_token_once_refreshed(
    database: Store, clock: FakeClock, slack_fake: FakeSlackApi
) -> None:
    """A workspace's client made before its token expired is not used with the old token
    after the refresh."""
    here = DatabaseInstallations(database, clock)
    expires = int(clock.now().timestamp()) + 3600
    await here.async_save(
        installation(
            "T1", "xoxe.xoxb-T1-0", bot_refresh_token="xoxe-T1-0", bot_token_expires_at=expires
        )
    )
    await here.async_save(installation("T2", "xoxb-T2-token"))
    client = AsyncWebClient(base_url=slack_fake.url + "/api/")
    tokens = WorkspaceTokens(here, database, clock, OAuthApp("id", "secret"), client)
    clients = WorkspaceClients(tokens, {"base_url": slack_fake.url + "/api/"})
    before = await clients.client("T1")
    assert before is not None and before.token == "xoxe.xoxb-T1-0"

    clock.advance(seconds=3600 - 60)  # within REFRESH_BEFORE of its expiry
    after = await clients.client("T1")

    assert len(slack_fake.of("oauth.v2.access")) == 1
    assert after is not None and after.token not in (None, "xoxe.xoxb-T1-0")
    other = await clients.client("T2")
    assert other is not None and other.token == "xoxb-T2-token"
    assert await clients.client("T3") is None


async def test_each_workspace_is_sent_to_with_its_own_token_and_direct_channel(
    database: Store, clock: FakeClock, slack_fake: FakeSlackApi
) -> None:
    """Two workspaces' people of the same id each get a direct channel opened in their own
    workspace, and what is sent is referred to with its workspace."""
    here = DatabaseInstallations(database, clock)
    for team in ("T1", "T2"):
        await here.async_save(installation(team, f"xoxb-{team}-token"))
    api = slack_fake.url + "/api/"
    tokens = WorkspaceTokens(
        here, database, clock, OAuthApp("id", "secret"), AsyncWebClient(base_url=api)
    )
    sender = SlackSender(AsyncWebClient(base_url=api), WorkspaceClients(tokens, {"base_url": api}))

    refs = [
        await sender.send(Outgoing(Place(SLACK, f"{team}/ULEAD", PlaceKind.DIRECT), "hello"))
        for team in ("T1", "T2")
    ]

    assert slack_fake.tokens_used("conversations.open") == ["xoxb-T1-token", "xoxb-T2-token"]
    assert [ref and ref.split("|")[0] for ref in refs] == ["T1/DLEAD", "T2/DLEAD"]
