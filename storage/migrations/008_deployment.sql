-- Who this database is, for evidence combined across deployments (`casebook evidence --from`):
-- one random deployment id, and one random key per case that stays the same across exports, so
-- an association reading two overlapping exports counts each case once. Both are random, so
-- they reveal neither the school nor how many cases it has.

CREATE TABLE deployment (
    only INTEGER PRIMARY KEY CHECK (only = 1),
    id TEXT NOT NULL
);
INSERT INTO deployment (only, id) VALUES (1, lower(hex(randomblob(8))));

CREATE TABLE case_keys (
    case_id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
);
INSERT INTO case_keys (case_id, key) SELECT id, lower(hex(randomblob(8))) FROM cases;
CREATE TRIGGER case_keys_on_insert AFTER INSERT ON cases BEGIN
    INSERT INTO case_keys (case_id, key) VALUES (NEW.id, lower(hex(randomblob(8))));
END;
