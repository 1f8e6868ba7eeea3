"""Whether a request to /slack/events was signed by Slack, decided before its body is parsed.

Anyone can post to the Events URL. Bolt parses the body (`json.loads` of a form's `payload`)
before it checks the signature, so a forged, malformed or deeply nested body reached a parser
and came back as a 500 with a traceback. Here the signature is checked over the raw bytes
first; only a signed body is parsed, and a signed body that does not parse is a 400.

The timestamp may be up to five minutes old (Slack's rule, against replays) but at most a
minute ahead: a clock that far ahead is not Slack's, and a signature dated later would stay
replayable for longer than five minutes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

PAST_SKEW = 300  # seconds a signature's timestamp may be behind our clock
FUTURE_SKEW = 60  # seconds it may be ahead of it


def refusal(
    verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str], now: float
) -> str:
    """Why the request is not signed by Slack ("" when it is), skew included for the log."""
    timestamp = headers.get("X-Slack-Request-Timestamp")
    signature = headers.get("X-Slack-Signature")
    if not timestamp or signature is None:
        return "no signature"
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "unreadable timestamp"
    skew = int(timestamp) - now
    if skew > FUTURE_SKEW:
        return f"timestamp {skew:.0f}s ahead of our clock (at most {FUTURE_SKEW}s allowed)"
    if -skew > PAST_SKEW:
        return f"timestamp {-skew:.0f}s old (at most {PAST_SKEW}s allowed)"
    if not verifier.is_valid(body, timestamp, signature):
        return "bad signature"
    return ""


def parsed_body(text: str, content_type: str | None) -> tuple[str, dict[str, Any] | None]:
    """A signed body as bolt will read it (JSON, a form's `payload`, or form fields), or why it
    cannot be read: what bolt would fail on is refused here, once, with a 400."""
    try:
        parsed = parse_body(text, content_type)
    except RecursionError:
        return "body nests too deeply", None
    except ValueError:
        return "body is not JSON", None
    if not isinstance(parsed, dict):
        return "body is not a JSON object", None
    return "", parsed
