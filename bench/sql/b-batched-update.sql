-- B, step 2: backfill the shadow column through the parent, 10 000 keys a batch in key order,
-- one transaction a batch (COMMIT inside a DO block run outside a transaction). Every row gets a
-- new version: the old ones stay behind as dead tuples until VACUUM, and the table keeps the space.
DO $$
DECLARE
    last_id uuid := '00000000-0000-0000-0000-000000000000';
    high_id uuid;
BEGIN
    LOOP
        -- The batch's last key (uuid has no max()); none when fewer than 10 000 keys are left.
        SELECT id INTO high_id FROM public.passage WHERE id > last_id ORDER BY id OFFSET 9999 LIMIT 1;
        UPDATE public.passage SET massa_ledig_voertuig_new = massa_ledig_voertuig::integer
        WHERE id > last_id AND (high_id IS NULL OR id <= high_id);
        COMMIT;
        EXIT WHEN high_id IS NULL;
        last_id := high_id;
    END LOOP;
END
$$;
