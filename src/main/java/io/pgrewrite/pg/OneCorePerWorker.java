package io.pgrewrite.pg;

/**
 * A partition's statements run on one core each: PostgreSQL's parallel plans are off for verify's
 * scans, the index builds and the VACUUM of the copy. The job's concurrency is {@code workers} (and
 * beside each worker its background ANALYZE), the cores the operator gave it; parallel workers on top
 * take cores the operator did not give it (the application's), and on a machine the job already keeps
 * busy they only add work: measured on the demo partition (100 000 rows, PostgreSQL 15, 2 cores), a
 * checksum scan took 280 ms of CPU with its Gather's 2 workers against 230 ms alone, a unique btree build
 * 110-140 ms against 60-90 ms, and the copy's VACUUM 50-70 ms (parallel index cleanup) against 30-40 ms;
 * on 10 such partitions with {@code workers: 2} the whole server spent ~1.4 CPU-s less (27.4 against 26.0).
 * Whoever has idle cores gets more from another worker than from parallel plans inside one: two
 * partitions at once need no Gather and no shared-memory set-up.
 * <p>
 * Verify reads its two sides at once all the same, each a plain scan on one core in a backend of its own (the
 * copy's on a second pooled connection, in the snapshot the first exports): no Gather and no worker to start,
 * so it costs no CPU beyond the two scans (a parallel worker for one side cost ~10 % more, its start-up), and
 * where all cores are busy the second scan only waits its turn. With fewer workers than cores it halves
 * verify's wall time on the worker's path (see swap/Verify). The index phase shares its builds the same way: with two
 * or more indexes to build, a share of them runs on a second connection, one core each (see swap/IndexBuild).
 */
public final class OneCorePerWorker {

    /** Verify's snapshot transactions (one a side): their scans without Gather. No lock; ends with the transaction. */
    public static final String SCANS = "SET LOCAL max_parallel_workers_per_gather = 0";

    /** The index phase's transaction: CREATE INDEX builds in the backend alone. No lock; ends with the transaction. */
    public static final String BUILDS = "SET LOCAL max_parallel_maintenance_workers = 0";

    /**
     * With the index builds shared between two connections, each transaction's builds get half of maintenance_work_mem
     * (at least its minimum, 1 MB): the two at once use no more memory than one build used alone, as a parallel
     * CREATE INDEX shares it between its processes. No lock; ends with the transaction.
     */
    public static final String HALF_THE_BUILD_MEMORY = "SELECT set_config('maintenance_work_mem',"
            + " greatest(1024, pg_size_bytes(current_setting('maintenance_work_mem')) / 2048)::text || 'kB', true)";

    /** VACUUM's option (PostgreSQL 13+) for the same, in a statement that cannot run in a transaction block. */
    public static final String VACUUM_OPTION = "PARALLEL 0";

    private OneCorePerWorker() {
    }
}
