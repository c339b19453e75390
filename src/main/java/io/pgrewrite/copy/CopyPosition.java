package io.pgrewrite.copy;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The copy's progress in {@code pgrewrite.partition_state}: rows copied and the first page not yet
 * copied. Written by each chunk inside its own transaction, so it is exactly as far as the rows are.
 */
public final class CopyPosition {

    static final String ADVANCE = """
            UPDATE pgrewrite.partition_state SET rows_copied = rows_copied + ?, copy_next_page = ?, updated_at = now()
             WHERE job_key = ? AND partition_name = ?
            """;
    static final String RESET = """
            UPDATE pgrewrite.partition_state SET rows_copied = 0, copy_next_page = 0, updated_at = now()
             WHERE job_key = ? AND partition_name = ?
            """;
    static final String NEXT_PAGE = """
            SELECT coalesce(max(copy_next_page), 0) FROM pgrewrite.partition_state WHERE job_key = ? AND partition_name = ?
            """;

    private final JdbcTemplate jdbc;

    public CopyPosition(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    void advance(String jobKey, String partition, long rows, long nextPage) {
        jdbc.update(ADVANCE, rows, nextPage, jobKey, partition);
    }

    /** A new working copy starts from page 0 and zero rows: sent with the other statements of {@code writes}. */
    public void reset(io.pgrewrite.pg.RoundTrip writes, String jobKey, String partition) {
        writes.update(RESET, jobKey, partition);
    }

    long nextPage(String jobKey, String partition) {
        return jdbc.queryForObject(NEXT_PAGE, Long.class, jobKey, partition);
    }
}
