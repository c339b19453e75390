-- compact with plain VACUUM FULL, one partition at a time (oldest first). Each holds ACCESS EXCLUSIVE
-- on its partition for its duration: readers of that day wait, and so does count(*) over the parent.
SELECT format('VACUUM FULL %I.%I', n.nspname, c.relname)
FROM pg_partition_tree('public.passage') AS t
JOIN pg_class c ON c.oid = t.relid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE t.isleaf
ORDER BY c.relname
\gexec
