-- Whether a swapped-in partition has its statistics (job key statistics: after-swap). The index phase
-- VACUUMs the copy without ANALYZE and records 'pending' with the columns still to sample
-- (analyze_columns; NULL: all, an ANALYZE without a column list); the ANALYZE of the swapped-in
-- partition, run in the background after its swap, records 'done' in its own transaction. Before contract
-- every swapped partition still 'pending' (a kill between the swap and its ANALYZE, a remote worker that
-- died) is analyzed, so the job never completes with a partition lacking statistics that P had.
-- NULL: sampled before the swap (before-swap, or by an older pgrewrite).
ALTER TABLE partition_state ADD COLUMN statistics text;
ALTER TABLE partition_state ADD COLUMN analyze_columns text[];
-- How long the ANALYZE after the swap took, in ms (it runs beside the next partition, outside its phases).
ALTER TABLE partition_state ADD COLUMN analyze_ms bigint;
