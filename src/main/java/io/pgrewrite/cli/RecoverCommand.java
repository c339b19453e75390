package io.pgrewrite.cli;

import java.io.PrintStream;

import javax.sql.DataSource;

import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;

@Command(name = "recover", description = {"Mark an execution whose process died (kill -9, a lost machine) as failed, so that",
        "`restart` continues it. Refused while a live process still runs it."})
final class RecoverCommand extends ExecutionCommand {

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        JobExecution e = execution(ctx);
        if (e == null) {
            return ExitCodes.NOTHING_TO_DO;
        }
        if (!e.getStatus().isRunning()) {
            err.println("Execution " + executionId + " is " + e.getStatus() + ": nothing to recover."
                    + (e.getStatus().isUnsuccessful() || e.getStatus().name().equals("STOPPED")
                            ? " `pgrewrite restart " + executionId + "` continues it." : ""));
            return ExitCodes.NOTHING_TO_DO;
        }
        if (JobLocks.held(ctx.getBean(DataSource.class), jobKey(e))) {
            err.println("Execution " + executionId + " is running in a live process. `pgrewrite stop " + executionId
                    + "` stops it gracefully.");
            return ExitCodes.ALREADY_RUNNING;
        }
        // Nobody holds the job's lock, so nobody can be running it: Spring Batch's recover marks the
        // execution and its running steps FAILED. The partitions' own jobs are recovered by the restart.
        JobExecution r = ctx.getBean(JobOperator.class).recover(e);
        io.pgrewrite.pg.Durability.flush(ctx.getBean(DataSource.class));
        out.printf("Execution %d recovered: %s. `pgrewrite restart %d` continues it.%n", executionId, r.getStatus(), executionId);
        return ExitCodes.OK;
    }
}
