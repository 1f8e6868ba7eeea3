-- rebuilds a table: foreign keys off
-- A case's source is the transport it came through, named by its adapter in bot/: any name, so
-- a new chat platform needs no migration. The first schema listed the three transports there
-- were; an empty name is still refused.
--
-- SQLite cannot change a CHECK, so `cases` is rebuilt as SQLite documents
-- (https://www.sqlite.org/lang_altertable.html#otheralter): the first line above has the runner
-- turn foreign keys off around this transaction (with them on, dropping `cases` would fail on
-- the rows that refer to it) and check every reference before it commits. Every row keeps its
-- id, so the nine tables that refer to cases still point at the same rows. The columns are the
-- same, in the same order; the indexes and the trigger on `cases` are made again as they were.
-- No view, and no trigger on another table, mentions `cases`.

CREATE TABLE cases_new (
    id INTEGER PRIMARY KEY,
    school_id INTEGER NOT NULL REFERENCES schools(id),
    number INTEGER NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('new', 'open', 'reported', 'escalated', 'removed', 'closed')),
    urgent INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),
    platform TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source <> ''),
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
    merged_into INTEGER REFERENCES cases(id),
    checked_at TEXT,
    legal_hold TEXT,
    purged_at TEXT,
    reporter_count INTEGER,
    UNIQUE (school_id, number)
);

INSERT INTO cases_new (
    id, school_id, number, status, urgent, platform, source, targets, reported_to_platform,
    reported_to_platform_at, author_is_pupil, removed_at, assignee_id, created_at, updated_at,
    closed_at, close_reason, merged_into, checked_at, legal_hold, purged_at, reporter_count
)
SELECT
    id, school_id, number, status, urgent, platform, source, targets, reported_to_platform,
    reported_to_platform_at, author_is_pupil, removed_at, assignee_id, created_at, updated_at,
    closed_at, close_reason, merged_into, checked_at, legal_hold, purged_at, reporter_count
FROM cases;

DROP TABLE cases;
ALTER TABLE cases_new RENAME TO cases;

CREATE INDEX cases_school_created ON cases (school_id, created_at);
CREATE INDEX cases_school_status ON cases (school_id, status);
CREATE INDEX cases_created ON cases (created_at);
CREATE TRIGGER case_keys_on_insert AFTER INSERT ON cases BEGIN
    INSERT INTO case_keys (case_id, key) VALUES (NEW.id, lower(hex(randomblob(8))));
END;
