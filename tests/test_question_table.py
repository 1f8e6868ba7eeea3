"""One table of questions: the chat asks from it, the Slack /report form is built from it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.adapters.slack import report_view
from handlers import messages, questions
from handlers.questions import TABLE, Question
from storage.models import Case, Platform, Status, Transport

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
BLANK = Case(
    id=1,
    school_id=1,
    number=1,
    status=Status.NEW,
    platform=Platform.UNKNOWN,
    source=Transport("console"),
    created_at=NOW,
    updated_at=NOW,
)


def test_every_question_has_one_row_in_the_order_asked() -> None:
    assert list(TABLE) == list(questions.ORDER) == list(Question)
    assert all(row.question is question for question, row in TABLE.items())


@pytest.mark.parametrize("question", list(Question))
def test_every_answer_fills_the_case_field_its_row_names(question: Question) -> None:
    row = TABLE[question]
    assert row.field in {f.name for f in dataclasses.fields(Case)}
    assert questions.applies(question, [BLANK])
    for option in row.options:
        answered = questions.apply(question, option.value, BLANK, NOW)
        if option.value != "neither":  # "neither" is an answer that adds no kind
            assert getattr(answered, row.field) != getattr(BLANK, row.field), option
        assert answered.updated_at == NOW


def test_an_answer_never_overwrites_a_detected_platform() -> None:
    tiktok = dataclasses.replace(BLANK, platform=Platform.TIKTOK)
    assert questions.apply(Question.PLATFORM, "youtube", tiktok, NOW) is tiktok
    assert not questions.applies(Question.PLATFORM, [tiktok])


def test_the_slack_form_asks_the_tables_questions_with_their_answers() -> None:
    blocks = report_view("CREPORT")["blocks"]
    assert [b["block_id"] for b in blocks] == [
        "link",
        "description",
        "platform",
        "targets",
        "categories",
        "reported",
        "author",
    ]
    asked = {b["block_id"]: b for b in blocks[2:]}
    assert {k: b["element"]["type"] for k, b in asked.items()} == {
        "platform": "static_select",
        "targets": "radio_buttons",
        "categories": "multi_static_select",
        "reported": "radio_buttons",
        "author": "radio_buttons",
    }
    assert asked["categories"]["label"]["text"] == messages.Q_CATEGORIES_FORM
    assert asked["targets"]["label"]["text"] == messages.Q_TARGETS
    for block_id, block in asked.items():
        offered = [(o["value"], o["text"]["text"]) for o in block["element"]["options"]]
        expected = [(o.value, o.label) for o in questions.options(Question(block_id))]
        assert offered == expected
        assert block["optional"] is True
