package io.pgrewrite.pg;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Asks the server to hand this connection's table counters (rows inserted, updated, deleted) to the shared
 * statistics when the current transaction ends, instead of up to 10 s later. PostgreSQL 15 and later flush a
 * backend's pending counters at most once a second and otherwise when it has been idle for 10 s; a copy that
 * commits a chunk every few hundred milliseconds leaves most of its inserts pending past the VACUUM and
 * ANALYZE that follow. Counted after them, they make the swapped-in partition look as if all its rows had just
 * been inserted: autovacuum then vacuums and analyzes every rewritten partition a second time (CPU that the
 * job's own work on two cores competes with) and holds locks that the job's next statements on that partition
 * wait for. {@code pg_stat_force_next_flush()} is PostgreSQL 15's; on 14 (a stats collector of its own) this
 * does nothing. Called inside the transaction that wrote the rows; the flush happens as it ends, before the
 * server answers the commit. Takes no lock.
 */
public final class StatsFlush {

    /** A DO block so that PostgreSQL 14, which has no such function, parses it too. */
    static final String REQUEST = """
            DO $$BEGIN IF current_setting('server_version_num')::int >= 150000 THEN PERFORM pg_stat_force_next_flush(); END IF; END$$
            """;

    private StatsFlush() {
    }

    public static void request(JdbcTemplate jdbc) {
        jdbc.execute(REQUEST);
    }
}
