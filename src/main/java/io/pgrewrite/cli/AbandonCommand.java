package io.pgrewrite.cli;

import java.io.PrintStream;

import javax.sql.DataSource;

import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;

@Command(name = "abandon", description = {"Give up an execution for good: neither `restart` nor the scheduler continues it.",
        "Partitions already swapped stay rewritten; the rest of the table is left as it is."})
final class AbandonCommand extends ExecutionCommand {

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        JobExecution e = execution(ctx);
        if (e == null) {
            return ExitCodes.NOTHING_TO_DO;
        }
        if (e.getStatus() == BatchStatus.COMPLETED || e.getStatus() == BatchStatus.ABANDONED) {
            err.println("Execution " + executionId + " is " + e.getStatus() + ": nothing to abandon.");
            return ExitCodes.NOTHING_TO_DO;
        }
        JobOperator operator = ctx.getBean(JobOperator.class);
        if (e.getStatus().isRunning()) {
            if (JobLocks.held(ctx.getBean(DataSource.class), jobKey(e))) {
                err.println("Execution " + executionId + " is running. `pgrewrite stop " + executionId + " --wait` first.");
                return ExitCodes.ALREADY_RUNNING;
            }
            e = operator.recover(e); // its process died: failed first, then abandoned
        }
        operator.abandon(e);
        io.pgrewrite.job.DiskBudget.releaseAll(ctx.getBean(DataSource.class), jobKey(e)); // its disk reservations too
        out.printf("Execution %d abandoned: `restart` and the scheduler leave it alone. Working copies (*__rw), capture"
                + " triggers and a shadow column of partitions in flight stay until you drop them; to run the job again"
                + " give it a new 'name:'.%n", executionId);
        return ExitCodes.OK;
    }
}
