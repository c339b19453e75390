-- When each phase of a partition ran (capture, copy, index, catch-up, verify, swap, retire), as
-- {"copy": [start, end], ...} in epoch milliseconds, end null while it runs. A partition's phases run
-- inside its one worker step (rewrite:P), not as steps of a job of their own: status, the dashboard
-- and the benchmark read the timings from here. The copy's start is written when it starts (its rate
-- is shown while it runs); the others when the partition's run ends.
ALTER TABLE partition_state ADD COLUMN phases jsonb NOT NULL DEFAULT '{}';
