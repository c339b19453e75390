-- Where a column-shape job (alter-column-type, add-column) stands on its table, written in the same
-- transaction as the step it records. A restart after a committed contract must not expand again
-- (the shadow column would be added anew) nor contract again (it would drop the converted column and
-- rename an empty shadow into its place); the catalog alone cannot tell "contracted" from "never
-- expanded", this row can. `abandon --cleanup` deletes it.
CREATE TABLE shape_change (
    job_key         text        PRIMARY KEY,
    expanded_at     timestamptz,
    contracted_at   timestamptz
);
