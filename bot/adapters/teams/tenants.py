"""Which tenant an activity comes from, and ids qualified with it.

A hosted Casebook is one bot for every school's Microsoft 365 tenant, and ids from two tenants
must never meet: a channel or a person of one tenant must never be taken for another's, even
where their ids are the same. So an id from any tenant but the config's own (`[teams]
tenant_id`) is written `TENANT/ID`: a place is then kept as ID within workspace TENANT
(storage/hosted.py), and a person's key names their tenant. The config's own tenant keeps bare
ids, so a school set up in the config file, and everything stored about it, stays as it was.
"""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import Activity

from storage.hosted import WORKSPACE_MARK


def tenant_of(activity: Activity) -> str:
    """The tenant the activity's conversation is in ('' when Teams names none)."""
    conversation = activity.conversation
    tenant = conversation.tenant_id if conversation is not None else None
    if not tenant:
        data = activity.channel_data
        if not isinstance(data, dict):
            dumped: Any = getattr(data, "model_dump", None)
            data = dumped(by_alias=True) if callable(dumped) else {}
        tenant = ((data or {}).get("tenant") or {}).get("id")
    return tenant if isinstance(tenant, str) else ""


def qualified(home: str, tenant: str, own_id: str) -> str:
    """An id as Casebook keeps it: bare in the config's own tenant, else `TENANT/ID`."""
    if not tenant or tenant == home:
        return own_id
    return f"{tenant}{WORKSPACE_MARK}{own_id}"


def split(home: str, kept_id: str) -> tuple[str, str]:
    """(tenant, the id Teams knows) of an id as Casebook keeps it."""
    tenant, marked, own_id = kept_id.partition(WORKSPACE_MARK)
    # A Teams id of its own starts "19:", "29:" or "a:"; a tenant id never has a colon.
    if marked and tenant and ":" not in tenant:
        return tenant, own_id
    return home, kept_id
