-- Times are written to the microsecond from now on (storage/times.py). A pending reminder is
-- matched again by its case, kind and due time as text (its UNIQUE key), so due times written
-- before, whole seconds without a fraction, get the six zeros the same due time has when it is
-- worked out again now; otherwise a reminder kept by a case's next change would be added twice.
UPDATE reminders SET due_at = substr(due_at, 1, 19) || '.000000Z' WHERE length(due_at) = 20;
