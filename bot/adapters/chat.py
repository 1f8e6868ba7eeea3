"""What every chat platform's adapter offers the composition root.

After opsdroid's connectors: a transport starts and stops itself (starting never waits on the
platform), says whether it can reach its platform and why not, has a sender for the outbox, and
may serve web routes (Slack's Events API, Telegram's webhook) on Casebook's one HTTP server.
"""

from __future__ import annotations

from typing import Protocol

from bot.delivery import Sender
from bot.web import Handler
from handlers.events import Transport


class ChatTransport(Protocol):
    @property
    def transport(self) -> Transport:
        """Which platform this is."""

    @property
    def sender(self) -> Sender:
        """Delivers this platform's outbox rows."""

    @property
    def routes(self) -> dict[str, Handler]:
        """POST paths this transport serves, and their handlers."""

    async def start(self) -> None:
        """Begin connecting in the background; return at once."""

    async def stop(self) -> None:
        """Stop within a few seconds, whatever the network does."""

    async def health(self) -> tuple[bool, str]:
        """Whether the platform is reachable as far as this process knows, and if not, why."""
