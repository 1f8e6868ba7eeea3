-- Reports from one person past the flood threshold: still stored as cases, but confirmed to
-- them (and announced to the leads) together, one message a minute (handlers/report_folds.py).
-- The messages are written when the fold is due, in the transaction that marks it sent, so a
-- restart neither loses nor repeats one. `reply` and `alerts` are Outgoing payloads whose text
-- is written then; they are blanked once sent.

CREATE TABLE report_folds (
    id INTEGER PRIMARY KEY,
    school_id INTEGER NOT NULL REFERENCES schools(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    reply TEXT NOT NULL,
    alerts TEXT NOT NULL,
    numbers TEXT NOT NULL,
    new_numbers TEXT NOT NULL,
    created_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX report_folds_open ON report_folds (person_id, school_id, sent_at);
CREATE INDEX report_folds_due ON report_folds (sent_at, due_at);
-- Counting a person's recent reports reads only their recent rows.
CREATE INDEX case_reporters_recent ON case_reporters (person_id, reported_at);
