package io.pgrewrite.job;

import java.io.PrintStream;
import java.util.List;
import java.util.Map;

import io.pgrewrite.metrics.Stage;
import io.pgrewrite.plan.Bytes;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * report: per partition rows, bytes before and after, copy time, lock wait and hold, attempts and
 * the verification; totals; peak extra disk. Everything comes from the database, so {@code status}
 * prints the same report after the process that ran the job is gone.
 */
public final class Report {

    private final JdbcTemplate jdbc;

    public Report(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public void print(PrintStream out, String jobKey, Long executionId) {
        List<Map<String, Object>> rows = new PartitionState(jdbc).all(jobKey);
        out.printf("%-28s %-9s %12s %10s %10s %9s %9s %9s %4s  %s%n", "partition", "state", "rows", "before", "after",
                "copy s", "wait ms", "hold ms", "try", "verify");
        long totalRows = 0;
        long before = 0;
        long after = 0;
        double maxHold = 0;
        for (Map<String, Object> r : rows) {
            long n = num(r.get("rows_copied"));
            totalRows += n;
            before += num(r.get("bytes_before"));
            after += num(r.get("bytes_after"));
            double hold = r.get("lock_hold_ms") == null ? 0 : ((Number) r.get("lock_hold_ms")).doubleValue();
            maxHold = Math.max(maxHold, hold);
            // The same words as status and the progress output (done, not swapped / retired).
            out.printf("%-28s %-9s %12d %10s %10s %9.1f %9s %9s %4s  %s%n", r.get("partition_name"),
                    Stage.of((String) r.get("state"), null).word(), n,
                    Bytes.format(num(r.get("bytes_before"))), r.get("bytes_after") == null ? "-" : Bytes.format(num(r.get("bytes_after"))),
                    num(r.get("copy_ms")) / 1000.0, ms(r.get("lock_wait_ms")), ms(r.get("lock_hold_ms")),
                    r.get("swap_attempts") == null ? "-" : r.get("swap_attempts"),
                    r.get("verify_result") == null ? "-" : r.get("verify_result"));
        }
        out.printf("total: %d partitions, %d rows, %s before, %s after, longest lock hold %.1f ms", rows.size(), totalRows,
                Bytes.format(before), Bytes.format(after), maxHold);
        if (executionId != null) {
            out.printf(", peak extra disk %s", Bytes.format(DiskSampler.recordedPeak(jdbc, executionId)));
        }
        out.println();
        long pendingStatistics = io.pgrewrite.swap.PendingStatistics.countPending(jdbc, jobKey);
        if (pendingStatistics > 0) {
            out.println("statistics: " + pendingStatistics + " pending (swapped partitions whose ANALYZE has not committed;"
                    + " sampled before contract)");
        }
        List<String> gone = rows.stream().filter(r -> PartitionState.GONE.equals(r.get("state")))
                .map(r -> (String) r.get("partition_name")).toList();
        if (!gone.isEmpty()) {
            out.println("gone: " + String.join(", ", gone) + " (dropped or detached by someone else while the job ran: skipped)");
        }
        List<String> others = jdbc.queryForList(NOT_IN_JOB, String.class, jobKey.substring(jobKey.indexOf('@') + 1), jobKey);
        if (!others.isEmpty() && !rows.isEmpty()) {
            out.println("not rewritten by this job: " + String.join(", ", others) + " (outside partitions.from/to, or created"
                    + " after the job listed its partitions; they have the parent's columns as they are now)");
        }
    }

    /** Partitions of the job's table (the key is name@schema.table) this job has no row for. Catalog and our table, no lock. */
    static final String NOT_IN_JOB = """
            SELECT c.relname FROM pg_inherits i
              JOIN pg_class c ON c.oid = i.inhrelid
              JOIN pg_class t ON t.oid = i.inhparent
              JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname || '.' || t.relname = ?
               AND NOT EXISTS (SELECT 1 FROM pgrewrite.partition_state s WHERE s.job_key = ? AND s.partition_name = c.relname)
             ORDER BY c.relname
            """;

    private static long num(Object o) {
        return o == null ? 0 : ((Number) o).longValue();
    }

    private static String ms(Object o) {
        return o == null ? "-" : String.format("%.1f", ((Number) o).doubleValue());
    }
}
