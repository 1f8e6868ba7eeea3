"""The commands Casebook answers: one list, read by the router that dispatches them, the help
text, and each platform's command menu (Slack's manifest, Telegram's setMyCommands)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from handlers import messages


class Command(StrEnum):
    REPORT = "report"
    MYCASES = "mycases"
    WITHDRAW = "withdraw"
    CASES = "cases"
    WHOAMI = "whoami"
    HELP = "help"
    START = "start"  # what a chat app sends when someone first opens a private chat with the bot


@dataclass(frozen=True)
class CommandInfo:
    command: Command
    about: str  # as a platform's command menu describes it
    usage: str = ""  # a hint of what may follow it
    help_line: str | None = None  # its line in /help, when staff are told of it there
    private_only: bool = False  # offered in private chats only, never in a channel or group


# In the order menus and /help list them.
COMMANDS: tuple[CommandInfo, ...] = (
    CommandInfo(Command.REPORT, messages.ABOUT_REPORT, messages.USAGE_REPORT, messages.HELP_REPORT),
    CommandInfo(Command.MYCASES, messages.ABOUT_MYCASES, help_line=messages.HELP_MYCASES),
    CommandInfo(
        Command.WITHDRAW, messages.ABOUT_WITHDRAW, messages.USAGE_WITHDRAW, messages.HELP_WITHDRAW
    ),
    CommandInfo(Command.CASES, messages.ABOUT_CASES, messages.USAGE_CASES),
    CommandInfo(Command.WHOAMI, messages.ABOUT_WHOAMI, help_line=messages.HELP_WHOAMI),
    CommandInfo(Command.HELP, messages.ABOUT_HELP, help_line=messages.HELP_HELP),
    CommandInfo(Command.START, messages.ABOUT_START, private_only=True),
)


def command_named(name: str) -> Command | None:
    """The command a person typed (any case), or None for one Casebook does not have."""
    try:
        return Command(name.lower())
    except ValueError:
        return None


def offered(private: bool) -> list[CommandInfo]:
    """The commands to offer in a private chat, or in a shared channel or group."""
    return [info for info in COMMANDS if private or not info.private_only]


def staff_help() -> str:
    return messages.staff_help([info.help_line for info in COMMANDS if info.help_line])
