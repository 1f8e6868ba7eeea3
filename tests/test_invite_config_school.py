"""A school from the config file gets its leads from the file: `/cases invite` is refused there,
and no code is made that would make someone a lead of it."""

from __future__ import annotations

import pytest

from bot.adapters.console_config import CONSOLE
from bot.delivery import Delivery
from bot.invitations import InvitingSender
from handlers import messages
from handlers.events import Incoming, IncomingKind, Place, PlaceKind, User
from handlers.settings import Config
from storage.store import Store
from tests.chat import Chat, FakeClock, texts

ROOM = Place(CONSOLE, "hosted-room", PlaceKind.CHANNEL)


@pytest.fixture
def chat(database: Store, config: Config, clock: FakeClock) -> Chat:
    driver = Chat(database, config, clock)
    inviting = InvitingSender(driver.transport, database, clock)
    driver.delivery = Delivery(database, clock, {CONSOLE: inviting})
    return driver


async def test_invite_in_a_school_from_the_config_file_is_refused_and_sends_no_code(
    chat: Chat,
) -> None:
    # lena leads Northfield in the config file.
    incoming = Incoming(
        IncomingKind.COMMAND, ROOM, User(CONSOLE, "lena", "lena"), text="invite", command="cases"
    )
    sent = await chat.send(incoming)
    assert texts(sent) == messages.set_in_config("Northfield")
    assert not any("join " in m.text for m in chat.transport.sent)
    async with chat.database.reading() as unit:
        assert await unit.hosted.schools() == []
