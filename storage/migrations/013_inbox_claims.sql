-- Whose event an inbox row is (the sender's platform id) and the school of the place it came
-- from, written once with the row. A claim ranks the waiting rows of each person, so that one
-- person's events keep their order; reading the person out of every waiting row's JSON payload
-- on every claim made each claim cost more the longer the queue (on PostgreSQL a guarded JSON
-- parse per waiting row per claim was most of the server's work in a burst). On PostgreSQL a
-- claim also takes the turn of the schools it handles, so concurrent handlers work on
-- different schools instead of queueing behind each other. Both are blanked once the row is
-- processed, as its payload is. The index holds only waiting rows, in the order a claim reads
-- them.
ALTER TABLE inbox ADD COLUMN person TEXT;
ALTER TABLE inbox ADD COLUMN school TEXT;
UPDATE inbox SET person = CASE WHEN json_valid(payload) THEN json_extract(payload, '$.user.id') END,
 school = CASE WHEN json_valid(payload) THEN json_extract(payload, '$.school') END
 WHERE processed_at IS NULL;
CREATE INDEX inbox_waiting ON inbox (id, source, person, retry_at)
 WHERE processed_at IS NULL AND set_aside_at IS NULL;
