"""Prometheus metrics, in a registry of their own (no globals), served at GET /metrics.

No label ever carries user text or anyone's id: the only label is the transport's name.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

# What handlers count (Context.count) and the counter each feeds.
EVENTS = {
    "reports_received": "Reports received (messages, /report and forms).",
    "cases_created": "Cases created.",
    "duplicates_joined": "Reports that joined an existing case as another reporter.",
    "questions_answered": "Follow-up answers recorded (skips included).",
    "reminders_sent": "Reminders queued for sending.",
    "late_links_added": "Links sent after a text-only report and added to its case.",
    "thread_replies_joined": "Replies under a report's message added to its case.",
    "thread_replies_ignored": "Thread replies in a report place that joined no case, left alone.",
    "edits_with_new_links": "Links added to cases by edits of their report messages.",
}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._counters = {
            name: Counter(f"casebook_{name}", text, registry=self.registry)
            for name, text in EVENTS.items()
        }
        self.send_failures = Counter(
            "casebook_send_failures",
            "Messages a platform did not accept (each attempt).",
            ["transport"],
            registry=self.registry,
        )
        self.intake_seconds = Histogram(
            "casebook_intake_seconds",
            "From an event's arrival to its case and replies being committed.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )
        self.messages_sent = Counter(
            "casebook_messages_sent",
            "Messages the platform accepted.",
            ["transport"],
            registry=self.registry,
        )

    def count(self, name: str, amount: int = 1) -> None:
        counter = self._counters.get(name)
        if counter is not None and amount:
            counter.inc(amount)

    def render(self) -> bytes:
        return generate_latest(self.registry)
