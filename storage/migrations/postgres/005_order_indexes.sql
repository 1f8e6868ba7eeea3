-- Indexes that let the whole-database export and listing read cases, and each case's
-- reporters, in the order they are shown, without sorting them first (see benchmarks/README.md).

CREATE INDEX cases_created ON cases (created_at);
CREATE INDEX case_reporters_order ON case_reporters (case_id, reported_at, person_id);
