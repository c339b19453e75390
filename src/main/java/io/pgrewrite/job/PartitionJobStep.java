package io.pgrewrite.job;

import java.util.function.Function;

import io.pgrewrite.plan.PartitionList;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.ExitStatus;
import org.springframework.batch.core.job.JobInterruptedException;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.AbstractStep;
import org.springframework.batch.core.step.StepExecution;

/**
 * The worker step of {@code rewrite}: runs the partition's phases ({@link PartitionJob}) under the
 * partition's advisory lock and a worker slot (see {@link PartitionLocks}), and reports their outcome. A
 * partition costs this one step execution in the JobRepository; a restart runs the phases again, each of
 * which continues from what the catalog and {@code pgrewrite.partition_state} say was done.
 */
final class PartitionJobStep extends AbstractStep {

    static final String JOB_KEY = "job.key";
    static final String PARTITION = "partition";

    private final String jobKey;
    private final Function<String, PartitionJob> partitionJobs;
    private final javax.sql.DataSource dataSource;
    private final java.util.function.IntSupplier workers;
    private final StopRequest stop;

    PartitionJobStep(String name, JobRepository repository, String jobKey, Function<String, PartitionJob> partitionJobs,
            javax.sql.DataSource dataSource, java.util.function.IntSupplier workers, StopRequest stop) {
        super(name);
        setJobRepository(repository);
        this.jobKey = jobKey;
        this.partitionJobs = partitionJobs;
        this.dataSource = dataSource;
        this.workers = workers;
        this.stop = stop;
    }

    @Override
    protected void doExecute(StepExecution se) throws Exception {
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
