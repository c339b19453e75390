package io.pgrewrite.cli;

import java.io.PrintStream;
import java.nio.file.Path;

import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.job.RewriteJob;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "restart", description = "Continue a failed or stopped execution (one whose process died is recovered first).")
final class RestartCommand extends DbCommand {

    @Parameters(index = "0", paramLabel = "EXECUTION_ID", description = "The execution to continue (see `status`)")
    long executionId;

    @Override
    int poolSize() {
        return 30;
    }

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        JobExecution e = ctx.getBean(JobRepository.class).getJobExecution(executionId);
        if (e == null || !RewriteJob.NAME.equals(e.getJobInstance().getJobName())) {
            err.println("No pgrewrite execution " + executionId + ". `pgrewrite status` lists them.");
            return ExitCodes.NOTHING_TO_DO;
        }
        if (e.getStatus() == BatchStatus.COMPLETED || e.getStatus() == BatchStatus.ABANDONED) {
            err.println("Execution " + executionId + " is " + e.getStatus() + ": nothing to restart.");
            return ExitCodes.NOTHING_TO_DO;
        }
        String file = e.getJobParameters().getString(RewriteJob.FILE);
        // The definition is read again: a fixed 'using:' applies to the partitions not yet done.
        io.pgrewrite.definition.JobDefinition def = JobDefinitions.load(Path.of(file));
        try (RunProgress progress = RunProgress.start(ctx.getBean(javax.sql.DataSource.class), def)) {
            return Jobs.of(ctx, progress.wrap(out), err).run(def, false);
        }
    }
}
