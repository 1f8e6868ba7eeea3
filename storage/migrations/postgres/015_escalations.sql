-- Where a lead escalated a case (POSH, Report Harmful Content, the police) and when they first
-- did: time to removal after escalation is measured from this day, beside the time before it.
ALTER TABLE cases ADD COLUMN escalated_to TEXT COLLATE "C"
    CHECK (escalated_to IN ('posh', 'report-harmful-content', 'police'));
ALTER TABLE cases ADD COLUMN escalated_at TEXT COLLATE "C";
