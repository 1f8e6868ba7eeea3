-- Lead work: notes on cases, merged cases, and who is staff of which school.

CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    author_id INTEGER REFERENCES people(id),
    text TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX notes_case ON notes (case_id, id);

ALTER TABLE cases ADD COLUMN merged_into INTEGER REFERENCES cases(id);

-- Everyone seen in a school's report places (or leading it) is staff of that school.
CREATE TABLE school_members (
    school_id INTEGER NOT NULL REFERENCES schools(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (school_id, person_id)
);
CREATE INDEX school_members_person ON school_members (person_id);

CREATE INDEX cases_school_status ON cases (school_id, status);
