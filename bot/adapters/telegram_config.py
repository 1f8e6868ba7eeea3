"""Telegram's part of the config: the `[telegram]` table and each school's `telegram_*` keys."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.config.reader import Reader
from handlers.settings import NO_SECRET, SchoolPlaces, Secret, TransportNames, TransportSettings
from storage.models import Transport

TELEGRAM = Transport("telegram")


class TelegramMode(StrEnum):
    POLLING = "polling"  # Casebook asks Telegram for updates: no public address needed
    WEBHOOK = "webhook"  # Telegram posts updates to Casebook's /telegram/webhook


@dataclass(frozen=True)
class TelegramConfig:
    mode: TelegramMode = TelegramMode.POLLING
    api_url: str | None = None
    webhook_url: str | None = None
    bot_token: Secret = NO_SECRET
    webhook_secret: Secret = NO_SECRET

    def secrets(self) -> tuple[Secret, ...]:
        return (self.bot_token, self.webhook_secret)


def telegram_settings(settings: TransportSettings | None) -> TelegramConfig:
    """The `[telegram]` table of a config that has one."""
    if not isinstance(settings, TelegramConfig):
        raise TypeError("no [telegram] section")
    return settings


class TelegramSection:
    transport = TELEGRAM
    table = "telegram"
    names = TransportNames(
        "Telegram", "telegram_leads", "telegram_report_chats", "telegram_digest_chat"
    )
    school_keys = frozenset({"telegram_report_chats", "telegram_leads", "telegram_digest_chat"})

    def settings(self, reader: Reader, table: dict[str, Any]) -> TelegramConfig:
        reader.no_unknown("telegram", table, {"mode", "api_url", "webhook_url"})
        mode = reader.mode(table, "telegram", "mode", TelegramMode, TelegramMode.POLLING)
        webhook_url = reader.optional_url(table, "telegram", "webhook_url")
        if mode is TelegramMode.WEBHOOK and webhook_url is None:
            raise reader.error("webhook_url", "[telegram] mode = 'webhook' needs webhook_url")
        needed = ["TELEGRAM_BOT_TOKEN"]
        needed += ["TELEGRAM_WEBHOOK_SECRET"] if mode is TelegramMode.WEBHOOK else []
        reader.require_env(needed, f"[telegram] mode = {mode.value!r}")
        return TelegramConfig(
            mode=mode,
            api_url=reader.optional_url(table, "telegram", "api_url"),
            webhook_url=webhook_url,
            bot_token=reader.secret("TELEGRAM_BOT_TOKEN"),
            webhook_secret=reader.secret("TELEGRAM_WEBHOOK_SECRET"),
        )

    def places(self, reader: Reader, where: str, table: dict[str, Any]) -> SchoolPlaces:
        """Telegram's ids are numbers in the file; as text they match what the adapter reads.
        Each key is read on its own, so one run names every key's problem."""
        attempt = reader.attempt
        digest_chat = attempt(lambda: self._digest_chat(reader, where, table), None)
        none: tuple[int, ...] = ()
        chats = attempt(lambda: reader.numbers(table, where, "telegram_report_chats"), none)
        leads = attempt(lambda: reader.numbers(table, where, "telegram_leads"), none)
        return SchoolPlaces(
            report_places=tuple(str(chat) for chat in chats),
            leads=tuple(str(lead) for lead in leads),
            digest_place=None if digest_chat is None else str(digest_chat),
        )

    def _digest_chat(self, reader: Reader, where: str, table: dict[str, Any]) -> int | None:
        digest_chat = table.get("telegram_digest_chat")
        if digest_chat is not None and (
            not isinstance(digest_chat, int) or isinstance(digest_chat, bool)
        ):
            raise reader.error(
                "telegram_digest_chat",
                f"{where} telegram_digest_chat must be a number",
                within=where,
            )
        return digest_chat

    def needs_server(self, settings: TransportSettings) -> bool:
        return telegram_settings(settings).mode is TelegramMode.WEBHOOK

    def describe(self, settings: TransportSettings) -> str:
        t = telegram_settings(settings)
        return (
            f"telegram: mode={t.mode.value} api_url={t.api_url or 'default'} "
            f"webhook_url={t.webhook_url or '-'} bot_token={t.bot_token} "
            f"webhook_secret={t.webhook_secret}"
        )

    def describe_school(self, places: SchoolPlaces) -> str:
        # Shown as the file writes them: numbers.
        chats = [int(chat) for chat in places.report_places]
        leads = [int(lead) for lead in places.leads]
        digest = (
            "" if places.digest_place is None else f", telegram digest chat {places.digest_place}"
        )
        return f"telegram chats {chats}, telegram leads {leads}{digest}"


TELEGRAM_SECTION = TelegramSection()
