"""Who may do what: leads come from config per school; staff are those seen in a school's places."""

from __future__ import annotations

from handlers.events import Transport, User
from handlers.settings import Config, SchoolConfig
from handlers.text import whole_number


def is_lead(school: SchoolConfig, user: User) -> bool:
    if user.transport is Transport.SLACK:
        return user.id in school.slack_leads
    if user.transport is Transport.TELEGRAM:
        number = whole_number(user.id.removeprefix("-"))
        if number is None:
            return False
        return (-number if user.id.startswith("-") else number) in school.telegram_leads
    return user.id in school.console_leads


def lead_schools(config: Config, user: User) -> list[SchoolConfig]:
    """Every school this person leads, in config order."""
    return [school for school in config.schools if is_lead(school, user)]


def lead_ids(school: SchoolConfig, transport: Transport) -> list[str]:
    """The platform ids of this school's leads on one transport, as the platform writes them."""
    if transport is Transport.SLACK:
        return list(school.slack_leads)
    if transport is Transport.TELEGRAM:
        return [str(lead) for lead in school.telegram_leads]
    return list(school.console_leads)
