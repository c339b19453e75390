package io.pgrewrite.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.sql.SQLException;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.job.RewriteJob;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The operator's actions on one execution, shared by the commands ({@code stop}, {@code abandon}, {@code restart})
 * and the dashboard: the same checks, the same messages to {@code out} and {@code err}, the same exit codes.
 */
public final class ExecutionActions {

    private final ConfigurableApplicationContext ctx;

    public ExecutionActions(ConfigurableApplicationContext ctx) {
        this.ctx = ctx;
    }

    /** The execution, or null after telling the operator there is none. */
    JobExecution execution(long executionId, PrintStream err) {
        JobExecution e = ctx.getBean(JobRepository.class).getJobExecution(executionId);
        if (e == null || !RewriteJob.NAME.equals(e.getJobInstance().getJobName())) {
            err.println("No pgrewrite execution " + executionId + ". `pgrewrite status` lists them.");
            return null;
        }
        return e;
    }

    /** Whether a live process runs the job (it holds the job's advisory lock). */
    public static boolean running(DataSource ds, String jobKey) throws SQLException {
        return JobLocks.held(ds, jobKey);
    }

    /**
     * {@code pgrewrite stop ID}: marks a running execution STOPPING; its process stops at the next chunk boundary.
     *
     * @param hint whether to end with the lines that say how to follow it up (not with {@code --wait})
     */
    public int stop(long executionId, PrintStream out, PrintStream err, boolean hint) throws Exception {
        JobExecution e = execution(executionId, err);
        if (e == null) {
            return ExitCodes.NOTHING_TO_DO;
        }
        DataSource ds = ctx.getBean(DataSource.class);
        boolean stopping = e.getStatus() == BatchStatus.STOPPED && JobLocks.held(ds, ExecutionCommand.jobKey(e));
        if (!e.getStatus().isRunning() && !stopping) {
            err.println("Execution " + executionId + " is " + e.getStatus() + ": nothing to stop.");
            return ExitCodes.NOTHING_TO_DO;
        }
        if (!JobLocks.held(ds, ExecutionCommand.jobKey(e))) {
            err.println("Execution " + executionId + " is marked " + e.getStatus() + " but no process runs it (the one that did"
                    + " died). `pgrewrite recover " + executionId + "` marks it failed; `pgrewrite restart " + executionId
                    + "` continues it.");
            return ExitCodes.NOTHING_TO_DO;
        }
        if (e.getStatus() == BatchStatus.STARTED || e.getStatus() == BatchStatus.STARTING) {
            // Marks the execution STOPPING in the JobRepository; the process running it polls that mark.
            ctx.getBean(JobOperator.class).stop(e);
        }
        out.printf("Stop requested for execution %d (%s): no new partition starts; partitions copying stop at their next"
                + " chunk boundary.%n", executionId, ExecutionCommand.jobKey(e));
        if (hint) {
            out.printf("`pgrewrite status %d` shows it; `pgrewrite restart %d` continues it.%n", executionId, executionId);
        }
        return ExitCodes.OK;
    }

    /** {@code pgrewrite abandon ID}: neither restart nor the scheduler continues the execution. */
    public int abandon(long executionId, PrintStream out, PrintStream err) throws Exception {
        JobExecution e = execution(executionId, err);
        if (e == null) {
            return ExitCodes.NOTHING_TO_DO;
        }
        if (e.getStatus() == BatchStatus.COMPLETED || e.getStatus() == BatchStatus.ABANDONED) {
            err.println("Execution " + executionId + " is " + e.getStatus() + ": nothing to abandon.");
            return ExitCodes.NOTHING_TO_DO;
        }
        JobOperator operator = ctx.getBean(JobOperator.class);
        if (e.getStatus().isRunning()) {
            if (JobLocks.held(ctx.getBean(DataSource.class), ExecutionCommand.jobKey(e))) {
                err.println("Execution " + executionId + " is running. `pgrewrite stop " + executionId + " --wait` first.");
                return ExitCodes.ALREADY_RUNNING;
            }
            e = operator.recover(e); // its process died: failed first, then abandoned
        }
        operator.abandon(e);
        io.pgrewrite.job.DiskBudget.releaseAll(ctx.getBean(DataSource.class), ExecutionCommand.jobKey(e)); // its disk reservations too
        out.printf("Execution %d abandoned: `restart` and the scheduler leave it alone. Working copies (*__rw), capture"
                + " triggers and a shadow column of partitions in flight stay until you drop them; to run the job again"
                + " give it a new 'name:'.%n", executionId);
        return ExitCodes.OK;
    }

    /**
     * The checks of {@code pgrewrite restart ID}: the definition to run again (read again from its file, so a
     * fixed 'using:' applies to the partitions not yet done), or null after saying why there is nothing to restart.
     */
    public JobDefinition restartable(long executionId, PrintStream err) {
        JobExecution e = execution(executionId, err);
        if (e == null) {
            return null;
        }
        if (e.getStatus() == BatchStatus.COMPLETED || e.getStatus() == BatchStatus.ABANDONED) {
            err.println("Execution " + executionId + " is " + e.getStatus() + ": nothing to restart.");
            return null;
        }
        return JobDefinitions.load(Path.of(e.getJobParameters().getString(RewriteJob.FILE)));
    }

    /** The runtime controls, by command name. */
    public static final java.util.List<String> CONTROLS = java.util.List.of("pause", "resume", "postpone-swap", "allow-swap");

    /**
     * {@code pgrewrite pause|resume|postpone-swap|allow-swap ID}: the command itself runs, on this context, with
     * these streams; so the dashboard's answer is the command's, word for word.
     */
    public int control(String command, long executionId, PrintStream out, PrintStream err) {
        ControlCommands.Control c = switch (command) {
            case "pause" -> new ControlCommands.Pause();
            case "resume" -> new ControlCommands.Resume();
            case "postpone-swap" -> new ControlCommands.PostponeSwap();
            case "allow-swap" -> new ControlCommands.AllowSwap();
            default -> throw new IllegalArgumentException("not a control: " + command + "; one of " + CONTROLS);
        };
        c.executionId = executionId;
        c.err = err;
        return c.run(ctx, out);
    }

    /** {@code pgrewrite restart ID}: runs the definition again in this process, until the execution ends. */
    public int restart(JobDefinition def, PrintStream out, PrintStream err) throws Exception {
        return Jobs.of(ctx, out, err).run(def, false);
    }
}
