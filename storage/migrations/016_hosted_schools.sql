-- Schools that joined a hosted Casebook from their own chat rather than from a config file:
-- the school row is the one every case refers to; `hosted_schools` says it lives in the
-- database. Removing a hosted school removes that row and its leads, places and codes, never
-- the school row itself, which its audit trail still names.
CREATE TABLE hosted_schools (
    school_id INTEGER PRIMARY KEY REFERENCES schools(id),
    added_at TEXT NOT NULL
);

-- A hosted school's leads, by person: erasing a person takes their lead role with them.
CREATE TABLE school_leads (
    school_id INTEGER NOT NULL REFERENCES schools(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    added_at TEXT NOT NULL,
    PRIMARY KEY (school_id, person_id)
);

-- A channel or group a lead claimed for their school. Keyed by platform and workspace (a Slack
-- team id; '' where the platform has one space of ids) as well as its own id, so a place
-- belongs to one school and ids that collide across workspaces never meet.
CREATE TABLE school_places (
    transport TEXT NOT NULL,
    workspace TEXT NOT NULL,
    place_id TEXT NOT NULL,
    school_id INTEGER NOT NULL REFERENCES schools(id),
    role TEXT NOT NULL CHECK (role IN ('reports', 'leads')),
    claimed_at TEXT NOT NULL,
    gone_at TEXT,
    PRIMARY KEY (transport, workspace, place_id)
);
CREATE INDEX school_places_school ON school_places (school_id);

-- Lead invitation codes, by their SHA-256 only: the code itself is never written here.
CREATE TABLE invitations (
    code_hash TEXT PRIMARY KEY,
    school_id INTEGER NOT NULL REFERENCES schools(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    used_by INTEGER REFERENCES people(id)
);

-- Codes tried, right or wrong, for the lockout after too many wrong ones.
CREATE TABLE join_attempts (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people(id),
    at TEXT NOT NULL,
    ok INTEGER NOT NULL CHECK (ok IN (0, 1))
);
CREATE INDEX join_attempts_person ON join_attempts (person_id, at);
CREATE TABLE join_lockouts (
    person_id INTEGER PRIMARY KEY REFERENCES people(id),
    locked_until TEXT NOT NULL
);

-- Counts every change to hosted schools, leads and places: a process reloads them only when
-- it has moved on, so several processes see each other's changes for one small read.
CREATE TABLE hosted_version (
    single INTEGER PRIMARY KEY CHECK (single = 1),
    version INTEGER NOT NULL
);
INSERT INTO hosted_version (single, version) VALUES (1, 0);
