package io.pgrewrite.job;

import java.time.LocalDateTime;
import java.util.function.Function;

import io.pgrewrite.plan.PartitionList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.ExitStatus;
import org.springframework.batch.core.SpringBatchVersion;
import org.springframework.batch.core.job.JobInterruptedException;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.AbstractStep;
import org.springframework.batch.core.step.Step;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The worker step of {@code rewrite}: runs the partition's phases ({@link PartitionJob}) under the
 * partition's advisory lock and a worker slot (see {@link PartitionLocks}), and reports their outcome. A
 * partition costs this one step execution in the JobRepository; a restart runs the phases again, each of
 * which continues from what the catalog and {@code pgrewrite.partition_state} say was done.
 *
 * <p>It records itself in the JobRepository as {@link AbstractStep} does (started; then its end, status, exit
 * status and context), in two transactions instead of five: AbstractStep saves the end twice (before and after
 * its listeners, this step has none), each save of the execution and of its context a transaction of its own (a
 * commit, a WAL flush, on the partition's critical path), and it opens a Micrometer observation and a JFR event
 * per step that nothing here reads (pgrewrite's own figures are in {@code pgrewrite.partition_state}).
 */
final class PartitionJobStep implements Step {

    private static final Logger log = LoggerFactory.getLogger(AbstractStep.class);

    static final String JOB_KEY = "job.key";
    static final String PARTITION = "partition";

    private final String name;
    private final JobRepository repository;
    private final TransactionTemplate tx;
    private final String jobKey;
    private final Function<String, PartitionJob> partitionJobs;
    private final javax.sql.DataSource dataSource;
    private final java.util.function.IntSupplier workers;
    private final StopRequest stop;

    /** @param tx the JobRepository's transaction manager's: the end's two saves join one transaction */
    PartitionJobStep(String name, JobRepository repository, TransactionTemplate tx, String jobKey,
            Function<String, PartitionJob> partitionJobs, javax.sql.DataSource dataSource, java.util.function.IntSupplier workers,
            StopRequest stop) {
        this.name = name;
        this.repository = repository;
        this.tx = tx;
        this.jobKey = jobKey;
        this.partitionJobs = partitionJobs;
        this.dataSource = dataSource;
        this.workers = workers;
        this.stop = stop;
    }

    @Override
    public String getName() {
        return name;
    }

    /**
     * What {@link AbstractStep#execute} does for a step without listeners, streams or step scope: STARTED saved
     * before the work, the outcome (COMPLETED, STOPPED for an interruption, FAILED with the exception) after it.
     */
    @Override
    public void execute(StepExecution se) throws JobInterruptedException {
        se.getExecutionContext().put(SpringBatchVersion.BATCH_VERSION_KEY, SpringBatchVersion.getVersion());
        se.setStartTime(LocalDateTime.now());
        se.setStatus(BatchStatus.STARTED);
        repository.update(se);
        ExitStatus exitStatus = ExitStatus.EXECUTING;
        try {
            doExecute(se);
            exitStatus = ExitStatus.COMPLETED.and(se.getExitStatus());
            if (se.isTerminateOnly()) { // the job was marked stopping when STARTED was saved
                throw new JobInterruptedException("JobExecution interrupted.");
            }
            se.upgradeStatus(BatchStatus.COMPLETED);
        } catch (Throwable e) {
            boolean interrupted = e instanceof JobInterruptedException || e.getCause() instanceof JobInterruptedException;
            se.upgradeStatus(interrupted ? BatchStatus.STOPPED : BatchStatus.FAILED);
            exitStatus = exitStatus.and(interrupted ? ExitStatus.STOPPED.addExitDescription(JobInterruptedException.class.getName())
                    : ExitStatus.FAILED.addExitDescription(e));
            se.addFailureException(e);
            if (interrupted) {
                log.info("Encountered interruption executing step {}: {}", name, e.getMessage());
            } else {
                log.error("Encountered an error executing step {}", name, e);
            }
        } finally {
            se.setEndTime(LocalDateTime.now());
            se.setExitStatus(exitStatus.and(se.getExitStatus()));
            try {
                tx.executeWithoutResult(s -> {
                    repository.update(se);
                    repository.updateExecutionContext(se);
                });
            } catch (RuntimeException e) {
                se.setStatus(BatchStatus.UNKNOWN);
                se.setExitStatus(se.getExitStatus().and(ExitStatus.UNKNOWN));
                se.addFailureException(e);
                log.error("Encountered an error saving batch meta data for step {}. This job is now in an unknown state and"
                        + " should not be restarted.", name, e);
            }
        }
    }

    private void doExecute(StepExecution se) throws Exception {
        String partition = se.getExecutionContext().getString(PartitionList.PARTITION);
        try (PartitionLocks locks = PartitionLocks.acquire(dataSource, jobKey, partition, workers)) {
            runPartition(se, partition);
        }
    }

    private void runPartition(StepExecution se, String partition) throws Exception {
        if (stop.requested()) {
            // Stop requested (stop, end of the window): no new partition starts; restart continues it.
            se.setStatus(BatchStatus.STOPPED);
            se.setExitStatus(new ExitStatus("STOPPED", partition + ": not started, the job was asked to stop"));
            return;
        }
        try {
            partitionJobs.apply(partition).run(se);
        } catch (JobInterruptedException e) {
            stopped(se, Failures.message(e));
        } catch (RuntimeException e) {
            String why = Failures.message(e);
            if (interrupted(e)) {
                stopped(se, why);
                return;
            }
            se.setExitStatus(new ExitStatus("FAILED", why));
            throw new PartitionFailedException(why, e);
        }
    }

    private static void stopped(StepExecution se, String why) {
        se.setStatus(BatchStatus.STOPPED);
        se.setExitStatus(new ExitStatus("STOPPED", why));
    }

    /** A stop met inside a phase (the disk budget's wait, the wait for a swap) ends the partition STOPPED. */
    private static boolean interrupted(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof JobInterruptedException) {
                return true;
            }
        }
        return false;
    }

    /** A partition did not complete; the message is its first failure's. */
    static final class PartitionFailedException extends RuntimeException {
        PartitionFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
