-- Which chat (place) an outbox row goes to, written once with the row. Claiming ranks the
-- waiting rows of each chat; reading the place out of every waiting row's JSON payload on every
-- claim made each claim cost more the longer the queue, so a burst's replies slowed their own
-- delivery. The index holds only waiting rows, in the order a claim ranks them.
ALTER TABLE outbox ADD COLUMN place TEXT;
UPDATE outbox SET place = CASE WHEN json_valid(payload) THEN json_extract(payload, '$.place.id') END
 WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_waiting ON outbox (transport, place, id, due_at, claimed_until)
 WHERE sent_at IS NULL AND failed_at IS NULL;
