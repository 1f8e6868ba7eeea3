"""What `casebook check-config` prints: every setting that will be used, secrets redacted."""

from __future__ import annotations

from bot.config.schema import CHAT_SECTIONS
from handlers.settings import WEEKDAYS, Config
from storage.store import redact


def describe(config: Config) -> str:
    lines = [f"database: {redact(str(config.storage.target))}"]
    if config.console:
        tables = " or ".join(f"[{s.table}]" for s in CHAT_SECTIONS if s.table)
        lines.append(f"transport: terminal (no {tables} section)")
    needs_server = False
    for section in CHAT_SECTIONS:
        settings = config.transports.get(section.transport)
        if settings is not None:
            lines.append(section.describe(settings))
            needs_server = needs_server or section.needs_server(settings)
    if needs_server:
        lines.append(f"server: {config.server.host}:{config.server.port}")
    for school in config.schools:
        parts = [
            section.describe_school(school.places[section.transport])
            for section in CHAT_SECTIONS
            if section.transport in school.places  # only the platforms it has keys for
        ]
        shown = ", ".join(part for part in parts if part)
        lines.append(
            f"school: {school.name} ({school.timezone}); in this file"
            + (f"; {shown}" if shown else "")
        )
    r = config.reminders
    days = ",".join(WEEKDAYS[d] for d in sorted(r.working_days))
    lines.append(
        f"reminders: unanswered={r.as_written('unanswered')} "
        f"not_reported={r.as_written('not_reported')} still_up={r.as_written('still_up')} "
        f"escalate={r.as_written('escalate')} working hours "
        f"{r.working_start:%H:%M}-{r.working_end:%H:%M} on {days}"
    )
    lines.append(
        f"digest: {WEEKDAYS[config.digest.day]} {config.digest.time:%H:%M}, "
        f"chart={'on' if config.digest.chart else 'off'}"
    )
    lines.append(f"retention: closed cases kept {config.retention.closed_case_days} days")
    return "\n".join(lines)
