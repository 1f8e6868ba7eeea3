-- Which chat (place) and thread an outbox row goes to, written once with the row. A claim
-- ranks the waiting rows of each place and leaves out the threads still being sent; reading
-- these out of every waiting row's JSON payload on every claim made each claim cost more the
-- longer the queue, so a burst's replies slowed their own delivery. The index holds only
-- waiting rows, in the order a claim reads them. Both are blanked once a row is sent or given
-- up, as its payload is: a direct chat's place is the person's own id.
ALTER TABLE outbox ADD COLUMN place TEXT;
ALTER TABLE outbox ADD COLUMN thread TEXT;
UPDATE outbox SET place = CASE WHEN json_valid(payload) THEN json_extract(payload, '$.place.id') END,
 thread = CASE WHEN json_valid(payload) THEN json_extract(payload, '$.thread') END
 WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_waiting ON outbox (transport, place, id, due_at, claimed_until, thread)
 WHERE sent_at IS NULL AND failed_at IS NULL;
