-- The rows whose new value the sync trigger could not compute, kept by pgrewrite itself: sync_error is
-- the operator's to read and to clear, this is what contract checks again (each row looked up by its key)
-- before it drops the old column, so that a row still holding a placeholder or NULL from a failed
-- conversion never becomes the column's data, whatever was deleted from sync_error. `key` is the row's
-- key as a JSON object (column name to value), `row_key` the same key as sync_error spells it.
CREATE TABLE sync_failed (
    job_key         text        NOT NULL,
    row_key         text        NOT NULL,
    key             jsonb       NOT NULL,
    table_name      text        NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_key, row_key)
);

-- The value of the new type the sync trigger gives the shadow of a NOT NULL column when the conversion
-- fails, from the moment contract prepares SET NOT NULL (each partition then carries CHECK (shadow IS NOT
-- NULL)): the text of a converted value, chosen once per job.
ALTER TABLE shape_change ADD COLUMN placeholder text;
