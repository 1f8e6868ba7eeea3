"""Slack ids qualified by their workspace where Casebook is installed by OAuth, and split again
for sending: pure functions, no server."""

from __future__ import annotations

import copy

from bot.adapters import slack_workspaces as ws
from handlers.events import Outgoing, Place, PlaceKind, Transport, User

SLACK = Transport("slack")


def test_every_id_casebook_reads_is_qualified_and_the_body_given_is_left_alone() -> None:
    event = {
        "team_id": "T1",
        "type": "event_callback",
        "event": {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C1",
            "message": {"user": "U1", "text": "new"},
            "previous_message": {"user": "U1", "text": "old"},
        },
    }
    before = copy.deepcopy(event)
    out = ws.qualified_body(event, "T1")
    assert event == before
    assert out["event"]["channel"] == "T1/C1"
    assert out["event"]["message"]["user"] == out["event"]["previous_message"]["user"] == "T1/U1"
    assert out["team_id"] == "T1"  # the workspace itself is not an id to qualify

    command = {
        "command": "/cases",
        "user_id": "U1",
        "channel_id": "C1",
        "text": "assign 2 <@U2|al>",
    }
    out = ws.qualified_body(command, "T1")
    assert (out["user_id"], out["channel_id"]) == ("T1/U1", "T1/C1")
    assert out["text"] == "assign 2 <@T1/U2|al>"
    assert ws.qualified_body(out, "T1") == out  # qualified once only

    press = {"user": {"id": "U1"}, "channel": {"id": "D1"}, "container": {"channel_id": "D1"}}
    out = ws.qualified_body(press, "T1")
    assert (out["user"]["id"], out["channel"]["id"]) == ("T1/U1", "T1/D1")
    assert out["container"]["channel_id"] == "T1/D1"


def test_the_workspace_of_each_kind_of_request() -> None:
    assert ws.team_of({"team_id": "T1"}) == ws.Team(None, "T1")
    assert ws.team_of({"team": {"id": "T2"}, "enterprise": {"id": "E1"}}) == ws.Team("E1", "T2")
    assert ws.team_of({"user": {"id": "U1", "team_id": "T3"}}) == ws.Team(None, "T3")
    # In a channel shared with another workspace, a person's own team is not the request's.
    shared = {"team": {"id": "T1"}, "user": {"id": "U1", "team_id": "T9"}}
    assert ws.team_of(shared) == ws.Team(None, "T1")
    assert ws.team_of({"type": "url_verification"}) is None
    assert ws.of_no_workspace({"type": "url_verification"})
    assert not ws.of_no_workspace({"team_id": "T1"})


def test_a_message_goes_to_its_workspace_with_slacks_own_ids() -> None:
    outgoing = Outgoing(
        Place(SLACK, "T1/C1", PlaceKind.CHANNEL),
        "hello",
        to_user=User(SLACK, "T1/U1"),
        replace_ref="T1/C1|123.456",
    )
    team, bare = ws.unqualified(outgoing)
    assert team == "T1"
    assert (bare.place.id, bare.to_user and bare.to_user.id) == ("C1", "U1")
    assert bare.replace_ref == "C1|123.456"
    assert ws.split("T1/C1") == ("T1", "C1") and ws.split("C1") == (None, "C1")
    assert ws.unqualified(Outgoing(Place(SLACK, "C1"), "hi"))[0] is None
    # A direct message's fallback (where a reply goes when its place refuses it) is Slack's id.
    shown = Outgoing(Place(SLACK, "T1/C1", PlaceKind.CHANNEL), "hi", fallback=Place(SLACK, "T1/U1"))
    fallback = ws.unqualified(shown)[1].fallback
    assert fallback is not None and fallback.id == "U1"
    # A person's message names their workspace where its place does not.
    to_person = Outgoing(Place(SLACK, "D1", PlaceKind.DIRECT), "hi", to_user=User(SLACK, "T1/U1"))
    assert ws.unqualified(to_person)[0] == "T1"
