package io.pgrewrite.cli;

import io.pgrewrite.job.RewriteJob;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Parameters;

/** A command about one execution of the rewrite job (stop, recover, abandon). */
abstract class ExecutionCommand extends DbCommand {

    @Parameters(index = "0", paramLabel = "EXECUTION_ID", description = "The execution (see `pgrewrite status`)")
    long executionId;

    @Override
    int poolSize() {
        return 3;
    }

    /** The execution, or null after telling the operator there is none. */
    JobExecution execution(ConfigurableApplicationContext ctx) {
        JobExecution e = ExecutionActions.find(ctx.getBean(JobRepository.class), executionId);
        if (e == null || !RewriteJob.NAME.equals(e.getJobInstance().getJobName())) {
            err.println("No pgrewrite execution " + executionId + ". `pgrewrite status` lists them.");
            return null;
        }
        return e;
    }

    static String jobKey(JobExecution e) {
        return e.getJobParameters().getString(RewriteJob.JOB_KEY);
    }
}
