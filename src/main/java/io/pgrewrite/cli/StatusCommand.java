package io.pgrewrite.cli;

import java.io.PrintStream;
import java.util.List;

import javax.sql.DataSource;

import io.pgrewrite.job.Report;
import io.pgrewrite.job.RewriteJob;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.JobInstance;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "status", description = "List executions, or show one execution's report; answered from the database alone.")
final class StatusCommand extends DbCommand {

    @Parameters(index = "0", arity = "0..1", paramLabel = "EXECUTION_ID", description = "The execution to report on")
    Long executionId;

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) {
        JobRepository repo = ctx.getBean(JobRepository.class);
        if (executionId == null) {
            out.printf("%-6s %-10s %-24s %-24s %s%n", "id", "status", "started", "ended", "job");
            List<JobInstance> instances = repo.getJobInstances(RewriteJob.NAME, 0, 100);
            for (JobInstance i : instances) {
                for (JobExecution e : repo.getJobExecutions(i)) {
                    out.printf("%-6d %-10s %-24s %-24s %s%n", e.getId(), e.getStatus(), e.getStartTime(), e.getEndTime(),
                            e.getJobParameters().getString(RewriteJob.JOB_KEY));
                }
            }
            return ExitCodes.OK;
        }
        JobExecution e = repo.getJobExecution(executionId);
        if (e == null) {
            err.println("No execution " + executionId + ". `pgrewrite status` lists them.");
            return ExitCodes.NOTHING_TO_DO;
        }
        out.printf("Execution %d of %s: %s (started %s, ended %s)%n", e.getId(), e.getJobParameters().getString(RewriteJob.JOB_KEY),
                e.getStatus(), e.getStartTime(), e.getEndTime());
        new Report(new JdbcTemplate(ctx.getBean(DataSource.class))).print(out, e.getJobParameters().getString(RewriteJob.JOB_KEY), e.getId());
        return ExitCodes.OK;
    }
}
