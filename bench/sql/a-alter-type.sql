-- A. What a framework migration does: one ALTER TABLE on the parent. It takes ACCESS EXCLUSIVE on
-- the parent and every partition and rewrites them all in one transaction: the application waits for
-- the whole run, and the old and new copies of every partition exist until the commit.
ALTER TABLE public.passage ALTER COLUMN massa_ledig_voertuig TYPE integer USING massa_ledig_voertuig::integer;
