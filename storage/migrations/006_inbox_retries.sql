-- An inbox item that fails is retried later instead of being given up at once; only an item
-- that fails again and again (or cannot be decoded) is set aside, where a person can list and
-- retry it (`casebook inbox list|retry`). An outbox claim names the process that holds it, so a
-- restarted process can take back its dead predecessor's claims at once.

ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN retry_at TEXT;
ALTER TABLE inbox ADD COLUMN set_aside_at TEXT;
ALTER TABLE inbox ADD COLUMN last_error TEXT;

-- Items kept by earlier versions after a failure (processed, payload kept) are set aside now.
UPDATE inbox SET set_aside_at = processed_at, processed_at = NULL, last_error = 'failed before'
 WHERE processed_at IS NOT NULL AND payload <> '';

CREATE INDEX inbox_set_aside ON inbox (set_aside_at) WHERE set_aside_at IS NOT NULL;

ALTER TABLE outbox ADD COLUMN claimed_by TEXT;

-- A row the health check writes, so /healthz knows the file can still be written.
CREATE TABLE health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL);
