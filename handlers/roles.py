"""Who may do what: leads come from config per school; staff are those seen in a school's places."""

from __future__ import annotations

from handlers.events import Transport, User
from handlers.settings import Config, SchoolConfig


def is_lead(school: SchoolConfig, user: User) -> bool:
    return user.id in school.on(user.transport).leads


def lead_schools(config: Config, user: User) -> list[SchoolConfig]:
    """Every school this person leads, in config order."""
    return [school for school in config.schools if is_lead(school, user)]


def lead_ids(school: SchoolConfig, transport: Transport) -> list[str]:
    """The platform ids of this school's leads on one transport, as the platform writes them."""
    return list(school.on(transport).leads)
