-- Casebook's first schema. Times are ISO 8601 UTC text ("2026-11-25T09:30:00Z"), which sorts in time order.

CREATE TABLE schools (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    timezone TEXT NOT NULL
);

-- One row per person seen; identities live only here so erasure can replace them in one place.
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    school_id INTEGER NOT NULL REFERENCES schools(id),
    number INTEGER NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('new', 'open', 'reported', 'escalated', 'removed', 'closed')),
    urgent INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),
    platform TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('slack', 'telegram', 'console')),
    targets TEXT,
    reported_to_platform TEXT CHECK (reported_to_platform IN ('yes', 'no', 'unsure')),
    reported_to_platform_at TEXT,
    author_is_pupil TEXT CHECK (author_is_pupil IN ('yes', 'no', 'unknown')),
    removed_at TEXT,
    assignee_id INTEGER REFERENCES people(id),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT,
    close_reason TEXT,
    UNIQUE (school_id, number)
);
CREATE INDEX cases_school_created ON cases (school_id, created_at);

CREATE TABLE case_categories (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    category TEXT NOT NULL,
    PRIMARY KEY (case_id, category)
);

CREATE TABLE case_reporters (
    case_id INTEGER NOT NULL REFERENCES cases(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    description TEXT NOT NULL DEFAULT '',
    reported_at TEXT NOT NULL,
    PRIMARY KEY (case_id, person_id)
);
CREATE INDEX case_reporters_person ON case_reporters (person_id);

CREATE TABLE case_links (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    school_id INTEGER NOT NULL REFERENCES schools(id),
    canonical_url TEXT NOT NULL,
    original_url TEXT NOT NULL,
    platform TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE INDEX case_links_lookup ON case_links (school_id, canonical_url);
CREATE INDEX case_links_case ON case_links (case_id);

-- Follow-up questions: which question a reporter is on, so a restart resumes exactly there.
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    school_id INTEGER NOT NULL REFERENCES schools(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    transport TEXT NOT NULL,
    place_id TEXT NOT NULL,
    place_kind TEXT NOT NULL,
    thread TEXT,
    question TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX conversations_active ON conversations (person_id, finished_at);

CREATE TABLE conversation_cases (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id),
    case_id INTEGER NOT NULL REFERENCES cases(id),
    PRIMARY KEY (conversation_id, case_id)
);

-- Append-only: who did what to which case, when, from what, to what, and why.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    case_id INTEGER REFERENCES cases(id),
    school_id INTEGER REFERENCES schools(id),
    actor_id INTEGER REFERENCES people(id),
    action TEXT NOT NULL,
    from_value TEXT,
    to_value TEXT,
    reason TEXT,
    at TEXT NOT NULL
);
CREATE INDEX audit_case ON audit (case_id, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;

-- Every incoming event, stored before it is acknowledged and processed from here.
CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    processed_at TEXT,
    UNIQUE (source, event_id)
);
CREATE INDEX inbox_pending ON inbox (processed_at, id);

-- Every message to send, written in the same transaction as the change that caused it.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    transport TEXT NOT NULL,
    payload TEXT NOT NULL,
    case_id INTEGER REFERENCES cases(id),
    created_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_until TEXT,
    sent_at TEXT,
    failed_at TEXT,
    last_error TEXT,
    message_ref TEXT
);
CREATE INDEX outbox_due ON outbox (transport, sent_at, failed_at, due_at);
