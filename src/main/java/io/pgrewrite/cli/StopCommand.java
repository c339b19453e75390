package io.pgrewrite.cli;

import java.io.PrintStream;
import java.time.Duration;

import javax.sql.DataSource;

import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "stop", description = {"Stop a running execution gracefully, from any machine: no new partition starts,",
        "partitions copying stop at their next chunk boundary, those past their copy finish; the execution ends",
        "STOPPED and `restart` (or the scheduler's next trigger) continues it."})
final class StopCommand extends ExecutionCommand {

    @Option(names = "--wait", description = "Wait until the execution has stopped, and say how it ended")
    boolean await;

    @Option(names = "--timeout", defaultValue = "PT30M", description = "With --wait: give up after this long (ISO-8601, default: ${DEFAULT-VALUE})")
    Duration timeout;

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        int requested = new ExecutionActions(ctx).stop(executionId, out, err, !await);
        if (requested != ExitCodes.OK || !await) {
            return requested;
        }
        JobExecution e = execution(ctx);
        // The mark says STOPPED at once; the process is done with the execution when it lets go of the job's lock.
        JobRepository repo = ctx.getBean(JobRepository.class);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!JobLocks.held(ctx.getBean(DataSource.class), jobKey(e))) {
                JobExecution now = repo.getJobExecution(executionId);
                out.printf("Execution %d: %s.%s%n", executionId, now.getStatus(), now.getStatus().isRunning()
                        ? " Its process went away before recording the stop: `pgrewrite recover " + executionId + "`, then `pgrewrite restart " + executionId + "`."
                        : now.getStatus() == BatchStatus.COMPLETED ? "" : " `pgrewrite restart " + executionId + "` continues it.");
                return now.getStatus().isRunning() ? ExitCodes.ERROR : ExitCodes.OK;
            }
            Thread.sleep(500);
        }
        err.println("Execution " + executionId + " has not stopped after " + timeout + "; it still stops at its next chunk boundary.");
        return ExitCodes.ERROR;
    }
}
