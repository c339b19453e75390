-- B and C, step 3: drop the old column, give the new one its name, drop the trigger. One short
-- transaction, catalog only (DROP COLUMN does not rewrite; the old values stay inside the tuples).
-- ACCESS EXCLUSIVE on the parent and every partition; no lock_timeout, as a hand-written migration
-- would have: it queues behind a running count(*) and the application queues behind it.
BEGIN;
DROP TRIGGER bench_sync_massa ON public.passage;
ALTER TABLE public.passage DROP COLUMN massa_ledig_voertuig;
ALTER TABLE public.passage RENAME COLUMN massa_ledig_voertuig_new TO massa_ledig_voertuig;
COMMIT;
DROP FUNCTION public.bench_sync_massa();
