package io.pgrewrite.job;

import java.util.List;
import java.util.Map;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Bookkeeping in {@code pgrewrite.partition_state}: where each partition of a job stands, and the
 * figures the report prints. The swap's row is written inside the swap transaction, so "swapped"
 * is never recorded for a swap that rolled back, nor missing for one that committed.
 */
public final class PartitionState {

    public static final String CAPTURING = "capturing";
    public static final String COPYING = "copying";
    public static final String INDEXED = "indexed";
    public static final String VERIFIED = "verified";
    public static final String SWAPPED = "swapped";
    public static final String RETIRED = "retired";
    public static final String FAILED = "failed";
    /** Dropped (or detached) by someone else while the job ran: skipped, nothing left to rewrite. */
    public static final String GONE = "gone";

    static final String UPSERT_STATE = """
            INSERT INTO pgrewrite.partition_state (job_key, partition_name, state) VALUES (?, ?, ?)
            ON CONFLICT (job_key, partition_name) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
            """;

    static final String SET_FIGURES = """
            UPDATE pgrewrite.partition_state SET %s = ?, updated_at = now() WHERE job_key = ? AND partition_name = ?
            """;

    static final String GET = "SELECT * FROM pgrewrite.partition_state WHERE job_key = ? AND partition_name = ?";
    static final String ALL = "SELECT * FROM pgrewrite.partition_state WHERE job_key = ? ORDER BY partition_name";

    private static final List<String> FIGURES = List.of("rows_copied", "rows_total", "bytes_before", "bytes_after",
            "copy_ms", "verify_result", "lock_wait_ms", "lock_hold_ms", "swap_attempts");

    private final JdbcTemplate jdbc;

    public PartitionState(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public void set(String jobKey, String partition, String state) {
        jdbc.update(UPSERT_STATE, jobKey, partition, state);
    }

    /** Sets one of the report's figures; the column name is checked against a fixed list, never taken from input. */
    public void figure(String jobKey, String partition, String column, Object value) {
        if (!FIGURES.contains(column)) {
            throw new IllegalArgumentException("not a partition_state figure: " + column);
        }
        jdbc.update(String.format(SET_FIGURES, column), value, jobKey, partition);
    }

    public String state(String jobKey, String partition) {
        List<String> s = jdbc.queryForList("SELECT state FROM pgrewrite.partition_state WHERE job_key = ? AND partition_name = ?",
                String.class, jobKey, partition);
        return s.isEmpty() ? null : s.get(0);
    }

    public List<Map<String, Object>> all(String jobKey) {
        return jdbc.queryForList(ALL, jobKey);
    }
}
