package io.pgrewrite.remote;

import java.util.List;

import org.springframework.jdbc.core.JdbcTemplate;

/** Worker heartbeats per partition attempt (step execution), in {@code pgrewrite.heartbeat}. */
final class Heartbeats {

    static final String BEAT = """
            INSERT INTO pgrewrite.heartbeat (step_execution_id, worker) VALUES (?, ?)
            ON CONFLICT (step_execution_id) DO UPDATE SET worker = EXCLUDED.worker, beat_at = now()
            """;
    static final String DONE = "DELETE FROM pgrewrite.heartbeat WHERE step_execution_id = ?";
    /** Age by the database's clock, so hosts with skewed clocks agree. */
    static final String AGE = "SELECT extract(epoch FROM now() - beat_at) FROM pgrewrite.heartbeat WHERE step_execution_id = ?";

    private final JdbcTemplate jdbc;

    Heartbeats(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    void beat(long stepExecutionId, String worker) {
        jdbc.update(BEAT, stepExecutionId, worker);
    }

    void done(long stepExecutionId) {
        jdbc.update(DONE, stepExecutionId);
    }

    /** Seconds since the last beat, or null when no worker ever took this attempt. */
    Double age(long stepExecutionId) {
        List<Double> a = jdbc.queryForList(AGE, Double.class, stepExecutionId);
        return a.isEmpty() ? null : a.get(0);
    }
}
