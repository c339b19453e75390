-- B and C, step 1: a shadow column (catalog only, no rewrite) and a trigger that keeps it equal to
-- the old column for every row the application writes meanwhile. Without the trigger, rows inserted
-- during the backfill would lose their value at the swap.
-- ADD COLUMN and CREATE TRIGGER lock the parent and every partition, briefly (no rewrite).
ALTER TABLE public.passage ADD COLUMN massa_ledig_voertuig_new integer;

CREATE FUNCTION public.bench_sync_massa() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.massa_ledig_voertuig_new := NEW.massa_ledig_voertuig::integer;
    RETURN NEW;
END
$$;

-- OF massa_ledig_voertuig: the backfill's own UPDATEs (which set only the new column) do not fire it.
CREATE TRIGGER bench_sync_massa BEFORE INSERT OR UPDATE OF massa_ledig_voertuig ON public.passage
    FOR EACH ROW EXECUTE FUNCTION public.bench_sync_massa();
