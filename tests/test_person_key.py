"""Person keys ("slack:U123") and the audit's person references ("person:7"): one parse each."""

from __future__ import annotations

from bot.adapters.console_config import CONSOLE
from bot.adapters.slack_config import SLACK
from bot.adapters.telegram_config import TELEGRAM
from handlers.events import PersonKey, User
from storage.models import person_ref, person_ref_id


def test_a_users_key_parses_back_to_its_transport_and_id() -> None:
    key = PersonKey.parse(User(TELEGRAM, "42", "Alex").key)
    assert key == PersonKey("telegram", "42")
    assert key.transport == TELEGRAM
    assert str(key) == "telegram:42"


def test_only_the_first_colon_separates_the_transport_from_the_id() -> None:
    key = PersonKey.parse("console:ms:jones")
    assert (key.transport, key.id) == (CONSOLE, "ms:jones")
    assert str(key) == "console:ms:jones"


def test_an_erased_persons_key_names_no_transport() -> None:
    key = PersonKey.parse("erased:7")
    assert key.transport is None
    assert key.id == "7"


def test_a_key_with_an_empty_scheme_names_no_transport() -> None:
    key = PersonKey.parse(":x")
    assert key.transport is None
    assert (key.scheme, key.id) == ("", "x")


def test_a_key_is_written_as_the_database_has_always_stored_it() -> None:
    assert str(PersonKey.of(SLACK, "U0LEAD")) == "slack:U0LEAD"
    assert User(SLACK, "U0LEAD").key == "slack:U0LEAD"


def test_an_audit_value_names_a_person_only_as_person_and_a_number() -> None:
    assert person_ref(7) == "person:7"
    assert person_ref_id(person_ref(7)) == 7
    for value in (None, "closed", "person:", "person:x", "person:-1", "person:①", "human:7"):
        assert person_ref_id(value) is None, value
