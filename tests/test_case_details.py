"""`/cases show N`: every field a lead reads, worded as it always was."""

from __future__ import annotations

from tests.chat import Chat, texts

TIKTOK = "https://www.tiktok.com/@someone/video/1"


async def test_show_lists_every_field_reporters_words_notes_and_the_timeline(chat: Chat) -> None:
    await chat.say(f"{TIKTOK} nasty video about Mr K", user="alex")
    for answer in ("2", "7", "done", "neither", "yes", "1"):
        await chat.say(answer, user="alex")
    await chat.command("cases", "assign 1 me", user="lena")
    await chat.command("cases", "note 1 spoke to the head", user="lena")
    await chat.command("cases", "status 1 removed", user="lena")
    await chat.command("cases", "hold 1 police asked", user="lena")
    lines = texts(await chat.command("cases", "show 1", user="lena")).splitlines()
    when = lines[10].removeprefix("Logged: ")
    assert lines[:14] == [
        "Case: #1 · Northfield · URGENT",
        "Status: removed",
        "Platform: TikTok",
        "Kind: Threat of violence",
        "Targeted: A colleague",
        "Reported to platform: Yes",
        "Author a pupil: Yes, a pupil",
        "Reporters: 1",
        "Assigned to: lena",
        "Links: https://tiktok.com/@someone/video/1",
        f"Logged: {when}",
        f"Reported at: {when}",
        f"Removed at: {when}",
        "Legal hold: police asked",
    ]
    assert lines[14] == f"alex: {TIKTOK} nasty video about Mr K"
    assert lines[15:17] == ["Notes:", f"- {when} · lena · spoke to the head"]
    assert lines[17] == "Timeline:"
    assert f"- {when} · alex · case logged" in lines
    assert f"- {when} · lena · assigned to lena" in lines
    assert f"- {when} · lena · status reported → removed" in lines


async def test_a_merged_case_names_the_case_it_went_into(chat: Chat) -> None:
    await chat.say(TIKTOK, user="alex")
    await chat.say("https://instagram.com/p/Abc", user="sam")
    await chat.command("cases", "merge 1 2", user="lena")
    shown = texts(await chat.command("cases", "show 2", user="lena")).splitlines()
    assert "Merged into: #1" in shown
    assert "Status: closed" in shown
