package io.pgrewrite.job;

import org.springframework.batch.core.job.JobInterruptedException;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.core.step.StepInterruptionPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether someone asked the job to stop (and, at a chunk boundary, whether to hold there: {@link Steering}): {@code pgrewrite stop}, or the scheduler at the end of a
 * maintenance window, both through Spring Batch's JobOperator.stop, which only marks the job's
 * execution in the JobRepository (STOPPING, or STOPPED already, as it records an end time). The partitions' steps run on other threads (or remote workers) and would
 * never see that mark: this polls it (at most once a second for all workers of the process, with the job's controls: {@link Steering}) and
 * <ul>
 * <li>no new partition starts ({@link PartitionJobStep} asks before it starts one);</li>
 * <li>a partition copying stops at its next chunk boundary (checked before each chunk):
 *     the chunk in flight commits, and a restart resumes after it;</li>
 * <li>a partition past its copy finishes (index, catch up, verify, swap and retire are short).</li>
 * </ul>
 */
public final class StopRequest implements StepInterruptionPolicy {

    private static final Logger log = LoggerFactory.getLogger(StopRequest.class);

    private final Steering steering;
    private final String jobKey;
    private boolean requested;

    StopRequest(Steering steering, String jobKey) {
        this.steering = steering;
        this.jobKey = jobKey;
    }

    /** The job's controls, polled together with the status. */
    Steering steering() {
        return steering;
    }

    /** True once the job's execution is marked STOPPING; stays true for the life of this run. */
    public synchronized boolean requested() {
        if (!requested) {
            // JobOperator.stop marks it STOPPING with an end time, which the JobRepository turns into STOPPED
            // at once: either, while this process still runs the execution, means "stop".
            String s = steering.status();
            requested = "STOPPING".equals(s) || "STOPPED".equals(s);
        }
        return requested;
    }

    /**
     * Before each chunk's transaction: holds while the execution is paused or throttled (no transaction
     * open, nothing locked), then stops the copy if a stop was asked for.
     */
    @Override
    public void checkInterrupted(StepExecution stepExecution) throws JobInterruptedException {
        String logged = null;
        for (String why = steering.copyHeldBy(); why != null && !Thread.currentThread().isInterrupted() && !requested();
                why = steering.copyHeldBy()) {
            if (!Steering.same(why, logged)) {
                log.info("{}: the copy holds at a chunk boundary: {}", stepName(stepExecution), why);
                logged = why;
            }
            try {
                Thread.sleep(Steering.WAIT_STEP.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (logged != null && !requested()) {
            log.info("{}: the copy goes on", stepName(stepExecution));
        }
        if (Thread.currentThread().isInterrupted() || requested()) {
            // Without terminateOnly the step would end COMPLETED with its copy half done.
            stepExecution.setTerminateOnly();
            throw new JobInterruptedException("Stop requested: " + jobKey + " stops at a chunk boundary");
        }
    }

    private static String stepName(StepExecution se) {
        String p = se.getJobExecution().getJobParameters().getString(PartitionJobStep.PARTITION);
        return p == null ? se.getStepName() : p;
    }
}
