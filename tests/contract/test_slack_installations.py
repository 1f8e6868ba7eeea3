"""Slack installations and OAuth states, on every store."""

from __future__ import annotations

from datetime import timedelta

from storage.protocols import SlackInstallationRepository as Installations
from storage.store import Store
from tests.contract.support import T0, covers


@covers(Installations.save, Installations.find, Installations.delete)
async def test_a_workspace_keeps_its_newest_installation_until_it_is_removed(
    store: Store,
) -> None:
    async with store.transaction() as unit:
        await unit.slack_installations.save("", "T1", '{"bot_token": "one"}', T0)
        await unit.slack_installations.save("", "T2", '{"bot_token": "two"}', T0)
        await unit.slack_installations.save("", "T1", '{"bot_token": "new"}', T0 + timedelta(1))
    async with store.reading() as unit:
        found = await unit.slack_installations.find("", "T1")
        assert found is not None
        assert (found.data, found.installed_at) == ('{"bot_token": "new"}', T0 + timedelta(1))
        assert (found.enterprise_id, found.team_id, found.refreshing_until) == ("", "T1", None)
        assert await unit.slack_installations.find("E1", "T1") is None
    async with store.transaction() as unit:
        assert await unit.slack_installations.delete("", "T1")
        assert not await unit.slack_installations.delete("", "T1")
    async with store.reading() as unit:
        assert await unit.slack_installations.find("", "T1") is None
        assert await unit.slack_installations.find("", "T2") is not None


@covers(Installations.lease_refresh)
async def test_one_refresh_lease_at_a_time_until_it_runs_out_or_the_token_is_saved(
    store: Store, another_process: Store
) -> None:
    lease = timedelta(seconds=30)
    async with store.transaction() as unit:
        await unit.slack_installations.save("", "T1", "{}", T0)
        assert await unit.slack_installations.lease_refresh("", "T1", T0, T0 + lease)
        assert not await unit.slack_installations.lease_refresh("", "T9", T0, T0 + lease)
    async with another_process.transaction() as unit:
        assert not await unit.slack_installations.lease_refresh("", "T1", T0, T0 + lease)
        assert await unit.slack_installations.lease_refresh("", "T1", T0 + lease, T0 + 2 * lease)
        found = await unit.slack_installations.find("", "T1")
        assert found is not None and found.refreshing_until == T0 + 2 * lease
        await unit.slack_installations.save("", "T1", '{"refreshed": 1}', T0 + lease)
    async with store.transaction() as unit:
        assert await unit.slack_installations.lease_refresh("", "T1", T0 + lease, T0 + 2 * lease)


@covers(Installations.add_state, Installations.use_state)
async def test_a_state_is_used_once_and_not_after_it_expires(store: Store) -> None:
    async with store.transaction() as unit:
        await unit.slack_installations.add_state("fresh", T0 + timedelta(minutes=10))
        await unit.slack_installations.add_state("stale", T0 + timedelta(minutes=1))
    later = T0 + timedelta(minutes=5)
    async with store.transaction() as unit:
        assert await unit.slack_installations.use_state("fresh", later)
        assert not await unit.slack_installations.use_state("fresh", later)
        assert not await unit.slack_installations.use_state("stale", later)
        assert not await unit.slack_installations.use_state("never", later)
    # The expired state was cleared on the way: its hash is free to be issued again.
    async with store.transaction() as unit:
        await unit.slack_installations.add_state("stale", later + timedelta(minutes=10))
        assert await unit.slack_installations.use_state("stale", later)
