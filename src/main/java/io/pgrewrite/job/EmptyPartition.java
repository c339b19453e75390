package io.pgrewrite.job;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.Operation;
import io.pgrewrite.plan.Partition;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A partition with nothing to rewrite is not copied: no capture, no copy, no swap (the daily partitions
 * made ahead, a day nobody wrote to). Why that is safe, per operation:
 * <ul>
 * <li>add-column, alter-column-type: expand committed before any partition runs, and it took ACCESS
 *     EXCLUSIVE on the parent and every partition, so every transaction that wrote into P before it had
 *     committed (its rows are visible now) or rolled back; every row written into P from then on passed the
 *     sync trigger, which computes the new column. So when no row is visible now, every row P will ever hold
 *     has its new value, as rows written into a swapped partition do. P is recorded {@code empty}, not
 *     swapped: contract reads it again before dropping the old column ({@code refuseUnfilledPartitions}),
 *     and refuses if a row lacks its value after all.</li>
 * <li>compact, drop-column: a heap of zero pages holds no row, live or dead, nothing to give back; with
 *     {@code storage:} set the partition is rewritten anyway (its new parameters).</li>
 * <li>backfill: rewritten as always (no sync trigger sets its columns on rows written meanwhile).</li>
 * </ul>
 * Only a partition this job never started on is skipped; one with a copy under way goes the usual way.
 */
final class EmptyPartition {

    /** AccessShareLock on P, for one index-less probe of one row. */
    static final String NO_ROWS = "SELECT NOT EXISTS (SELECT 1 FROM ONLY %s)";

    /** Catalog and file size only (pg_relation_size takes AccessShareLock on P for a moment). */
    static final String NO_PAGES = "SELECT pg_relation_size(to_regclass(?)) = 0";

    /** Recorded with its sizes and why, in one statement, so status and the report show it done. */
    static final String RECORD = """
            INSERT INTO pgrewrite.partition_state (job_key, partition_name, state, rows_copied, bytes_before, bytes_after,
                   copy_ms, verify_result)
            VALUES (?, ?, 'empty', 0, ?, ?, 0, ?)
            ON CONFLICT (job_key, partition_name) DO UPDATE SET state = EXCLUDED.state, rows_copied = 0,
                   bytes_before = EXCLUDED.bytes_before, bytes_after = EXCLUDED.bytes_after, copy_ms = 0,
                   verify_result = EXCLUDED.verify_result, updated_at = now()
            """;

    private EmptyPartition() {
    }

    /** Whether P has nothing to rewrite; recorded as {@code empty} when so. */
    static boolean skip(JdbcTemplate jdbc, JobDefinition def, Partition p) {
        Operation op = def.operation();
        String why;
        if (op.changesShape()) {
            if (!Boolean.TRUE.equals(jdbc.queryForObject(String.format(NO_ROWS, p.qualified()), Boolean.class))) {
                return false;
            }
            why = "empty: no rows, and rows written from now on get their new value from the sync trigger";
        } else if ((op == Operation.COMPACT || op == Operation.DROP_COLUMN) && def.storage().isEmpty()) {
            if (!Boolean.TRUE.equals(jdbc.queryForObject(NO_PAGES, Boolean.class, p.qualified()))) {
                return false;
            }
            why = "empty: no pages, nothing to rewrite";
        } else {
            return false;
        }
        jdbc.update(RECORD, def.jobKey(), p.name(), p.totalBytes(), p.totalBytes(), why);
        return true;
    }
}
