package io.pgrewrite.cli;

import java.io.PrintStream;
import java.nio.file.Path;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.job.Cleanup;
import io.pgrewrite.job.Engine;
import io.pgrewrite.job.RewriteJob;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "abandon", description = {"Give up an execution for good: neither `restart` nor the scheduler continues it.",
        "Partitions already swapped stay rewritten; the rest of the table is left as it is.",
        "With --cleanup, also remove everything the job left (working copies, capture and sync triggers, change logs,"
                + " the shadow column, reservations), so that `run` of the same definition starts afresh."})
final class AbandonCommand extends ExecutionCommand {

    @Option(names = "--cleanup", description = "Remove what the execution left on the table and in schema pgrewrite;"
            + " also for an execution abandoned before")
    boolean cleanup;

    @Option(names = "--drop-old", description = "With --cleanup: also drop the *__old tables that `retire: keep` kept"
            + " (the swapped partitions' original rows); without it they stay and are listed")
    boolean dropOld;

    @Override
    int poolSize() {
        return 6; // the cleanup's DDL transactions next to the JobRepository's
    }

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        JobExecution e = execution(ctx);
        if (e == null) {
            return ExitCodes.NOTHING_TO_DO;
        }
        DataSource ds = ctx.getBean(DataSource.class);
        if (e.getStatus() == BatchStatus.COMPLETED || (e.getStatus() == BatchStatus.ABANDONED && !cleanup)) {
            err.println("Execution " + executionId + " is " + e.getStatus() + ": nothing to abandon.");
            return ExitCodes.NOTHING_TO_DO;
        }
        if (e.getStatus() == BatchStatus.ABANDONED && RewriteJob.cleanedUp(e)) {
            err.println("Execution " + executionId + " was abandoned and cleaned up already: nothing to do.");
            return ExitCodes.NOTHING_TO_DO;
        }
        if (JobLocks.held(ds, jobKey(e))) {
            err.println("Execution " + executionId + "'s job is running. `pgrewrite stop " + executionId + " --wait` first.");
            return ExitCodes.ALREADY_RUNNING;
        }
        if (e.getStatus() != BatchStatus.ABANDONED) {
            JobOperator operator = ctx.getBean(JobOperator.class);
            if (e.getStatus().isRunning()) {
                e = operator.recover(e); // its process died: failed first, then abandoned
            }
            operator.abandon(e);
            io.pgrewrite.job.DiskBudget.releaseAll(ds, jobKey(e)); // its disk reservations too
        }
        if (!cleanup) {
            out.printf("Execution %d abandoned: `restart` and the scheduler leave it alone. Working copies (*__rw), capture"
                    + " triggers and a shadow column of partitions in flight stay; `pgrewrite abandon %d --cleanup` removes"
                    + " them, and then `run` of the same definition starts afresh.%n", executionId, executionId);
            return ExitCodes.OK;
        }
        JobRepository repository = ctx.getBean(JobRepository.class);
        e = repository.getJobExecution(executionId);
        JobDefinition def = definition(e);
        Engine engine = Engine.create(def, new JdbcTemplate(ds), new TransactionTemplate(ctx.getBean(PlatformTransactionManager.class)),
                ds, false, out);
        Cleanup.Result r = new Cleanup(engine).run(dropOld);
        e.getExecutionContext().putString(RewriteJob.CLEANED_UP, java.time.OffsetDateTime.now().toString());
        repository.updateExecutionContext(e);

        out.printf("Execution %d abandoned and cleaned up:%n", executionId);
        for (String d : r.done()) {
            out.println("  " + d);
        }
        out.println(r.swapped().isEmpty() ? "  no partition had been swapped: the table is as before the job"
                : "  swapped and staying so (their rows are the original rows, rewritten): " + String.join(", ", r.swapped()));
        if (!r.droppedOld().isEmpty()) {
            out.println("  dropped the kept old partitions " + String.join(", ", r.droppedOld()));
        }
        if (!r.keptOld().isEmpty()) {
            out.println("  kept " + String.join(", ", r.keptOld()) + " (the swapped partitions' original rows, detached);"
                    + " drop them yourself or run this again with --drop-old");
        }
        out.printf("`pgrewrite run %s` now starts a fresh execution.%n", def.file() == null ? "<definition>" : def.file());
        return ExitCodes.OK;
    }

    /** The definition the execution started with (kept in its context), else its file as it is now. */
    private static JobDefinition definition(JobExecution e) {
        String file = e.getJobParameters().getString(RewriteJob.FILE);
        Path path = file == null || file.isEmpty() ? null : Path.of(file);
        if (e.getExecutionContext().containsKey(RewriteJob.DEFINITION)) {
            return JobDefinitions.parse(e.getExecutionContext().getString(RewriteJob.DEFINITION), path);
        }
        return JobDefinitions.load(path);
    }
}
