"""What the contract tests share: the `covers` mark, a start time and small builders.

`covers` names the repository protocol methods a test exercises; test_coverage.py fails when a
method of a protocol in storage/protocols.py is named by no test.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from storage.models import CaseLink, NewCase, Platform, Transport
from storage.store import Store

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

F = TypeVar("F", bound=Callable[..., Any])
COVERS = "contract_covers"


def covers(*methods: Callable[..., Any]) -> Callable[[F], F]:
    """Record which protocol methods (given as `CaseRepository.listing`) a test exercises."""
    names = frozenset(method.__qualname__ for method in methods)

    def mark(test: F) -> F:
        setattr(test, COVERS, getattr(test, COVERS, frozenset()) | names)
        return test

    return mark


async def school_and_person(store: Store, school: str = "Northfield") -> tuple[int, int]:
    async with store.transaction() as unit:
        s = await unit.schools.ensure(school, "Europe/London")
        p = await unit.people.ensure("console:alex", "Alex")
    return s.id, p.id


def new_case(
    school_id: int,
    person_id: int,
    url: str | None,
    at: datetime = T0,
    platform: Platform = Platform.TIKTOK,
    description: str = "words",
) -> NewCase:
    link = None if url is None else CaseLink(url, url + "?x=1", platform)
    return NewCase(school_id, platform, Transport("console"), person_id, description, at, link)
