-- pgrewrite's own state. Everything the engine needs to continue after a crash is here or in
-- the catalog (P__rw, P__old, triggers, shadow columns), never only in memory.

-- One row per partition a job has started on. Written in the same transaction as the step it
-- records (the swap's row is committed together with the swap), so it is never ahead of the catalog.
CREATE TABLE partition_state (
    job_key         text        NOT NULL,   -- job name + table: what a restart continues
    partition_name  text        NOT NULL,
    state           text        NOT NULL,   -- capturing, copying, indexed, verified, swapped, retired, failed
    rows_copied     bigint      NOT NULL DEFAULT 0,
    rows_total      bigint,
    bytes_before    bigint,
    bytes_after     bigint,
    copy_ms         bigint,
    verify_result   text,
    lock_wait_ms    double precision,
    lock_hold_ms    double precision,
    swap_attempts   integer,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_key, partition_name)
);

-- Extra disk reserved by partitions in flight, across all processes of all jobs on this database.
-- A partition reserves before its copy starts and releases when its old copy is dropped.
CREATE TABLE disk_reservation (
    job_key         text        NOT NULL,
    partition_name  text        NOT NULL,
    bytes           bigint      NOT NULL,
    reserved_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_key, partition_name)
);

-- Rows whose value the sync trigger could not compute (the cast failed). The application's write
-- succeeded with the shadow column NULL; contract refuses to run while rows are here.
CREATE TABLE sync_error (
    id              bigserial   PRIMARY KEY,
    job_key         text        NOT NULL,
    table_name      text        NOT NULL,
    row_key         text        NOT NULL,
    message         text        NOT NULL,
    at              timestamptz NOT NULL DEFAULT now()
);

-- Samples of pg_database_size taken during a run, for the peak extra disk in the report.
CREATE TABLE disk_sample (
    job_execution_id bigint      NOT NULL,
    at               timestamptz NOT NULL DEFAULT now(),
    database_bytes   bigint      NOT NULL
);
CREATE INDEX disk_sample_execution ON disk_sample (job_execution_id);
