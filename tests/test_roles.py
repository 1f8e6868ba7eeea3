"""Leads are leads on their own transport only: the same id on another platform is someone else."""

from __future__ import annotations

from handlers.events import Transport, User
from handlers.roles import is_lead, lead_ids
from handlers.settings import SchoolConfig, SchoolPlaces

CHAT = Transport("chat")
OTHER = Transport("other")
SCHOOL = SchoolConfig(
    name="Northfield",
    places={CHAT: SchoolPlaces(leads=("alex",)), OTHER: SchoolPlaces(leads=("sam", "kim"))},
)


def test_a_lead_is_a_lead_on_their_own_transport_only() -> None:
    assert is_lead(SCHOOL, User(CHAT, "alex"))
    assert not is_lead(SCHOOL, User(OTHER, "alex"))
    assert not is_lead(SCHOOL, User(CHAT, "sam"))
    assert not is_lead(SCHOOL, User(Transport("elsewhere"), "alex"))


def test_lead_ids_are_those_of_the_transport_asked_about() -> None:
    assert lead_ids(SCHOOL, CHAT) == ["alex"]
    assert lead_ids(SCHOOL, OTHER) == ["sam", "kim"]
    assert lead_ids(SCHOOL, Transport("elsewhere")) == []
