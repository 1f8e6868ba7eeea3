-- Retention and erasure: legal holds, purged cases, and an audit trail that stays append-only
-- except for one thing: a person reference (actor, or a "person:N" value) may be blanked when
-- their identity has to go (retention, or a person's erasure request).

ALTER TABLE cases ADD COLUMN legal_hold TEXT;
ALTER TABLE cases ADD COLUMN purged_at TEXT;
ALTER TABLE cases ADD COLUMN reporter_count INTEGER;

DROP TRIGGER audit_no_update;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
WHEN NOT (
    NEW.id = OLD.id
    AND NEW.case_id IS OLD.case_id
    AND NEW.school_id IS OLD.school_id
    AND NEW.action = OLD.action
    AND NEW.reason IS OLD.reason
    AND NEW.at = OLD.at
    AND (NEW.actor_id IS OLD.actor_id OR NEW.actor_id IS NULL)
    AND (NEW.from_value IS OLD.from_value OR (NEW.from_value IS NULL AND OLD.from_value LIKE 'person:%'))
    AND (NEW.to_value IS OLD.to_value OR (NEW.to_value IS NULL AND OLD.to_value LIKE 'person:%'))
)
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
