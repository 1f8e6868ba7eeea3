-- The escalation ladder and the weekly digest live here, not in the scheduler's memory.

CREATE TABLE reminders (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL CHECK (kind IN ('unanswered', 'not_reported', 'still_up', 'escalate')),
    conversation_id INTEGER REFERENCES conversations(id),
    due_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    cancelled_at TEXT,
    answered_at TEXT,
    answer TEXT,
    UNIQUE (case_id, kind, due_at)
);
CREATE INDEX reminders_due ON reminders (sent_at, cancelled_at, due_at);
CREATE INDEX reminders_case ON reminders (case_id);

-- When a lead last confirmed a reported post is still up: the next check counts from here.
ALTER TABLE cases ADD COLUMN checked_at TEXT;

-- One digest per school per ISO week, so a job that runs twice sends it once.
CREATE TABLE digests (
    school_id INTEGER NOT NULL REFERENCES schools(id),
    iso_year INTEGER NOT NULL,
    iso_week INTEGER NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (school_id, iso_year, iso_week)
);
