-- What the copy was taken from, recorded when a new working copy starts (after capture is on): P's oid
-- and relfilenode, and the row version (xmin) of P's capture trigger. The swap compares them under its
-- lock: a TRUNCATE (or VACUUM FULL, CLUSTER) gives P a new relfilenode, and disabling the capture
-- trigger (even if it was enabled again since) gives its pg_trigger row a new xmin. Either means writes
-- the change log never saw, so the partition is copied again instead of swapped.
ALTER TABLE partition_state ADD COLUMN source_relid oid;
ALTER TABLE partition_state ADD COLUMN source_filenode oid;
ALTER TABLE partition_state ADD COLUMN capture_trigger_xmin text;
