"""One list of commands (handlers/commands.py): the router answers each, /help names the staff's,
and each platform's menu offers them."""

from __future__ import annotations

import pytest

from bot.adapters.slack_config import SlackMode
from bot.adapters.slack_manifest import manifest
from handlers import messages
from handlers.commands import COMMANDS, Command, command_named, offered, staff_help
from tests.chat import Chat, texts


@pytest.mark.parametrize("command", list(Command))
async def test_the_router_answers_every_command_in_the_list(chat: Chat, command: Command) -> None:
    replies = await chat.command(command.value.upper())
    assert replies
    assert messages.unknown_command(command.value.upper()) not in texts(replies)


async def test_a_command_not_in_the_list_is_unknown(chat: Chat) -> None:
    replies = await chat.command("frobnicate")
    assert texts(replies) == messages.unknown_command("frobnicate")
    assert command_named("frobnicate") is None


def test_help_names_each_staff_command_in_list_order() -> None:
    text = staff_help()
    lines = [info.help_line for info in COMMANDS if info.help_line]
    assert lines and all(line in text for line in lines)
    assert [text.index(line) for line in lines] == sorted(text.index(line) for line in lines)
    assert f"/{Command.CASES}" not in text  # the leads have their own /cases help


def test_the_slack_manifest_offers_the_list_without_private_only_commands() -> None:
    offered_commands = manifest(SlackMode.SOCKET)["features"]["slash_commands"]
    assert [c["command"] for c in offered_commands] == [
        f"/{info.command}" for info in COMMANDS if not info.private_only
    ]
    assert "/start" not in [c["command"] for c in offered_commands]
    assert [c["description"] for c in offered_commands] == [info.about for info in offered(False)]


def test_private_chats_are_offered_every_command_and_groups_all_but_start() -> None:
    assert [info.command for info in offered(private=True)] == list(Command)
    assert [info.command for info in offered(private=False)] == [
        c for c in Command if c is not Command.START
    ]
