package io.pgrewrite.job;

import java.util.List;

import org.springframework.batch.core.job.JobInterruptedException;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.core.step.StepInterruptionPolicy;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Whether someone asked the job to stop: {@code pgrewrite stop}, or the scheduler at the end of a
 * maintenance window, both through Spring Batch's JobOperator.stop, which only marks the job's
 * execution in the JobRepository (STOPPING, or STOPPED already, as it records an end time). The partitions run as jobs of their own, so they would
 * never see that mark: this polls it (at most once a second for all workers of the process) and
 * <ul>
 * <li>no new partition starts ({@link PartitionJobStep} asks before it starts one);</li>
 * <li>a partition copying stops at its next chunk boundary (the copy step's interruption policy):
 *     the chunk in flight commits, and a restart resumes after it;</li>
 * <li>a partition past its copy finishes (index, catch up, verify, swap and retire are short).</li>
 * </ul>
 */
public final class StopRequest implements StepInterruptionPolicy {

    /** The status of the job's latest execution; read from the JobRepository's tables, no lock taken. */
    static final String LATEST_STATUS = """
            SELECT e.status FROM pgrewrite.batch_job_execution e
              JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
              JOIN pgrewrite.batch_job_execution_params p ON p.job_execution_id = e.job_execution_id
             WHERE i.job_name = ? AND p.parameter_name = ? AND p.parameter_value = ?
             ORDER BY e.job_execution_id DESC LIMIT 1
            """;

    private static final long POLL_NANOS = 1_000_000_000L;

    private final JdbcTemplate jdbc;
    private final String jobKey;
    private long checkedAt;
    private boolean requested;

    public StopRequest(JdbcTemplate jdbc, String jobKey) {
        this.jdbc = jdbc;
        this.jobKey = jobKey;
    }

    /** True once the job's execution is marked STOPPING; stays true for the life of this run. */
    public synchronized boolean requested() {
        if (!requested && (checkedAt == 0 || System.nanoTime() - checkedAt > POLL_NANOS)) {
            checkedAt = System.nanoTime();
            List<String> s = jdbc.queryForList(LATEST_STATUS, String.class, RewriteJob.NAME, RewriteJob.JOB_KEY, jobKey);
            // JobOperator.stop marks it STOPPING with an end time, which the JobRepository turns into STOPPED
            // at once: either, while this process still runs the execution, means "stop".
            requested = !s.isEmpty() && ("STOPPING".equals(s.get(0)) || "STOPPED".equals(s.get(0)));
        }
        return requested;
    }

    @Override
    public void checkInterrupted(StepExecution stepExecution) throws JobInterruptedException {
        if (Thread.currentThread().isInterrupted() || requested()) {
            // Without terminateOnly the step would end COMPLETED with its copy half done.
            stepExecution.setTerminateOnly();
            throw new JobInterruptedException("Stop requested: " + jobKey + " stops at a chunk boundary");
        }
    }
}
