-- A case's pending reminders are read each time the case changes (every report). With only
-- reminders_case and reminders_due, SQLite chose reminders_due and read every pending reminder
-- of every case, so each report cost more as the database grew.
CREATE INDEX reminders_case_pending ON reminders (case_id, sent_at, cancelled_at, due_at);
