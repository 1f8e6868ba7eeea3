-- Retention and erasure: legal holds, purged cases, and an audit trail that stays append-only
-- except for one thing: a person reference (actor, or a "person:N" value) may be blanked when
-- their identity has to go (retention, or a person's erasure request). The same rule as
-- SQLite's trigger.

ALTER TABLE cases ADD COLUMN legal_hold TEXT COLLATE "C";
ALTER TABLE cases ADD COLUMN purged_at TEXT COLLATE "C";
ALTER TABLE cases ADD COLUMN reporter_count BIGINT;

CREATE FUNCTION audit_only_blanking() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = OLD.id
        AND NEW.case_id IS NOT DISTINCT FROM OLD.case_id
        AND NEW.school_id IS NOT DISTINCT FROM OLD.school_id
        AND NEW.action = OLD.action
        AND NEW.reason IS NOT DISTINCT FROM OLD.reason
        AND NEW.at = OLD.at
        AND (NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id OR NEW.actor_id IS NULL)
        AND (NEW.from_value IS NOT DISTINCT FROM OLD.from_value
             OR (NEW.from_value IS NULL AND OLD.from_value LIKE 'person:%'))
        AND (NEW.to_value IS NOT DISTINCT FROM OLD.to_value
             OR (NEW.to_value IS NULL AND OLD.to_value LIKE 'person:%'))
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit rows are append-only' USING ERRCODE = 'integrity_constraint_violation';
END
$$;
DROP TRIGGER audit_no_update ON audit;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_only_blanking();
