-- Who this database is, for evidence combined across deployments (`casebook evidence --from`):
-- one random deployment id, and one random key per case that stays the same across exports.
-- Sixteen hex digits, as SQLite's lower(hex(randomblob(8))): md5 of a random UUID, since
-- gen_random_bytes needs an extension.

CREATE FUNCTION casebook_random_key() RETURNS TEXT LANGUAGE sql VOLATILE AS $$
    SELECT substr(md5(gen_random_uuid()::text), 1, 16)
$$;

CREATE TABLE deployment (
    "only" BIGINT PRIMARY KEY CHECK ("only" = 1),
    id TEXT COLLATE "C" NOT NULL
);
INSERT INTO deployment ("only", id) VALUES (1, casebook_random_key());

CREATE TABLE case_keys (
    case_id BIGINT PRIMARY KEY,
    key TEXT COLLATE "C" NOT NULL UNIQUE
);
INSERT INTO case_keys (case_id, key) SELECT id, casebook_random_key() FROM cases;

CREATE FUNCTION case_keys_insert() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_keys (case_id, key) VALUES (NEW.id, casebook_random_key());
    RETURN NULL;
END
$$;
CREATE TRIGGER case_keys_on_insert AFTER INSERT ON cases
    FOR EACH ROW EXECUTE FUNCTION case_keys_insert();
