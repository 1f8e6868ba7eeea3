"""Every sentence Casebook says to a person, in one place so it can be reviewed and translated.

Helpline numbers and hours live here too: when they change, this is the one file to update.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from handlers.settings import TransportNames
from storage.models import (
    LEAD_CLOSE_REASONS,
    AuditAction,
    AuthorIsPupil,
    Category,
    EscalationRoute,
    LinkAddedBy,
    Platform,
    ReportedToPlatform,
    SetAsideItem,
    Status,
    Target,
    ThreatAnswer,
)

# --- Facts that signposting relies on -----------------------------------------------------------

POSH = (
    "The Professionals Online Safety Helpline (POSH) helps school staff get harmful content "
    "removed: 0344 381 4772, helpline@saferinternet.org.uk, Monday to Friday 10:00-16:00. "
    "It can escalate to the platform once you have reported the post and waited about 48 hours."
)
REPORT_HARMFUL_CONTENT = (
    "If the platform refuses or ignores your report, Report Harmful Content "
    "(reportharmfulcontent.com) can review the platform's decision."
)
WELLBEING = (
    "This is hard to go through, and it is not your fault. Education Support's free, confidential "
    "helpline is open 24 hours a day: 08000 562 561."
)
POLICE = (
    "Threats and hate can be crimes: report them to the police on 101, or 999 if anyone is in "
    "immediate danger."
)
URGENT_DANGER = "If anyone is in immediate danger, call the police on 999 now."
EVIDENCE = (
    "Keep a screenshot that shows the date, the time and the web address. Do not reply to, "
    "comment on or share the post, and do not contact the pupil yourself: your safeguarding lead "
    "will decide what happens next."
)

PLATFORM_NAMES: dict[Platform, str] = {
    Platform.TIKTOK: "TikTok",
    Platform.INSTAGRAM: "Instagram",
    Platform.FACEBOOK: "Facebook",
    Platform.SNAPCHAT: "Snapchat",
    Platform.X: "X (Twitter)",
    Platform.YOUTUBE: "YouTube",
    Platform.THREADS: "Threads",
    Platform.OTHER: "another site",
    Platform.UNKNOWN: "an unknown platform",
}

HOW_TO_REPORT: dict[Platform, str] = {
    Platform.TIKTOK: (
        "On TikTok, press and hold the video (or tap Share), choose Report, and pick the reason "
        "that fits, such as Harassment and bullying or Hate. Without an account, use TikTok's "
        "online form at tiktok.com/legal/report/feedback."
    ),
    Platform.INSTAGRAM: (
        "On Instagram, tap the three dots above the post, choose Report and follow the steps. "
        "For impersonation without an account, use the form at help.instagram.com."
    ),
    Platform.FACEBOOK: (
        "On Facebook, click the three dots on the post and choose Report post (or Find support "
        "or report), then follow the steps."
    ),
    Platform.SNAPCHAT: (
        "On Snapchat, press and hold the Snap or Story and tap Report. Without an account, use "
        "the safety form at help.snapchat.com."
    ),
    Platform.X: (
        "On X (Twitter), click the three dots on the post and choose Report post, then follow "
        "the steps. Without an account, use the forms at help.x.com."
    ),
    Platform.YOUTUBE: (
        "On YouTube, click the three dots below the video (or on a Short) and choose Report, "
        "then pick the reason that fits."
    ),
    Platform.THREADS: (
        "On Threads, tap the three dots on the post and choose Report, then follow the steps."
    ),
    Platform.OTHER: (
        "Use the site's own Report button or contact form, and note the date you reported it."
    ),
    Platform.UNKNOWN: (
        "Use the platform's own Report button on the post, and note the date you reported it."
    ),
}

PLATFORM_OPTION_LABELS: dict[Platform, str] = {
    **PLATFORM_NAMES,
    Platform.OTHER: "Another site",
    Platform.UNKNOWN: "Don't know",
}

STATS_ALL_PLATFORMS = "All platforms"

# --- Question texts and their options -------------------------------------------------------------

Q_PLATFORM = "Which platform is it on?"
Q_TARGETS = "Who is targeted?"
Q_CATEGORIES = "What kind of abuse is it? Choose all that apply, then choose Done."
Q_THREAT = "Does it contain a threat, or someone's personal information (address, phone number)?"
Q_REPORTED = "Has it been reported to the platform yet?"
Q_AUTHOR = "Do you know whether the author is a pupil?"

TARGET_LABELS: dict[Target, str] = {
    Target.ME: "Me",
    Target.COLLEAGUE: "A colleague",
    Target.SEVERAL: "Several staff",
    Target.SCHOOL: "The school",
}
CATEGORY_LABELS: dict[Category, str] = {
    Category.HARASSMENT: "Harassment or bullying",
    Category.HATE_HOMOPHOBIC: "Hate: homophobic or biphobic",
    Category.HATE_TRANSPHOBIC: "Hate: transphobic",
    Category.HATE_RACIST: "Hate: racist or faith",
    Category.HATE_SEXIST: "Hate: sexist or misogynistic",
    Category.HATE_DISABILITY: "Hate: disability",
    Category.THREAT: "Threat of violence",
    Category.IMPERSONATION: "Impersonation or fake account",
    Category.DEFAMATION: "False allegation or defamation",
    Category.SEXUALISED_IMAGE: "Sexualised or manipulated image",
    Category.DOXXING: "Sharing personal information",
    Category.OTHER: "Other",
}
THREAT_LABELS: dict[ThreatAnswer, str] = {
    ThreatAnswer.THREAT: "A threat",
    ThreatAnswer.PERSONAL: "Personal information",
    ThreatAnswer.BOTH: "Both",
    ThreatAnswer.NEITHER: "Neither",
}
REPORTED_LABELS: dict[ReportedToPlatform, str] = {
    ReportedToPlatform.YES: "Yes",
    ReportedToPlatform.NO: "No",
    ReportedToPlatform.UNSURE: "Not sure",
}
AUTHOR_LABELS: dict[AuthorIsPupil, str] = {
    AuthorIsPupil.YES: "Yes, a pupil",
    AuthorIsPupil.NO: "No",
    AuthorIsPupil.UNKNOWN: "Don't know",
}
STATUS_LABELS: dict[Status, str] = {
    Status.NEW: "new",
    Status.OPEN: "open",
    Status.REPORTED: "reported to platform",
    Status.ESCALATED: "escalated",
    Status.REMOVED: "removed",
    Status.CLOSED: "closed",
}
SKIP_LABEL = "Skip"
DONE_LABEL = "Done"
SKIP_WORDS = frozenset({"skip", "pass", "-"})


# --- Intake -----------------------------------------------------------------------------------


def case_logged(number: int, platform: Platform) -> str:
    return f"Thank you. Your report is logged as case #{number} ({PLATFORM_NAMES[platform]})."


def case_logged_no_link(number: int) -> str:
    return (
        f"Thank you. Your report is logged as case #{number}. If you have a link to the post, "
        "send it too, within half an hour, and I will add it to this case: it helps the "
        "platform find it."
    )


def late_link_added(number: int, platform: Platform) -> str:
    return f"Thank you. I have added the link to case #{number} ({PLATFORM_NAMES[platform]})."


def already_logged(number: int) -> str:
    return (
        f"This post is already logged as case #{number}. I have added you as a reporter, so the "
        "safeguarding leads know it has been seen more than once. Thank you."
    )


def already_reported_by_you(number: int) -> str:
    return f"You have already reported this post: it is case #{number}."


def too_many_links(kept: int, dropped: int) -> str:
    return (
        f"Your message had more links than I can log at once. I logged the first {kept}; "
        f"please send the other {dropped} in another message."
    )


def text_truncated(kept: int) -> str:
    return f"Your message was very long, so I kept its first {kept:,} characters."


EMPTY_MESSAGE = (
    "That message was empty. Send a link to the post, or describe what happened, and I will log it."
)
IMAGE_NOT_KEPT = (
    "Casebook does not keep images or files, so I have not stored that one. Please send the link "
    "to the post, or describe what it shows, and I will log it."
)
ANSWER_WHERE_ASKED = (
    "That looks like an answer to one of my questions. Please answer where I asked it (in our "
    "direct messages, or in your report's thread). Anything you post here is read as a new report."
)
ANONYMOUS_ADMIN = (
    "You posted as the group, so I cannot ask you the follow-up questions or tell you how the "
    "case goes. Please post as yourself next time, or send me a private message, to answer them."
)
EXTERNAL_REFUSED = (
    "Casebook takes reports only from staff of this school's own workspace, so nothing you post in "
    "this shared channel is logged. Please report it through your own organisation."
)


def anonymous_admin(group: str) -> str:
    """How a group's anonymous administrator is named in a case's timeline."""
    return f"Anonymous admin of {group}" if group else "Anonymous group admin"


def unconfigured_group(names: TransportNames, chat_id: str) -> str:
    return (
        "Hello. This group does not belong to any school in Casebook's configuration yet, so I "
        f"will not read it. To use it for reports, add its id {chat_id} to a school's "
        f"{names.report_key} (or {names.digest_key} for the leads' group) and restart Casebook."
    )


def hosted_group_added() -> str:
    """Said once in a group the bot was added to, where schools join from the chat."""
    return (
        "Hello, I am Casebook. I will not read this group until a safeguarding lead sets it up. "
        "A lead makes it the place where staff report online abuse by typing /cases here "
        "reports, or the leads' own place for alerts and the weekly summary with /cases here "
        "leads. To become a lead, send me your school's invitation code in a direct message: "
        "join CODE. If I am to read reports here, make me an administrator of the group."
    )


def hosted_channel_added() -> str:
    """Said once in a team or group chat the bot was added to, where schools join from the
    chat, on a platform that shows a bot only the messages that mention it (unless the team
    gave it leave to read the channel when the app was added)."""
    return (
        "Hello, I am Casebook. I will not read this team or chat until a safeguarding lead sets "
        "it up. In the channel where staff should report online abuse, a lead types "
        "@Casebook /cases here reports; in the leads' own channel, for alerts and the weekly "
        "summary, @Casebook /cases here leads. To become a lead, send me your school's "
        "invitation code in a chat with me: join CODE."
    )


def reply_added(numbers: list[int]) -> str:
    listed = ", ".join(f"#{n}" for n in numbers)
    return f"Thank you. I have added what you wrote to case {listed}."


def words_full(numbers: list[int], most: int) -> str:
    listed = ", ".join(f"#{n}" for n in numbers)
    return (
        f"Case {listed} already holds as many of your words as it keeps ({most:,} characters), "
        "so I have not added all of that message. If there is more to say, please tell your "
        "safeguarding lead directly."
    )


def reply_added_as_note(numbers: list[int]) -> str:
    listed = ", ".join(f"#{n}" for n in numbers)
    return f"Your reply is added to case {listed} as a note."


def link_added(number: int, platform: Platform) -> str:
    return (
        f"I have added the link from your edited message to case #{number} "
        f"({PLATFORM_NAMES[platform]})."
    )


NO_OPEN_QUESTION = (
    "There is no question waiting for an answer from you just now. To report something, send a "
    "link to the post or describe what happened. Type /help to see what I can do."
)
NOT_UNDERSTOOD = (
    "Sorry, I did not understand that answer. Choose one of the options, type its number, or "
    "type skip. To log a new report instead, send a link or use /report."
)
STALE_BUTTON = "That question has already been answered, so nothing was changed."
IGNORED_LINKS = "I could not use some of the links (they were not web links to a post)."
NOT_A_MEMBER = (
    "I cannot tell which school you belong to, so I cannot log this here. Please ask your "
    "safeguarding lead to add you to Casebook, or post in your school's staff channel."
)


def question_intro(number: int) -> str:
    return f"A few quick questions about case #{number}. You can skip any of them."


NOT_A_REPORT = "Not a report"
NOTHING_TO_WITHDRAW = "You have no report in this school to withdraw."
WITHDRAW_USAGE = (
    "Say which of your reports to withdraw, for example: /withdraw 3 (or /withdraw alone for "
    "your latest). A report can be withdrawn within a day of making it, until the safeguarding "
    "leads have acted on it."
)
CONSOLE_WITHDRAW_HINT = "(Not a report? Type /withdraw.)"
DIRECT_HELLO = (
    "Hello. Do you want to report something? Send me a link to the post, or describe what "
    "happened in a sentence or two, and I will log it as a case. /help says more."
)


def withdrawn(number: int) -> str:
    return f"Case #{number} is withdrawn: it is closed, and the safeguarding leads are told."


def case_logged_then_withdrawn(number: int) -> str:
    return f"Case #{number}: withdrawn, not a report."


def withdrawn_alert(number: int) -> str:
    return f"Case #{number} was withdrawn by the person who reported it (not a report)."


def no_case_to_withdraw(number: int) -> str:
    return f"You have no report numbered #{number} to withdraw."


def withdraw_shared(number: int) -> str:
    return (
        f"Case #{number} has been reported by someone else too, so it cannot be withdrawn. "
        "Ask a safeguarding lead if it should be closed."
    )


def withdraw_too_late(number: int) -> str:
    return (
        f"Case #{number} can no longer be withdrawn: it is over a day old, or the safeguarding "
        "leads are already working on it. Ask a lead if it should be closed."
    )


def questions_ended(number: int, merged_into: int | None) -> str:
    """To a reporter still being asked about a case a lead has just closed or merged."""
    if merged_into is not None:
        return (
            f"The safeguarding leads have merged case #{number} into case #{merged_into}, so I "
            f"will not ask any more about #{number}. What you told me is kept with case "
            f"#{merged_into}. Thank you."
        )
    return (
        f"The safeguarding leads have closed case #{number}, so I will not ask any more about "
        "it. What you told me is kept. Thank you."
    )


def question_resumed(number: int) -> str:
    return f"Back to case #{number}."


RUNS_SHOWN = 40  # runs of case numbers in one message: a long list would pass Telegram's limit


def case_runs(numbers: list[int]) -> str:
    """Case numbers as runs: "#41\u2013#43, #47" (an en dash, as in print)."""
    runs: list[list[int]] = []
    for number in sorted(set(numbers)):
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    shown = [f"#{r[0]}" if len(r) == 1 else f"#{r[0]}\u2013#{r[-1]}" for r in runs[:RUNS_SHOWN]]
    more = sum(len(r) for r in runs[RUNS_SHOWN:])
    return ", ".join(shown) + (f" and {more} more" if more else "")


def reports_folded(numbers: list[int]) -> str:
    """One reply for a minute of reports from someone sending many (handlers/report_folds.py)."""
    count = len(set(numbers))
    noun = "report" if count == 1 else "reports"
    return (
        f"{count} more {noun} logged: {case_runs(numbers)}. You are sending many reports, so "
        "they are confirmed together, once a minute, and no questions are asked about them; a "
        "safeguarding lead will follow them up."
    )


def reports_folded_alert(numbers: list[int]) -> str:
    count = len(set(numbers))
    noun = "case" if count == 1 else "cases"
    return (
        f"{count} more new {noun} from one person sending many reports: {case_runs(numbers)}. "
        "Details were not asked for."
    )


def questions_for_cases(numbers: list[int]) -> str:
    listed = ", ".join(f"#{n}" for n in numbers)
    return f"A few quick questions about cases {listed}; your answers apply to all of them."


def categories_chosen(labels: list[str]) -> str:
    if not labels:
        return "Nothing chosen yet. Choose all that apply, then choose Done."
    return "Chosen so far: " + "; ".join(labels) + ". Choose more, or choose Done."


def answer_recorded(question: str, answer: str) -> str:
    return f"{question} {answer}"


def questions_finished(numbers: list[int]) -> str:
    listed = ", ".join(f"#{n}" for n in numbers)
    return f"Thank you, that is all my questions for case {listed}."


def guidance(platforms: list[Platform], urgent: bool, police: bool) -> str:
    parts = [
        "What to do next:",
        *(HOW_TO_REPORT[platform] for platform in platforms),
        EVIDENCE,
        POSH,
    ]
    if police:
        parts.append(POLICE)
    parts.append(WELLBEING)
    if urgent:
        parts.insert(0, URGENT_DANGER)
    return "\n\n".join(parts)


# --- Alerts to the safeguarding leads (never report text, names or links) -------------------------


def new_case_alert(number: int, platform: Platform) -> str:
    return f"New case #{number}: {PLATFORM_NAMES[platform]}. Details are being gathered."


def urgent_case_alert(number: int, platform: Platform, categories: list[str]) -> str:
    kinds = "; ".join(categories) if categories else "not yet given"
    return (
        f"URGENT case #{number}: {PLATFORM_NAMES[platform]}. Kind: {kinds}. Please look at it now."
    )


# --- Commands ----------------------------------------------------------------------------------


def unknown_command(command: str) -> str:
    return f"I do not know the command /{command}. Type /help to see what I can do."


HELP_REPORT = "/report TEXT OR LINK logs a report."
HELP_MYCASES = "/mycases lists the cases you reported."
HELP_WITHDRAW = "/withdraw N withdraws your report N if it was a mistake (within a day)."
HELP_WHOAMI = "/whoami shows your id and this chat's id, for whoever sets Casebook up."
HELP_HELP = "/help shows this message."
HELP_FOR_LEADS = "As a safeguarding lead, type /cases help to see the commands for managing cases."


def staff_help(command_lines: list[str]) -> str:
    """The answer to /help: what Casebook does, and the staff's commands, one a line."""
    return "\n".join(
        [
            "Casebook logs online abuse of school staff so that it is followed up.",
            "- Send a link to the post, or describe what happened, and I log it as a case.",
            *(f"- {line}" for line in command_lines),
            "I then ask a few quick questions (each can be skipped) and tell you how to report "
            "the post to the platform and where to get support.",
        ]
    )


CONSOLE_HELP = (
    "Terminal commands: /as NAME (speak as another staff member), /lead (speak as the "
    "school's safeguarding lead), /quit (or Ctrl-D) to leave."
)
REPORT_NEEDS_TEXT = "Add a link or a description after /report, for example: /report https://…"
NO_CASES_OF_YOURS = "You have not reported any cases yet."


def my_cases_header(count: int) -> str:
    return f"Your cases ({count}):"


def my_case_line(
    number: int, platform: Platform, status: Status, created: str, withdrawn: bool = False
) -> str:
    shown = "withdrawn" if withdrawn else STATUS_LABELS[status]
    return f"#{number} · {PLATFORM_NAMES[platform]} · {shown} · logged {created}"


# --- Setting up: /whoami and the first message in a report place ---------------------------------


def whoami(names: TransportNames, user_id: str, place_id: str | None) -> str:
    """The answer to /whoami: the ids someone setting Casebook up needs, and where they go."""
    lines = [
        f"Your {names.label} user id is {user_id}. If you are a safeguarding lead, it goes in "
        f"{names.leads_key} of your school in Casebook's configuration."
    ]
    if place_id is None:
        lines.append(
            "This is your private chat with Casebook. Reports are made in a shared channel "
            "or group: send /whoami there to get its id."
        )
    elif names.report_key is None or names.digest_key is None:
        lines.append(f"This place is called {place_id}.")
    else:
        lines.append(
            f"This chat's id is {place_id}. To make it a report place, add it to "
            f"{names.report_key}; for the leads' channel, set {names.digest_key} to it."
        )
    return "\n".join(lines)


def first_message(school: str) -> str:
    """Posted once in a report place, the first time Casebook sees it."""
    return (
        f"Hello, I am Casebook. This channel is where staff of {school} report online abuse "
        "of staff: a post, video or comment about a member of staff on TikTok, Instagram, "
        "Snapchat, X, YouTube or anywhere else.\n"
        "Every message posted here becomes a report: I log it as a case, ask a few quick "
        "questions privately, and tell the safeguarding leads (never what you wrote).\n"
        "Type /help to see what I can do, or ask your safeguarding lead."
    )


# --- Lead commands ------------------------------------------------------------------------------

LEAD_HELP = (
    "Commands for safeguarding leads (each starts with /cases):\n"
    "- /cases [page N]: open cases, urgent first, then newest\n"
    "- show N: everything about case N and its timeline\n"
    "- assign N @person: give case N to a member of staff\n"
    "- status N reported|escalated|removed|open: record what the platform did\n"
    "- escalated N posh|report-harmful-content|police: record where case N was escalated\n"
    "- note N TEXT: add a note to case N\n"
    "- close N [duplicate|not-abuse|resolved]: close case N; reopen N undoes it\n"
    "- merge N M: fold case M into case N\n"
    "- hold N REASON: keep case N from being purged; unhold N lifts it\n"
    "- summary: this term's counts by status and platform\n"
    "- export: a CSV of your school's cases, sent to you privately\n"
    "- evidence: your school's evidence report (a web page), sent to you privately\n"
    "- here reports|leads|off: use the channel or group you type it in for reports, as the "
    "leads' place, or no more\n"
    "- invite: a new code, sent to you privately, to make a colleague a lead\n"
    "If you lead more than one school, add --school NAME before the command."
)
NOT_A_LEAD = (
    "Sorry, /cases is only for your school's safeguarding leads. To report something, send a "
    "link or use /report; /mycases lists your own reports."
)
CASE_NUMBER_NEEDED = "Please give a case number, for example: /cases show 14 (or /cases show #14)."
NO_OPEN_CASES = "There are no open cases. Thank you for keeping on top of them."
NOTE_NEEDS_TEXT = (
    "Add the note after the case number, for example: /cases note 14 called TikTok support."
)
ASSIGN_NEEDS_PERSON = "Say who to assign it to, for example: /cases assign 14 @sam"
MERGE_SAME_CASE = "A case cannot be merged into itself."
STATUS_CHOICES = "reported, escalated, removed or open"
CLOSE_REASONS = f"{', '.join(LEAD_CLOSE_REASONS[:-1])} or {LEAD_CLOSE_REASONS[-1]}"
BAD_QUOTES = "I could not read that command: a quotation mark is not closed."


# How each lead command is typed, shown when it is typed with something missing.
LEAD_USAGE = {
    "status": (
        "Usage: /cases status N reported|escalated|removed|open, for example: "
        "/cases status 14 reported"
    ),
    "merge": "Usage: /cases merge N M folds case M into case N, for example: /cases merge 14 15",
    "escalated": (
        "Usage: /cases escalated N posh|report-harmful-content|police, for example:"
        " /cases escalated 14 posh"
    ),
}
ESCALATION_ROUTE_NAMES = {
    EscalationRoute.POSH: "POSH",
    EscalationRoute.REPORT_HARMFUL_CONTENT: "Report Harmful Content",
    EscalationRoute.POLICE: "the police",
}


def bad_escalation_route(word: str) -> str:
    return (
        f"I do not know where {word!r} is. Say posh, report-harmful-content or police, for"
        " example: escalated 14 posh"
    )


def escalated_field(route: EscalationRoute, moment: str) -> str:
    return f"to {ESCALATION_ROUTE_NAMES[route]}, {moment}"


def escalation_after_removal(number: int) -> str:
    return (
        f"The post for case #{number} is recorded as removed already, so there is nothing to"
        " escalate."
    )


def escalation_recorded(number: int, route: EscalationRoute) -> str:
    return (
        f"Case #{number} is recorded as escalated to {ESCALATION_ROUTE_NAMES[route]} today. The"
        " evidence report counts the days to removal after escalation from today."
    )


def escalation_added(
    number: int, route: EscalationRoute, first: EscalationRoute, first_when: str
) -> str:
    return (
        f"Noted: case #{number} has gone to {ESCALATION_ROUTE_NAMES[route]} as well. It was first"
        f" escalated to {ESCALATION_ROUTE_NAMES[first]} on {first_when}; the evidence report"
        " counts from then."
    )


def pages_exist(pages: int) -> str:
    if pages == 1:
        return "There is one page of open cases: /cases page 1 (or just /cases)."
    return f"Pages 1 to {pages} of open cases exist, for example: /cases page {pages}."


def no_such_case(number: str) -> str:
    return f"There is no case #{number} in your school."


def unknown_lead_command(word: str) -> str:
    return f"I do not know /cases {word}. Type /cases help to see the lead commands."


def which_school(names: list[str]) -> str:
    return (
        "You lead more than one school; say which, for example: /cases --school "
        f'"{names[0]}" show 14. Your schools: {", ".join(names)}.'
    )


def not_your_school(name: str) -> str:
    return f"You are not a safeguarding lead of {name!r}."


# --- Joining a hosted Casebook: invitation codes and places set up from the chat ----------------

JOIN_REFUSED = (
    "Sorry, that code does not work. A code works once, for 7 days: please ask whoever sent it "
    "for a new one."
)
JOIN_LOCKED_OUT = (
    "Too many codes that did not work have been sent from this account. Please wait an hour, "
    "then try again."
)


def joined(school: str) -> str:
    return (
        f"Welcome: you are now a safeguarding lead of {school} in Casebook. Next, add me to your "
        "staff channel or group and type /cases here reports there; in the leads' channel, "
        "/cases here leads. /cases invite gives you a code for a colleague, and /cases help "
        "lists the rest."
    )


def invitation(school: str, code: str, days: int) -> str:
    return (
        f"Here is a new invitation code for {school}. Give it to one colleague who should be a "
        f"safeguarding lead; it works once, for {days} days. They send it to me in a direct "
        f"message, as: join {code}"
    )


def place_set(school: str, role: str) -> str:
    if role == "leads":
        return (
            f"Done: this is now the leads' place of {school}. Alerts, reminders and the weekly "
            "summary come here."
        )
    return (
        f"Done: staff of {school} can report online abuse here. Post a link to the post, or "
        "type /report, and I will log it as a case."
    )


def place_released(school: str) -> str:
    return f"Done: {school} no longer uses this place. I will not read it any more."


# The page at GET /join, where a school starts (bot/join_page.py lays it out).
JOIN_PAGE_TITLE = "Join Casebook"
JOIN_PAGE_INTRO = (
    "Casebook logs online abuse of school staff as cases, follows each one up, and alerts your "
    "school's safeguarding leads. Your school joins from the chat it already uses, in minutes."
)
JOIN_PAGE_STEPS_HEADING = "Three steps for a school"
JOIN_PAGE_STEPS = (
    "Ask whoever runs this Casebook for an invitation code. It works once, for 7 days.",
    "Send the code to the bot in a direct message, as: join CODE. You are now your school's "
    "safeguarding lead.",
    "Add the bot to your staff channel or group and type /cases here reports there. In the "
    "leads' own channel, type /cases here leads. Staff report in the staff channel from then on.",
)
JOIN_PAGE_INSTALL_BUTTON = "Add to Slack"
JOIN_PAGE_BOT_LINK = "Open the bot in Telegram"
JOIN_PAGE_BOT_LINK_CODE = "With a code, Telegram's link does step 2 for you:"
JOIN_PAGE_APP_PACKAGE = (
    "On Microsoft Teams: ask whoever runs this Casebook for its Teams app with your code. Your "
    "Teams administrator allows it and you add it to your staff team; then step 2 is a chat "
    "with Casebook, and in step 3 you mention it: @Casebook /cases here reports."
)
JOIN_PAGE_ONE_WORKSPACE = (
    "On Slack, this Casebook serves one workspace: a school in it sends its code to the Casebook "
    "app in a direct message there."
)
JOIN_PAGE_BOT_UNNAMED = (
    "On Telegram: the link to Casebook's bot appears here once Casebook has reached Telegram; "
    "meanwhile, ask whoever runs this Casebook for the bot's name."
)
JOIN_PAGE_NO_CHAT = "No chat platform is set up on this Casebook yet."


PLACE_NOT_CLAIMED = "This place is not in use by your school, so there is nothing to stop."
PLACE_OF_ANOTHER_SCHOOL = (
    "Sorry, this place already belongs to another school in Casebook, so I cannot use it for "
    "yours. One of its leads can free it with /cases here off."
)
PLACE_NEEDS_CHANNEL = (
    "Type this in the channel or group you want to set up (with me in it), not in a direct message."
)
PLACE_USAGE = "Usage: /cases here reports|leads|off, typed in the channel or group to set up."


def set_in_config(school: str) -> str:
    return (
        f"{school} is set up in Casebook's configuration file, so its places and leads are "
        "changed there, by whoever runs Casebook."
    )


def set_in_demo(school: str) -> str:
    return (
        f"{school} is the terminal's demo school, made up because Casebook runs here without a "
        "configuration file; it takes no places and no invitations. A real school joins with "
        "an invitation code from `casebook school add`, sent to the bot on a chat platform: "
        "see the README, 'Hosting Casebook for many schools'."
    )


def cases_header(school: str, shown: int, total: int, page: int, pages: int) -> str:
    paging = f", page {page} of {pages}" if pages > 1 else ""
    return f"Open cases of {school}: {total}{paging}."


def more_cases(page: int) -> str:
    return f"More: /cases page {page}"


def case_line(
    number: int,
    urgent: bool,
    platform: Platform,
    categories: list[str],
    age: str,
    status: Status,
    assignee: str | None,
) -> str:
    parts = [f"#{number}" + (" URGENT" if urgent else ""), PLATFORM_NAMES[platform]]
    parts.append(", ".join(categories) if categories else "kind not given")
    parts.append(age)
    parts.append(STATUS_LABELS[status])
    parts.append(f"assigned to {assignee}" if assignee else "unassigned")
    return " · ".join(parts)


def age(hours: float) -> str:
    if hours < 1:
        return "under 1h old"
    if hours < 48:
        return f"{int(hours)}h old"
    return f"{int(hours // 24)}d old"


def case_details(fields: list[tuple[str, str]]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in fields)


# The fields of `/cases show`, in the order shown.
FIELD_CASE = "Case"
FIELD_STATUS = "Status"
FIELD_PLATFORM = "Platform"
FIELD_KIND = "Kind"
FIELD_TARGETED = "Targeted"
FIELD_REPORTED = "Reported to platform"
FIELD_AUTHOR = "Author a pupil"
FIELD_REPORTERS = "Reporters"
FIELD_ASSIGNEE = "Assigned to"
FIELD_LINKS = "Links"
FIELD_LOGGED = "Logged"
FIELD_REPORTED_AT = "Reported at"
FIELD_REMOVED_AT = "Removed at"
FIELD_ESCALATED = "First escalated"
FIELD_LEGAL_HOLD = "Legal hold"
FIELD_PURGED = "Purged"
FIELD_MERGED_INTO = "Merged into"
UNKNOWN = "?"  # a person or case that is no longer there


def of_school(school: str, text: str) -> str:
    """An answer about one school, for a lead of several."""
    return f"{school}: {text}"


def case_heading(number: int, school: str, urgent: bool) -> str:
    return f"#{number} · {school}" + (" · URGENT" if urgent else "")


def case_number(number: int) -> str:
    return f"#{number}"


def reporter_words(who: str, words: str) -> str:
    return f"{who}: {words}"


TIMELINE = "Timeline:"
NOBODY_NAMED = "Casebook"
NOTES = "Notes:"
NOT_GIVEN = "not given"


def from_merged_case(number: int, what: str) -> str:
    """A timeline entry that a merge brought over from another case."""
    return f"from #{number}: {what}"


def timeline_line(when: str, who: str, what: str) -> str:
    return f"- {when} · {who} · {what}"


def _route_name(value: str | None) -> str:
    route = next((r for r in EscalationRoute if r.value == value), None)
    return "?" if route is None else ESCALATION_ROUTE_NAMES[route]


def _link_added(how: str | None, platform: str) -> str:
    """A `link-added` entry says how the link came; one written before that was kept does not."""
    if how == LinkAddedBy.EDIT:
        return f"link added by an edit ({platform})"
    if how == LinkAddedBy.LATER_MESSAGE:
        return f"link sent after the report ({platform})"
    return f"link added ({platform})"


def audit_text(
    action: AuditAction, from_value: str | None, to_value: str | None, reason: str | None
) -> str:
    texts: dict[AuditAction, str] = {
        AuditAction.CREATED: "case logged",
        AuditAction.REPORTER_ADDED: "another reporter added",
        AuditAction.WORDS_ADDED: "reporter added more in the thread",
        AuditAction.LINK_ADDED: _link_added(from_value, to_value or ""),
        AuditAction.ORIGINAL_DELETED: (
            "the original message was deleted in the chat; the case is kept"
        ),
        AuditAction.STATUS: f"status {from_value or '?'} → {to_value or '?'}",
        AuditAction.ASSIGNED: f"assigned to {to_value or 'nobody'}",
        AuditAction.NOTE: "note added",
        AuditAction.URGENT: "marked urgent",
        AuditAction.CLOSED: f"closed ({reason or 'no reason'})",
        AuditAction.REOPENED: "reopened",
        AuditAction.MERGED_FROM: f"case #{from_value} merged in",
        AuditAction.MERGED_INTO: f"merged into case #{to_value}",
        AuditAction.REFUSED: f"refused: {reason or ''}",
        AuditAction.HOLD: f"legal hold: {reason or ''}",
        AuditAction.UNHOLD: "legal hold lifted",
        AuditAction.REMINDER: f"reminder sent ({to_value or ''})",
        AuditAction.CHECKED: "checked: still up",
        AuditAction.ESCALATED: f"escalated to {_route_name(to_value)}",
    }
    return texts.get(action, str(action))


def assigned(number: int, person: str) -> str:
    return f"Case #{number} is now assigned to {person}."


def assigned_to_yourself(number: int) -> str:
    return f"Case #{number} is now assigned to you."


def you_were_assigned(number: int, school: str, platform: Platform) -> str:
    return (
        f"A safeguarding lead of {school} has assigned case #{number} ({PLATFORM_NAMES[platform]}) "
        "to you. Thank you for following it up."
    )


def no_such_person(handle: str) -> str:
    return (
        f"I do not know {handle} as staff of your school. They need to have used Casebook in "
        "your school's staff channel first."
    )


def several_people(handle: str) -> str:
    return f"More than one member of staff matches {handle}; use their exact id."


def status_set(number: int, status: Status) -> str:
    if status is Status.REMOVED:
        return f"Case #{number} is now marked removed: the platform has taken the post down."
    return f"Case #{number} is now {STATUS_LABELS[status]}."


HOLD_NEEDS_REASON = (
    "Say why the case must be kept, for example: /cases hold 14 police investigation."
)


def held(number: int) -> str:
    return f"Case #{number} is under legal hold: it will not be purged until the hold is lifted."


def unheld(number: int) -> str:
    return f"The legal hold on case #{number} is lifted; normal retention applies again."


def not_held(number: int) -> str:
    return f"Case #{number} is not under legal hold."


def case_purged(number: int) -> str:
    return f"Case #{number} was already purged under the retention policy."


def status_unchanged(number: int, status: Status) -> str:
    return f"Case #{number} is already {STATUS_LABELS[status]}; nothing was changed."


def bad_status(word: str) -> str:
    return f"I cannot set a status of {word!r}. Choose {STATUS_CHOICES}."


def withdraw_closed_already(number: int) -> str:
    return f"Case #{number} is already closed, so there is nothing to withdraw."


def case_closed_already(number: int) -> str:
    return (
        f"Case #{number} is already closed, so nothing was changed. To change it, reopen it with "
        f"/cases reopen {number} first."
    )


def case_not_closed(number: int) -> str:
    return f"Case #{number} is not closed."


def closed(number: int, reason: str) -> str:
    return f"Case #{number} is closed ({reason})."


def bad_close_reason(word: str) -> str:
    return f"{word!r} is not a reason I know. Choose {CLOSE_REASONS}."


def reopened(number: int) -> str:
    return f"Case #{number} is open again."


def note_added(number: int) -> str:
    return f"Note added to case #{number}."


def merged(into: int, merged_case: int) -> str:
    return f"Case #{merged_case} is merged into case #{into} and closed as a duplicate."


def summary(school: str, since: str, by_status: dict[str, int], by_platform: dict[str, int]) -> str:
    total = sum(by_status.values())
    lines = [f"{school}: {_cases(total)} since {since}."]
    if total:
        lines.append("By status: " + ", ".join(f"{k} {v}" for k, v in by_status.items()))
        lines.append("By platform: " + ", ".join(f"{k} {v}" for k, v in by_platform.items()))
    return "\n".join(lines)


def export_ready(count: int) -> str:
    return (
        f"Here is your school's export ({_cases(count)}) as a CSV file. Please keep it safe: it "
        "names people."
    )


def _cases(count: int) -> str:
    return f"{count} case" if count == 1 else f"{count} cases"


# --- Reminders and escalation ----------------------------------------------------------------

STILL_UP = "Still up"
REMOVED = "Removed"
MARK_ESCALATED = "Mark escalated"
# The escalation reminder's buttons: where the lead escalated the case.
ESCALATED_BUTTONS = {
    EscalationRoute.POSH: "Escalated to POSH",
    EscalationRoute.REPORT_HARMFUL_CONTENT: "Escalated to Report Harmful Content",
    EscalationRoute.POLICE: "Escalated to the police",
}
REMINDER_NOT_CURRENT = "This reminder is no longer current, so nothing was changed."
REMINDER_NOT_YOURS = (
    "Only the school's safeguarding leads, or the person the case is assigned to, can answer this."
)


def reminder_unanswered(number: int) -> str:
    return (
        f"A gentle reminder: a few questions about case #{number} are still open. Answer when you "
        "can, or type skip. Your report is already logged."
    )


def reminder_not_reported(number: int, platform: Platform, hours: int) -> str:
    return (
        f"Case #{number} ({PLATFORM_NAMES[platform]}) was logged {hours} hours ago and is not yet "
        f"reported to the platform. {HOW_TO_REPORT[platform]} When it is, record it with "
        f"/cases status {number} reported."
    )


def reminder_still_up(number: int, platform: Platform, days: int) -> str:
    return (
        f"Case #{number} was reported to {PLATFORM_NAMES[platform]} {days} days ago. Is the post "
        f"still up? {POSH}"
    )


def reminder_escalate(number: int, platform: Platform, days: int, police: bool) -> str:
    parts = [
        f"Case #{number} was reported to {PLATFORM_NAMES[platform]} {days} days ago and the post "
        "has not come down. It is time to escalate:",
        POSH,
        REPORT_HARMFUL_CONTENT,
    ]
    if police:
        parts.append(POLICE)
    parts.append(
        "Once you have, press the button for where you escalated it (or type /cases escalated"
        f" {number} posh, report-harmful-content or police): the evidence report measures how"
        " long posts stay up after escalation from that day."
    )
    return "\n\n".join(parts)


def still_up_recorded(number: int, hours: int) -> str:
    return f"Noted: the post for case #{number} is still up. I will ask again in {duration(hours)}."


def duration(hours: int) -> str:
    if hours % 24 == 0:
        days = hours // 24
        return "1 day" if days == 1 else f"{days} days"
    return "1 hour" if hours == 1 else f"{hours} hours"


# --- Weekly digest (counts only: never links, names or report text) ------------------------------

CHART_REMOVED = "removed"
CHART_CASES = "cases"


def chart_title(school: str) -> str:
    return f"{school}: new cases per week this term, by platform"


def digest_period(start: str, end: str) -> str:
    return f"the 7 days from {start} to {end}"


def digest_empty(school: str, period: str) -> str:
    return f"Casebook weekly summary for {school}, {period}: no new cases and none open."


def digest_text(
    *,
    school: str,
    period: str,
    new_total: int,
    new_by_platform: dict[str, int],
    new_by_category: dict[str, int],
    open_by_age: dict[str, int],
    removed: dict[str, tuple[int, float | None]],
    waiting: int,
    unassigned: int,
) -> str:
    def listed(counts: dict[str, int]) -> str:
        return ", ".join(f"{name} {count}" for name, count in counts.items()) or "none"

    lines = [f"Casebook weekly summary for {school}, {period}."]
    by_platform = f" ({listed(new_by_platform)})." if new_total else "."
    lines.append(f"New cases: {new_total}{by_platform}")
    if new_by_category:
        lines.append(f"Kinds: {listed(new_by_category)}.")
    open_total = sum(open_by_age.values())
    by_age = f" (age: {listed(open_by_age)})." if open_total else "."
    lines.append(f"Open cases: {open_total}{by_age}")
    if removed:
        parts = []
        for name, (count, median) in removed.items():
            speed = "" if median is None else f", median {median:.1f} days to removal"
            parts.append(f"{name} {count}{speed}")
        lines.append("Removed this week: " + "; ".join(parts) + ".")
    else:
        lines.append("Removed this week: none.")
    lines.append(f"Waiting on the platform for more than 7 days: {waiting}.")
    lines.append(f"Open and unassigned: {unassigned}.")
    return "\n".join(lines)


# --- How Casebook presents itself on a chat platform: app listing, commands, report form --------

APP_DESCRIPTION = "Logs online abuse of school staff as cases and follows them up."
# A command as a platform's menu or command list shows it, and a hint of what follows it.
ABOUT_REPORT = "Report a post that abuses a member of staff"
ABOUT_CASES = "Safeguarding leads: list and manage cases"
ABOUT_MYCASES = "List the cases you reported"
ABOUT_WITHDRAW = "Withdraw a report you made by mistake"
ABOUT_HELP = "What Casebook does and how to use it"
ABOUT_START = "What Casebook is and how to report"
ABOUT_WHOAMI = "Your id and this chat's id, for setting Casebook up"
USAGE_REPORT = "[link or description]"
USAGE_CASES = "[help | show N | assign N @person | …]"
USAGE_WITHDRAW = "N"
REPORT_FORM_TITLE = "Report online abuse"
REPORT_FORM_SUBMIT = "Log it"
REPORT_FORM_CLOSE = "Cancel"
REPORT_FORM_LINK = "Link to the post"
REPORT_FORM_DESCRIPTION = "What happened? Describe the post; a link helps most."
Q_CATEGORIES_FORM = "What kind of abuse is it? Choose all that apply."


def more_text(characters: int) -> str:
    """The end of a message cut to fit a chat platform's limit."""
    return f"\n… {characters:,} more characters (too long for one message)"


# --- Console -----------------------------------------------------------------------------------


def console_banner(school: str, user: str) -> str:
    return (
        f"Casebook for {school}. You are {user}. Paste a link or describe what happened; "
        "type /help for commands."
    )


def console_now_speaking_as(user: str, role: str) -> str:
    return f"You are now {user} ({role})."


CONSOLE_ROLE_STAFF = "staff"
CONSOLE_ROLE_LEAD = "safeguarding lead"
CONSOLE_AS_NEEDS_NAME = "Give a name after /as, for example: /as sam"


def console_as_one_word(given: str) -> str:
    suggestion = "_".join(given.lower().split())
    return (
        f"/as takes a name of one word, and {given!r} is more than one. "
        f"Nobody was switched; try, for example: /as {suggestion}"
    )


def console_no_leads(school: str) -> str:
    return (
        f'{school} has no safeguarding lead for the terminal. Add console_leads = ["NAME"] to '
        "its [[schools]] table in the config file, restart, then type /lead (or /as NAME)."
    )


def console_file(name: str, size: int) -> str:
    return f"[attached: {name}, {size:,} bytes; casebook digest --chart FILE saves it]"


def console_saved(path: Path) -> str:
    return f"[saved as {path}: open it in a web browser]"


def console_not_saved(name: str, reason: str) -> str:
    return f"[{name} could not be saved in this folder: {reason}]"


def console_to_leads(school: str) -> str:
    return f"[to the leads of {school}]"


def console_to_user(user: str) -> str:
    return f"[to {user}]"


# --- Errors shown by the command line ------------------------------------------------------------

INTERNAL_ERROR = (
    "Sorry, something went wrong on my side. Your message was kept and will be looked at again."
)


MANIFEST_PLACEHOLDER_URL = (
    "casebook: warning: no --url given, so the manifest's request URLs are a placeholder "
    "(https://casebook.example.org/slack/events); give --url https://YOUR-HOST/slack/events."
)


def manifest_url_not_https(url: str) -> str:
    return (
        f"casebook: warning: --url {url} is not https; Slack sends events only to an https address."
    )


def manifest_url_wrong_path(url: str, path: str) -> str:
    return (
        f"casebook: warning: --url {url} does not end in {path}, the path Casebook answers on; "
        f"give --url https://YOUR-HOST{path}."
    )


# The command line's own words: `casebook: …` lines go to stderr, and what a command prints as
# its result (a table, a digest, a plan) goes to stdout.


def cli_line(text: object) -> str:
    """A line the command line says about what it did, or why it could not."""
    return f"casebook: {text}"


def cli_no_database(path: Path) -> str:
    return f"there is no database at {path} (check --db or [storage] database)."


def cli_is_a_folder(path: Path) -> str:
    return f"{path} is a folder; give a file name."


def cli_no_folder(path: Path) -> str:
    return f"there is no folder {path.parent} to write {path.name} in."


def cli_exists_use_force(path: Path) -> str:
    return f"{path} exists already; add --force to replace it."


def cli_exists_choose_another(path: Path) -> str:
    return cli_line(f"{path} exists already; choose a new file.")


def cli_cannot_write(path: Path, why: object) -> str:
    return f"cannot write {path}: {why}."


def cli_no_such_school(wanted: str, known: Sequence[str]) -> str:
    listed = ", ".join(repr(n) for n in known) or "none"
    return f"no school called {wanted!r}; the schools are: {listed}."


def cli_not_a_date(text: str) -> str:
    return f"{text!r} is not a date like 2026-09-01"


def cli_wrote_cases(count: int, path: Path) -> str:
    return cli_line(f"wrote {count} case{'' if count == 1 else 's'} to {path}")


def cli_wrote(path: Path) -> str:
    return cli_line(f"wrote {path}")


CLI_NO_CASES = "No cases."


def cli_chart_written(path: Path) -> str:
    return cli_line(f"chart written to {path}")


def cli_digest_sent(school: str, queued: bool) -> str:
    note = "queued for the leads" if queued else "already sent this week"
    return cli_line(f"{school}: {note}")


def cli_purge_line(dry_run: bool, school: str, number: int, closed_days_ago: int) -> str:
    verb = "would anonymise" if dry_run else "anonymised"
    return f"{verb} {school} case #{number} (closed {closed_days_ago} days ago)"


def cli_purged(dry_run: bool, count: int, days: int) -> str:
    verb = "would anonymise" if dry_run else "anonymised"
    return cli_line(f"{verb} {count} cases closed more than {days} days ago")


def cli_erase_needs_yes(key: str) -> str:
    return cli_line(
        f"this replaces {key} with a pseudonym everywhere and cannot be undone; "
        "run again with --yes to do it."
    )


def cli_no_such_person(key: str) -> str:
    return cli_line(f"no one with the id {key} is in this database.")


def cli_erased(key: str, pseudonym: str) -> str:
    return cli_line(f"{key} is erased; they now appear as {pseudonym!r}.")


def cli_erased_backups(folder: Path | None, days: int) -> str:
    """After an erasure: backups are copies, and erasure does not reach them."""
    if folder is None:
        return cli_line(
            "Backups taken before now still hold their data, until those backups are deleted."
        )
    return cli_line(
        f"Backups taken before now still hold their data: those in {folder} are deleted "
        f"{days} days after they were taken (CASEBOOK_BACKUP_DAYS); delete any other copies "
        "yourself."
    )


def cli_backed_up(source: str | Path, target: Path, integrity: str) -> str:
    return cli_line(f"backed up {source} to {target} (integrity: {integrity})")


CLI_NAME_THE_CONFIG = "name the config file: casebook check-config FILE."
# `casebook run --chat-only` (the systemd unit's) with no chat platform in the config.
CLI_NO_CHAT_PLATFORM = (
    "no chat platform is set up: add a [slack], [telegram] or [teams] table to the config "
    "(without one, casebook run is the terminal demo, which a service cannot use)."
)
CLI_CONFIG_VALID = "configuration is valid"


def cli_warning(warning: str) -> str:
    return cli_line(f"warning: {warning}")


CLI_THRESHOLD_TOO_LOW = (
    "--threshold must be 3 or more (or 1, which withholds nothing): at 2, two counts of 1 beside "
    "their total of 2 would give each other away."
)


def cli_since_after_until(since: date, until: date) -> str:
    return f"--since {since} is after --until {until}."


def cli_not_a_target(text: str) -> str:
    return (
        f"{text!r} is not a target: give PLATFORM:DAYS:SHARE, for example x:2:0.9 or x:2:90%, "
        "where PLATFORM is tiktok, instagram, facebook, snapchat, x, youtube, threads, other, "
        "unknown or all, DAYS is 1 to 366 and SHARE is above 0 and at most 1 (or 100%)"
    )


def cli_target_needs_html(fmt: str) -> str:
    return (
        f"--target is set beside the figures in the HTML page only; leave it out with "
        f"--format {fmt}, or drop --format {fmt}."
    )


def cli_evidence_read_exports(records: int, files: int, cases: int) -> str:
    return (
        f"read {_count(records, 'record')} from {_count(files, 'file')}, "
        f"{_count(cases, 'distinct case')}"
    )


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" if number == 1 else f"{number} {thing}s"


def cli_evidence_read_database(cases: int, path: str | Path) -> str:
    return f"read {cases} cases from {path}"


def cli_evidence_written(note: str, path: Path) -> str:
    return cli_line(f"{note}; wrote {path}")


def shown_path(path: object) -> str:
    """A file name as a message may show it: control characters (a new line, an escape that
    moves the cursor) written as escapes, so one name is one line that says what it is."""
    text = str(path)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def evidence_file_too_large(name: str, limit: int) -> str:
    return (
        f"{name}: is larger than {limit // (1024 * 1024)} MB, the most `casebook evidence`"
        " reads from one file; split the export by --school or --since"
    )


def evidence_nested_too_deep(name: str) -> str:
    return f"{name}: is not a JSON export: its brackets are nested too deeply"


def evidence_date_too_early(field: str, day: date, earliest: date) -> str:
    return f"{field!r} is {day}, before {earliest}: not a date Casebook wrote"


def evidence_removed_before(field: str, removed: date, other: date) -> str:
    return f"'removed_at' ({removed}) is before {field!r} ({other}): the dates cannot both be right"


EVIDENCE_BAD_ROUTE = (
    "'escalated_to' must be posh, report-harmful-content or police, with 'escalated_at' its date"
)
EVIDENCE_IDENTIFYING_EXPORT = (
    "is a full export, with names and links; names and links must not reach an association,"
    " so export with `casebook export --anonymised --format json`"
    " (or give --allow-identifying if this report stays where the names may be seen)"
)


def cli_evidence_until_too_late(until: date, today: date) -> str:
    return f"--until {until} is after today ({today}): follow-up cannot end in the future."


def cli_evidence_since_too_early(since: date, earliest: date) -> str:
    return f"--since {since} is before {earliest}: no case can be that old."


# `casebook school …`: schools kept in the database of a hosted Casebook.
SCHOOL_NEEDS_NAME = "a school needs a name"
SCHOOL_NO_PLACES = "  no places yet"
# How `casebook school list` shows whether a place was last reachable (None: never checked).
SCHOOL_PLACE_REACHABLE = {True: "reachable", False: "gone", None: "not checked"}


def school_not_a_timezone(timezone: str) -> str:
    return f"{timezone!r} is not a time zone name"


def school_in_config_file(name: str) -> str:
    return f"{name!r} is in the config file's [[schools]]; a school lives in one place"


def school_remove_in_config_file(name: str) -> str:
    return (
        f"{name!r} is in the config file's [[schools]]; it is removed by deleting its "
        "[[schools]] entry there"
    )


def school_added_already(name: str) -> str:
    return f"{name!r} is added already; `casebook school invite {shlex.quote(name)}` gives a code."


def school_added(name: str, timezone: str) -> str:
    return f"Added {name} ({timezone})."


def school_has_cases(name: str) -> str:
    return f"{name!r} has cases, so it is kept; its cases are evidence"


def school_removed(name: str) -> str:
    return f"Removed {name}."


def school_name_kept_for_audit(name: str) -> str:
    return (
        f"Its name is kept for the audit trail, which records what was done for {name}; "
        "nothing else of it is kept."
    )


def school_listed(
    name: str, kept_in: str, timezone: str, leads: int, last_report: str | None
) -> str:
    counted = "no leads" if leads == 0 else "1 lead" if leads == 1 else f"{leads} leads"
    return f"{name} ({kept_in}, {timezone}): {counted}, last report {last_report or 'none'}"


def school_place_listed(transport: str, place: str, role: str, reachable: str) -> str:
    return f"  {transport} {place}: {role}, {reachable}"


def school_in_file_and_database(in_file: str, kept: str) -> str:
    return (
        f"[[schools]] {in_file!r} is also kept in the database as {kept!r} (casebook "
        "school add); a school lives in one of them: remove it from the file, or from the "
        "database with `casebook school remove`"
    )


def school_kept_in_database(name: str, timezone: str) -> str:
    return f"school: {name} ({timezone}); kept in the database (casebook school list)"


def school_invitation_code(school: str, days: int) -> str:
    return (
        f"Invitation code for a lead of {school}: it works once, for {days} days. They send "
        "`join CODE` to Casebook privately: on Slack in a direct message to the app, on Teams in "
        "their chat with Casebook, and on Telegram by opening the bot's link "
        "https://t.me/YOUR_BOT?start=CODE, which sends it for them."
    )


# `casebook demo-data`: made-up exports to try the evidence report on.
def cli_demo_out_of_range(option: str, most: int) -> str:
    return f"{option} must be from 1 to {most}."


def cli_demo_end_too_late(end: date, today: date) -> str:
    return f"--end {end} is after today ({today}): the evidence report would refuse it."


def cli_demo_not_a_folder(path: Path) -> str:
    return f"{path} is a file; --out names the folder the exports go in."


def cli_demo_written(files: int, cases: int, folder: Path) -> str:
    return cli_line(
        f"wrote {cases} made-up cases in {files} anonymised exports to {folder};"
        f" try: casebook evidence --from {folder}/*.json --out report.html"
    )


# The command line's `casebook inbox`: events that could not be handled.
NO_SUCH_SET_ASIDE = "there is no set-aside event {id} (see casebook inbox list)."


def set_aside_line(item: SetAsideItem) -> str:
    kept = "text kept" if item.has_payload else "text removed by retention"
    return (
        f"{item.id}\t{item.source} {item.event_id}\treceived {item.received_at:%Y-%m-%d %H:%M}Z"
        f"\tset aside {item.set_aside_at:%Y-%m-%d %H:%M}Z after {item.attempts} attempt(s)"
        f"\t{item.error}\t{kept}"
    )


def set_aside_count(count: int) -> str:
    if count == 0:
        return "casebook: no events are set aside"
    return f"casebook: {count} event(s) set aside; `casebook inbox retry [ID]` tries them again"


def set_aside_retried(count: int) -> str:
    return f"casebook: {count} event(s) put back in the queue"


# `casebook check-config` with a PostgreSQL database: what it found there.
def store_found(server: str, version: int | None, newest: int) -> str:
    if version is None:
        return f"database: {server}, no Casebook tables yet (the first run makes them)"
    if version > newest:
        return (
            f"database: {server}, schema version {version}, newer than this Casebook knows "
            f"({newest}): upgrade Casebook before running it on this database"
        )
    return f"database: {server}, schema version {version} (this Casebook's: {newest})"


# `casebook backup` with a PostgreSQL database.
BACKUP_WITH_PG_DUMP = (
    "a PostgreSQL database is backed up with pg_dump or the server's own backups, for example: "
    "pg_dump --format=custom --file=casebook.dump DATABASE"
)


# The command line's `casebook db copy`: a whole database into an empty one.
COPY_TARGET_NOT_EMPTY = (
    "{target} is not empty (its {table} table has {rows} row(s)); copy into a new, empty database."
)
COPY_REFUSED = "cannot copy {source} to {target}: {reason}."


COPY_COUNT_HEADER = "table\trows in source\trows in target"  # the columns of copy_count_line


def copy_count_line(table: str, source: int, target: int) -> str:
    return f"{table}\t{source}\t{target}" + ("" if source == target else "\tDIFFERENT")


def copy_checked(source: str, target: str, tables: int, mismatched: list[str]) -> str:
    if not mismatched:
        return f"casebook: copied {source} to {target}; the row counts of all {tables} tables match"
    return (
        f"casebook: copied {source} to {target}, but the row counts differ for "
        f"{', '.join(mismatched)}; do not use the copy"
    )


# --- The evidence report (`casebook evidence`, `/cases evidence`) ---------------------------------

EVIDENCE_TITLE = "Online abuse of school staff: how platforms respond"
EVIDENCE_FIGURES = "The figures"
EVIDENCE_WEEKLY = "Cases each week"
EVIDENCE_WEEKLY_NOTE = (
    "One row per platform, one bar per ISO week. A grey mark is a week with fewer than {n} "
    "cases, or one of {n} or more withheld so that totals do not reveal a small number."
)
EVIDENCE_STILL_UP = "Share of reported posts still up, by days since the report"
EVIDENCE_STILL_UP_NOTE = (
    "Kaplan-Meier estimate. Dotted lines mark 1, 2, 3, 7 and 30 days. A platform is drawn only "
    "where at least {n} of its posts were reported."
)
EVIDENCE_MARKS = "Removed within 1, 2 and 3 days, beside published figures"
EVIDENCE_MARKS_NOTE = (
    "The share of reported posts each platform removed within 1, 2 and 3 days of the report "
    "(Kaplan-Meier, 95 % interval in brackets), and the public figures and targets they can be "
    "set beside:"
)
EVIDENCE_CATEGORIES = "Kinds of abuse"
EVIDENCE_CATEGORIES_NOTE = (
    "A case can be of more than one kind, so the kinds add up to more than the cases."
)
EVIDENCE_METHODS = "How these figures are made"
EVIDENCE_NO_CASES = "No cases."
EVIDENCE_ALL = "All platforms"
EVIDENCE_OTHERS = "Other platforms"
EVIDENCE_WITHHELD = "withheld"
EVIDENCE_COLUMNS = (
    "Platform",
    "Cases",
    "Schools",
    "Reported to the platform",
    "Removed",
    "Median days to removal (95 % CI)",
    "Days until 90 % removed (95 % CI)",
    "Still up after 1 day (95 % CI)",
    "after 2 days",
    "after 3 days",
    "after 7 days",
    "after 30 days",
    "Median days, removed posts only",
)
EVIDENCE_CATEGORY_COLUMN = "Kind"
# Time to removal after escalation (handlers/evidence/escalation_html.py).
EVIDENCE_ESCALATION = "After escalation: POSH, Report Harmful Content, the police"
EVIDENCE_ESCALATION_NOTE = (
    "Cases a lead recorded as escalated (/cases escalated). Days to removal are counted from the"
    " day of the first escalation, with the Kaplan-Meier method: posts still up are counted, not"
    " left out. Estimates are given only where a route's count is published."
)
EVIDENCE_ESCALATION_COLUMNS = (
    "Escalated to",
    "Cases",
    "Median days from the platform report to escalation",
    "Median days from escalation to removal (95 % CI)",
    "Still up 2 days after escalation",
    "after 7 days",
    "after 30 days",
)
EVIDENCE_ROUTE_NAMES = {
    "posh": "POSH",
    "report-harmful-content": "Report Harmful Content",
    "police": "The police",
    "all": "Any route",
}
EVIDENCE_NO_ESCALATIONS = (
    "No escalation was recorded in this period. Leads record one with /cases escalated N posh,"
    " report-harmful-content or police, or with the buttons of the escalation reminder."
)
EVIDENCE_WITHHELD_NOTE = (
    "* “withheld” marks a count that is not small but is hidden so that a small count cannot be"
    " worked out from the total."
)


def evidence_escalation_compare(
    median: int | None, ci: tuple[int, int] | None, published: bool = True
) -> str:
    """The time before escalation, beside the time after it: all reported posts, from the report.
    `published`: the all-platforms estimates were made (its reported count is not hidden)."""
    if not published:
        return (
            "For comparison, the time to removal of all reported posts together is not published"
            " here: their count is hidden to protect a small one. Each platform's is above."
        )
    if median is None:
        return (
            "For comparison, fewer than half of all reported posts were removed in the period,"
            " counted from the platform report."
        )
    interval = f" (95 % CI {ci[0]}-{ci[1]})" if ci else ""
    return (
        f"For comparison, all reported posts: median {median} days from the platform report to"
        f" removal{interval}, as in the figures above."
    )


EVIDENCE_FOOTER = (
    "Made by Casebook on {day}. Counts from 1 to {below} are shown as “fewer than {n}”; "
    "“withheld” marks a larger count hidden to protect one of them."
)


def evidence_methods(threshold: int, school: str | None = None) -> list[str]:
    """How the figures are made; a school's own report names that school and no other."""
    naming = (
        f"This report is about {school} alone; it names no person"
        if school
        else "The report names no school"
    )
    return [
        "Each case is one post reported by school staff. Cases closed as a duplicate, as not "
        "abuse, or withdrawn are left out. Cases are counted in the week they were logged.",
        "Days to removal run from the date the post was reported to the platform to the date it "
        "was taken down. Posts that were still up at the end of the period are not dropped: they "
        "are counted as still up on that date (censored), and a post whose case was closed while "
        "it was still up is counted as still up on the day it was closed. The Kaplan-Meier "
        "method then estimates the share still up after any number of days, so a platform that "
        "never removes the hardest posts does not look fast.",
        "The median is the first day by which half the reported posts were estimated to be "
        "removed; where fewer than half were ever removed there is no median. Its 95 % "
        "confidence interval is read off a 95 % band around the estimate, computed with "
        "Greenwood's formula on the log(-log) scale. The last column is the plain median over "
        "removed posts only, shown to make the difference visible: it ignores every post that "
        "stayed up.",
        f"Platforms with fewer than {threshold} cases are counted together as other platforms. "
        f"No count from 1 to {threshold - 1} is published: it is shown as “fewer than "
        f"{threshold}”. Where a total would let such a count be worked out, another count is "
        "withheld too, preferably a total, a week or a kind rather than a platform's own "
        "figures; a withheld count is marked “withheld”, never as a small number. "
        f"Estimates are shown only for platforms with at least {threshold} posts reported. "
        f"{naming} and holds no links or descriptions.",
    ]


def evidence_weekly_peak(peak: int, complete: bool = True) -> str:
    """The row's scale; where some weeks are hidden, the tallest bar is only the tallest shown."""
    if complete:
        return f"up to {peak:,} a week"
    return f"tallest bar shown: {peak:,}"


def evidence_weekly_whole_period(count: str) -> str:
    return f"{count} cases in the whole period (most weeks are too few to show)"


def evidence_fewer_than(threshold: int) -> str:
    return f"fewer than {threshold}"


def evidence_withheld_note(threshold: int) -> str:
    return (
        f"Withheld: this count is {threshold} or more. It is not shown only because, beside the "
        "totals, it would let a smaller count be worked out."
    )


def evidence_others_note(members: str, threshold: int) -> str:
    return f"Other platforms: {members}, each with fewer than {threshold} cases, counted together."


def evidence_removed_within(days: int) -> str:
    return f"Removed within {evidence_days(days)}"


def evidence_reference_point(
    source: str, measure: str, percent: int, period: str, days: int | None
) -> str:
    limit = "" if days is None else f" (a {days * 24}-hour mark)"
    return f"{source}, {period}: {percent} % of {measure}{limit}."


def evidence_target(
    platform: str,
    days: int,
    percent: int,
    estimate: str | None,
    interval: tuple[int, int] | None,
    met: bool | None,
) -> str:
    """`estimate` is a percentage as written: "60", or "59.9" where a whole one would contradict
    the verdict. The range has the en dash of the page's tables."""
    # The platform as a label, not a subject: it may be "All platforms".
    line = (
        f"Target set for this report, {platform}: {percent} % removed within {evidence_days(days)}"
    )
    if estimate is None:
        return line + "; there are too few reported posts to estimate it."
    shown = f"{estimate} %" + (f" ({interval[0]}\u2013{interval[1]} %)" if interval else "")
    return line + f"; estimated {shown}: " + ("met." if met else "not met.")


def evidence_days(days: int) -> str:
    return "the same day" if days == 0 else "1 day" if days == 1 else f"{days} days"


def evidence_headline(
    start: str,
    end: str,
    schools: str,
    cases: str,
    school: str | None,
    one_day: bool = False,
    one_case: bool = False,
) -> str:
    when = f"On {end}" if one_day else f"Between {start} and {end}"
    posts = "1 post" if one_case else f"{cases} posts"
    if cases == EVIDENCE_WITHHELD:
        posts = "a number of posts (withheld, to protect a smaller count)"
    if school is not None:
        return f"{when}, staff at {school} reported {posts}."
    return f"{when}, {schools} schools reported {posts}."


def evidence_platform_line(platform: str, median: int | None, still_up_30: float | None) -> str:
    if median is None:
        line = f"{platform} took down fewer than half of the posts reported to it"
    elif median == 0:
        line = (
            f"{platform} took down half of the posts reported to it on the day they were reported"
        )
    else:
        line = (
            f"{platform} took down half of the posts reported to it within {evidence_days(median)}"
        )
    if still_up_30 is not None:
        line += f"; {round(still_up_30 * 100)} % were still up after 30 days"
    return line + "."


def evidence_ready(school: str) -> str:
    return (
        f"Here is the evidence report for {school} as a web page you can open, print or forward. "
        "It names your school, so please share it with care."
    )
