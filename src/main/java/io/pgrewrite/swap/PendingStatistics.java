package io.pgrewrite.swap;

import java.util.List;

import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.plan.PartitionWork;

/**
 * {@code statistics: after-swap}: the sampling of a rewritten partition's statistics moved from before its
 * swap (the copy's {@code VACUUM (ANALYZE)}, ~2× the copy's time on the demo table) to after it, where it
 * runs on a connection of its own while the worker copies the next partition. What is still to sample is
 * recorded in {@code pgrewrite.partition_state} when the copy is vacuumed (statistics = 'pending',
 * analyze_columns), and 'done' is committed in the ANALYZE's own transaction, so a kill anywhere between
 * the swap and the ANALYZE leaves a row that says so; {@link #swappedPending} finds them before contract.
 */
public final class PendingStatistics {

    public static final String PENDING = "pending";
    public static final String DONE = "done";

    /**
     * Our own table only. Written after the copy's VACUUM: 'pending' with the columns to sample (NULL: all,
     * an ANALYZE without a column list, the only one that resets the change counter), 'done' when nothing is
     * left to sample (PostgreSQL 18 copied every column's), NULL when the VACUUM sampled them (before-swap).
     * With the partition's new state when the index phase ends here (NULL: unchanged): one commit for both.
     */
    static final String RECORD = """
            UPDATE pgrewrite.partition_state SET statistics = ?, analyze_columns = ?, state = coalesce(?::text, state),
                   updated_at = now()
             WHERE job_key = ? AND partition_name = ?
            """;

    /** What is still to sample for a partition; read after {@link #LOCK} is held, so a second analyzer sees 'done'. */
    static final String STILL_PENDING = """
            SELECT analyze_columns FROM pgrewrite.partition_state
             WHERE job_key = ? AND partition_name = ? AND statistics = 'pending'
            """;

    /** Catalog only, no lock: a partition dropped by a retention job meanwhile has nothing to sample. */
    static final String GONE = "SELECT to_regclass(?) IS NULL";

    /** In the ANALYZE's transaction: it committed, or neither did. */
    static final String MARK_DONE = """
            UPDATE pgrewrite.partition_state SET statistics = 'done', analyze_ms = ?, updated_at = now()
             WHERE job_key = ? AND partition_name = ?
            """;

    /** Swapped-in partitions of the job whose ANALYZE has not committed (killed, failed, or on a remote worker). */
    static final String SWAPPED_PENDING = """
            SELECT partition_name FROM pgrewrite.partition_state
             WHERE job_key = ? AND statistics = 'pending' AND state IN ('swapped', 'retired')
             ORDER BY partition_name
            """;

    static final String COUNT_PENDING = """
            SELECT count(*) FROM pgrewrite.partition_state
             WHERE job_key = ? AND statistics = 'pending' AND state IN ('swapped', 'retired')
            """;

    /**
     * ShareUpdateExclusiveLock on the swapped-in partition only (not the parent, not its siblings): the
     * application's reads and writes do not conflict with it, the next partition's swap (the parent, that
     * partition and its copy) does not either. It conflicts with autovacuum on P and with another ANALYZE of
     * P (a remote worker's, or this process's before contract): lock_timeout and LockRetry bound the wait,
     * and whoever comes second finds 'done' and does nothing. Contract (ACCESS EXCLUSIVE on every
     * partition) waits for these first.
     */
    static final String LOCK = "LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE";

    /** Under {@link #LOCK}; in a transaction, so 'done' commits with the statistics. */
    static final String ANALYZE = "ANALYZE %s%s";

    private final SqlRunner sql;
    private final LockRetry lockRetry;
    /** Dry run: the columns the plan would sample after the swap, for {@link #printAfterSwap}. */
    private List<String> dryRunColumns;

    PendingStatistics(SqlRunner sql, LockRetry lockRetry) {
        this.sql = sql;
        this.lockRetry = lockRetry;
    }

    /** After the copy's VACUUM without ANALYZE: what the swapped-in partition still needs sampled. */
    void recordPending(PartitionWork w, ColumnStatistics.Plan plan, String state) {
        boolean nothing = !plan.analyzeAll() && plan.analyze().isEmpty();
        if (sql.dryRun()) {
            dryRunColumns = plan.analyze(); // null: all; empty: nothing
            return;
        }
        sql.jdbc().update(RECORD, nothing ? DONE : PENDING,
                plan.analyzeAll() || nothing ? null : plan.analyze().toArray(String[]::new), state, w.jobKey(), w.name());
    }

    /** After the copy's VACUUM (ANALYZE): nothing is pending (a restart may have changed after-swap to before-swap). */
    void recordSampled(PartitionWork w, String state) {
        if (!sql.dryRun()) {
            sql.jdbc().update(RECORD, null, null, state, w.jobKey(), w.name());
        }
    }

    /** The statements the background ANALYZE runs after the swap, for {@code plan --dry-run}. */
    public void printAfterSwap(PartitionNames n) {
        if (dryRunColumns != null && dryRunColumns.isEmpty()) {
            return;
        }
        sql.print("BEGIN");
        sql.print(String.format(LOCK, n.qPartition()));
        sql.print(String.format(ANALYZE, n.qPartition(), dryRunColumns == null ? "" : " (" + Identifiers.list(dryRunColumns) + ")"));
        sql.print("COMMIT");
    }

    /**
     * ANALYZE of the swapped-in partition {@code n.partition()} as its row says, and 'done' in the same
     * transaction. Nothing when it is not pending (any more) or the partition is gone. Returns whether it ran.
     */
    public boolean analyze(String jobKey, PartitionNames n) {
        return lockRetry.run("statistics of " + n.partition(), List.of(n.qPartition()), LockRetry.Scope.ONLY, () -> { }, t -> {
            if (sql.queryOne(GONE, Boolean.class, n.qPartition())) {
                sql.jdbc().update(MARK_DONE, 0L, jobKey, n.partition()); // dropped by a retention job: nothing to sample
                return false;
            }
            sql.execute(String.format(LOCK, n.qPartition()));
            t.locked();
            List<String[]> cols = sql.jdbc().query(STILL_PENDING, (rs, i) -> {
                java.sql.Array a = rs.getArray(1);
                return a == null ? null : (String[]) a.getArray();
            }, jobKey, n.partition());
            if (cols.isEmpty()) {
                return false; // done meanwhile (by another process), or never pending
            }
            long start = System.currentTimeMillis();
            String[] c = cols.get(0);
            sql.execute(String.format(ANALYZE, n.qPartition(), c == null ? "" : " (" + Identifiers.list(List.of(c)) + ")"));
            sql.jdbc().update(MARK_DONE, System.currentTimeMillis() - start, jobKey, n.partition());
            return true;
        }).value();
    }

    /** The job's swapped-in partitions whose statistics are still to sample. */
    public List<String> swappedPending(String jobKey) {
        return sql.jdbc().queryForList(SWAPPED_PENDING, String.class, jobKey);
    }

    /** How many of them there are (status, the report). */
    public static long countPending(org.springframework.jdbc.core.JdbcTemplate jdbc, String jobKey) {
        Long n = jdbc.queryForObject(COUNT_PENDING, Long.class, jobKey);
        return n == null ? 0 : n;
    }
}
