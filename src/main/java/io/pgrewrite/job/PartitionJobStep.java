package io.pgrewrite.job;

import java.util.function.Function;

import io.pgrewrite.plan.PartitionList;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.ExitStatus;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.parameters.JobParameters;
import org.springframework.batch.core.job.parameters.JobParametersBuilder;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.AbstractStep;
import org.springframework.batch.core.step.StepExecution;

/**
 * The worker step of {@code rewrite}: runs the partition's own job ({@link PartitionJob}) and reports
 * its outcome. Like Spring Batch's JobStep, but a partition job that already completed (the process
 * died after it finished, before this step was recorded) counts as done instead of failing the restart,
 * and one left STARTED by a killed process is recovered first: this step holds the partition's advisory
 * lock, so nobody else is running it. The partition's advisory lock and a worker slot are held
 * throughout (see {@link PartitionLocks}).
 */
final class PartitionJobStep extends AbstractStep {

    static final String JOB_KEY = "job.key";
    static final String PARTITION = "partition";

    private final JobRepository repository;
    private final JobOperator operator;
    private final String jobKey;
    private final Function<String, Job> partitionJobs;
    private final javax.sql.DataSource dataSource;
    private final java.util.function.IntSupplier workers;
    private final StopRequest stop;

    PartitionJobStep(String name, JobRepository repository, JobOperator operator, String jobKey,
            Function<String, Job> partitionJobs, javax.sql.DataSource dataSource, java.util.function.IntSupplier workers, StopRequest stop) {
        super(name);
        setJobRepository(repository);
        this.repository = repository;
        this.operator = operator;
        this.jobKey = jobKey;
        this.partitionJobs = partitionJobs;
        this.dataSource = dataSource;
        this.workers = workers;
        this.stop = stop;
    }

    /** A generation after the first (a fresh run after abandon --cleanup) starts fresh partition jobs too. */
    static JobParameters parameters(String jobKey, String partition, long generation) {
        JobParametersBuilder b = new JobParametersBuilder().addString(JOB_KEY, jobKey).addString(PARTITION, partition);
        if (generation > 0) {
            b.addLong(RewriteJob.GENERATION, generation);
        }
        return b.toJobParameters();
    }

    @Override
    protected void doExecute(StepExecution se) throws Exception {
        String partition = se.getExecutionContext().getString(PartitionList.PARTITION);
        try (PartitionLocks locks = PartitionLocks.acquire(dataSource, jobKey, partition, workers)) {
            runPartition(se, partition);
        }
    }

    private void runPartition(StepExecution se, String partition) throws Exception {
        Job job = partitionJobs.apply(partition);
        JobParameters params = parameters(jobKey, partition, RewriteJob.generation(se.getJobExecution()));
        JobExecution last = repository.getLastJobExecution(job.getName(), params);
        if (last != null && last.getStatus() == BatchStatus.COMPLETED) {
            return;
        }
        if (last != null && last.getStatus().isRunning()) {
            operator.recover(last);
        }
        if (stop.requested()) {
            // Stop requested (stop, end of the window): no new partition starts; restart continues it.
            se.setStatus(BatchStatus.STOPPED);
            se.setExitStatus(new ExitStatus("STOPPED", partition + ": not started, the job was asked to stop"));
            return;
        }
        JobExecution run = operator.start(job, params);
        for (int again = 0; again < 3 && run.getStatus() == BatchStatus.FAILED && drifted(run); again++) {
            run = operator.start(job, params); // the parent changed under the copy, which was dropped: copy again
        }
        if (run.getStatus() != BatchStatus.COMPLETED) {
            String why = Failures.describe(run);
            se.setStatus(run.getStatus() == BatchStatus.STOPPED ? BatchStatus.STOPPED : BatchStatus.FAILED);
            se.setExitStatus(new ExitStatus(se.getStatus() == BatchStatus.STOPPED ? "STOPPED" : "FAILED", why));
            if (se.getStatus() == BatchStatus.FAILED) {
                throw new PartitionFailedException(why);
            }
        }
    }

    private static boolean drifted(JobExecution run) {
        for (Throwable t : run.getAllFailureExceptions()) {
            for (Throwable c = t; c != null; c = c.getCause()) {
                if (c instanceof io.pgrewrite.plan.PartitionWork.ShapeDrift) {
                    return true;
                }
            }
        }
        return false;
    }

    /** A partition's job did not complete; the message is its first failure's. */
    static final class PartitionFailedException extends RuntimeException {
        PartitionFailedException(String message) {
            super(message);
        }
    }
}
