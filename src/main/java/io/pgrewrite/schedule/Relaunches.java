package io.pgrewrite.schedule;

import io.pgrewrite.definition.JobDefinition;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The relaunch limit, counted in the JobRepository (so every scheduler process, and {@code status},
 * count the same): a job instance whose executions failed {@code n} times has been relaunched
 * {@code n - 1} times. The scheduler restarts a failed execution at the next trigger while that is
 * below {@code schedule.max-relaunches}; after that the job waits for an operator.
 */
public final class Relaunches {

    static final String FAILURES = """
            SELECT count(*) FROM pgrewrite.batch_job_execution WHERE job_instance_id = ? AND status = 'FAILED'
            """;

    private Relaunches() {
    }

    public static long failures(JdbcTemplate jdbc, long jobInstanceId) {
        return jdbc.queryForObject(FAILURES, Long.class, jobInstanceId);
    }

    /** Relaunches done so far, given the failures. */
    public static long done(long failures) {
        return Math.max(0, failures - 1);
    }

    /** Whether the scheduler may restart the failed instance once more. */
    public static boolean allowed(JobDefinition.Schedule schedule, long failures) {
        return done(failures) < schedule.maxRelaunches();
    }
}
