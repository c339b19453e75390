package io.pgrewrite.swap;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionWork;
import org.springframework.dao.DataAccessException;

/**
 * The copy's inserts, counted as changes of {@code P__rw}, without a second ANALYZE of the swapped-in partition.
 * Every row the copy inserted counts in the table's {@code n_mod_since_analyze}, and only an ANALYZE without a
 * column list resets it. Where pgrewrite samples some columns and carries P's statistics over for the others
 * (PostgreSQL 18: {@code pg_restore_attribute_stats}), its ANALYZE has a column list, so the counter stayed at the
 * partition's row count and autovacuum analyzed every rewritten partition again, in full, a minute or so after
 * its swap: measured on the demo table (100 000 rows a day, PostgreSQL 18), ~1.3 CPU-s a partition, about as much
 * as the rest of pgrewrite's server work on it, competing with the job for the same cores. A blocking ALTER does
 * not leave that: its rewrite counts its inserts on a transient table, and the partition's counter stays as it was.
 * <p>
 * So, when every column of the copy gets statistics from pgrewrite (copied from P or sampled), the counter is reset
 * before the copy's VACUUM: an ANALYZE without a column list while every column's statistics target is 0 (it samples
 * 100 rows, computes no column's statistics and leaves those there alone), the targets set to 0 and back in the same
 * transaction, so no one ever sees them changed and a kill leaves nothing behind. That transaction is a {@link LockRetry}
 * one (lock_timeout, idle_in_transaction_session_timeout, backoff and retry): nobody but pgrewrite uses P__rw, but a
 * DBA's manual VACUUM or ANALYZE of it, or a session that locked it, would otherwise keep it waiting unbounded, and
 * autovacuum on it is cancelled or waited out as for every other lock of ours. The VACUUM that follows sets
 * {@code reltuples} and {@code relpages} from every page, as before. Where P lacks statistics for some columns,
 * nothing changes: autovacuum's full ANALYZE then adds what the partition did not have. Nor for a small partition
 * ({@link #RESET_FROM_BYTES}).
 */
final class ChangeCounter {

    /** Each live column of P__rw with its statistics target as stored (null or -1: the default). Catalog only. */
    static final String TARGETS = """
            SELECT attname::text AS name, coalesce(attstattarget::int, -1) AS target FROM pg_attribute
             WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped ORDER BY attnum
            """;

    /**
     * One ALTER TABLE for all columns. ShareUpdateExclusiveLock on P__rw, which nobody else uses yet (it is not
     * attached, the application cannot see it); the same lock the ANALYZE takes next. Under LockRetry's lock_timeout:
     * a manual VACUUM of P__rw, or a session holding a lock on it, makes the attempt roll back and retry with backoff.
     */
    static final String SET_TARGETS = "ALTER TABLE %s %s";
    static final String SET_TARGET = "ALTER COLUMN %s SET STATISTICS %d";

    /** No column list: the only ANALYZE that resets the change counter. ShareUpdateExclusiveLock on P__rw only. */
    static final String ANALYZE = "ANALYZE %s";

    /**
     * From this heap size of P on. Below it autovacuum's full ANALYZE of the partition samples every row of a few
     * hundred pages and costs about what the reset does (two ALTER TABLEs of one subcommand a column and a 100-row
     * ANALYZE: ~20 ms of server time on the demo table, 50-70 ms on a loaded machine), and it would be added to every
     * small partition's time on the worker's path, where autovacuum's runs beside it. PostgreSQL's own default
     * threshold for planning a second process for a scan ({@code min_parallel_table_scan_size}).
     */
    static final long RESET_FROM_BYTES = 8L << 20;

    private final SqlRunner sql;
    private final LockRetry lockRetry;

    ChangeCounter(SqlRunner sql, LockRetry lockRetry) {
        this.sql = sql;
        this.lockRetry = lockRetry;
    }

    /**
     * Whether the plan leaves every column of the copy with statistics (copied or sampled) while its ANALYZE has a
     * column list or there is none: then autovacuum's ANALYZE of the swapped-in partition would only redo it.
     */
    static boolean needed(ColumnStatistics.Plan plan, List<String> columns) {
        if (plan.analyzeAll() || plan.restore().isEmpty()) {
            return false; // a full ANALYZE resets the counter itself; nothing carried over: nothing to stand in for
        }
        Set<String> covered = new LinkedHashSet<>(plan.restore());
        covered.addAll(plan.analyze());
        return covered.containsAll(columns);
    }

    /** Before the copy's VACUUM, when {@link #needed}: the counter reset, in one transaction. */
    void resetIfNeeded(PartitionWork w, ColumnStatistics.Plan plan) {
        if (w.partition().heapBytes() < RESET_FROM_BYTES) {
            return;
        }
        String rw = w.names().qRw();
        // Dry: no P__rw yet; it would have the table's columns with the targets the plan carries from P.
        List<Map<String, Object>> rows = !sql.dryRun() ? sql.queryRows(TARGETS, rw) : w.table().columns().stream()
                .map(c -> Map.<String, Object>of("name", c.name(), "target", plan.targets().getOrDefault(c.name(), -1))).toList();
        List<String> columns = new ArrayList<>();
        List<String> zero = new ArrayList<>();
        List<String> back = new ArrayList<>();
        for (Map<String, Object> r : rows) {
            String col = (String) r.get("name");
            columns.add(col);
            zero.add(String.format(SET_TARGET, Identifiers.quote(col), 0));
            back.add(String.format(SET_TARGET, Identifiers.quote(col), ((Number) r.get("target")).intValue()));
        }
        if (!needed(plan, columns)) {
            return;
        }
        FaultPoints.reach("change-counter", w.name());
        // One round trip for the three (DDL text without parameters), then the commit; P__rw only (Scope.ONLY).
        List<String> statements = List.of(String.format(SET_TARGETS, rw, String.join(", ", zero)), String.format(ANALYZE, rw),
                String.format(SET_TARGETS, rw, String.join(", ", back)));
        try {
            lockRetry.run("change counter of " + w.names().rw(), List.of(rw), LockRetry.Scope.ONLY, () -> { }, t -> {
                sql.executeAll(statements);
                return null;
            });
        } catch (DataAccessException e) {
            throw new IllegalStateException(w.name() + ": resetting the change counter of " + w.names().rw()
                    + " (ANALYZE with every statistics target 0) failed: " + e.getMostSpecificCause().getMessage()
                    + ". Run the job's restart to try again.", e);
        }
    }
}
