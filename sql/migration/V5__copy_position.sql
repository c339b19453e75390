-- The copy goes by heap pages (TID range scans): the first page not yet copied, committed together with
-- each chunk's rows, is where a restart continues.
ALTER TABLE partition_state ADD COLUMN copy_next_page bigint NOT NULL DEFAULT 0;
