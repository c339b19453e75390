-- C, step 2, the reference user's 2022 method: per daily partition, oldest first, one UPDATE of the
-- whole day, then VACUUM FULL of that day to give the dead row versions' space back. VACUUM FULL takes
-- ACCESS EXCLUSIVE on that one partition for its duration: readers of that day and, for today's
-- partition, the inserts wait; a count(*) over the parent waits for whichever day is being vacuumed.
-- \gexec runs each generated statement on its own, in autocommit (VACUUM cannot run in a transaction).
SELECT statement
FROM pg_partition_tree('public.passage') AS t
JOIN pg_class c ON c.oid = t.relid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (VALUES
        (1, format('UPDATE %I.%I SET massa_ledig_voertuig_new = massa_ledig_voertuig::integer', n.nspname, c.relname)),
        (2, format('VACUUM FULL %I.%I', n.nspname, c.relname))) AS s(step, statement)
WHERE t.isleaf
ORDER BY c.relname, s.step
\gexec
