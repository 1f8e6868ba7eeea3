-- An inbox item that fails is retried later instead of being given up at once; only an item
-- that fails again and again (or cannot be decoded) is set aside, where a person can list and
-- retry it (`casebook inbox list|retry`). An outbox claim names the process that holds it, so a
-- restarted process can take back its dead predecessor's claims at once.

ALTER TABLE inbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN retry_at TEXT COLLATE "C";
ALTER TABLE inbox ADD COLUMN set_aside_at TEXT COLLATE "C";
ALTER TABLE inbox ADD COLUMN last_error TEXT COLLATE "C";

CREATE INDEX inbox_set_aside ON inbox (set_aside_at) WHERE set_aside_at IS NOT NULL;

ALTER TABLE outbox ADD COLUMN claimed_by TEXT COLLATE "C";

-- A row the health check writes, so /healthz knows the database can still be written.
CREATE TABLE health_probe (id BIGINT PRIMARY KEY CHECK (id = 1), at TEXT COLLATE "C" NOT NULL);
