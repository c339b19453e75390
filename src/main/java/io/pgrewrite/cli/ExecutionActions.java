package io.pgrewrite.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.job.Cleanup;
import io.pgrewrite.job.Engine;
import io.pgrewrite.job.JobRunner;
import io.pgrewrite.job.RewriteJob;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.dao.EmptyResultDataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

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
        JobExecution e = find(ctx.getBean(JobRepository.class), executionId);
        if (e == null || !RewriteJob.NAME.equals(e.getJobInstance().getJobName())) {
            err.println("No pgrewrite execution " + executionId + ". `pgrewrite status` lists them.");
            return null;
        }
        return e;
    }

    /** The execution, or null: Spring Batch 6.0 throws for an id it never gave out instead of returning null. */
    static JobExecution find(JobRepository repo, long executionId) {
        try {
            return repo.getJobExecution(executionId);
        } catch (EmptyResultDataAccessException none) {
            return null;
        }
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
        io.pgrewrite.pg.Durability.flush(ds); // the STOPPING mark is on disk before we say so
        out.printf("Stop requested for execution %d (%s): no new partition starts; partitions copying stop at their next"
                + " chunk boundary.%n", executionId, ExecutionCommand.jobKey(e));
        if (hint) {
            out.printf("`pgrewrite status %d` shows it; `pgrewrite restart %d` continues it.%n", executionId, executionId);
        }
        return ExitCodes.OK;
    }

    /** {@code pgrewrite abandon ID}: neither restart nor the scheduler continues the execution. */
    public int abandon(long executionId, PrintStream out, PrintStream err) throws Exception {
        return abandon(executionId, out, err, false, false);
    }

    /**
     * {@code pgrewrite abandon ID [--cleanup [--drop-old]]}; with cleanup (also of an execution abandoned
     * before) everything the job left goes (see {@link Cleanup}) and `run` of the definition starts afresh.
     */
    public int abandon(long executionId, PrintStream out, PrintStream err, boolean cleanup, boolean dropOld) throws Exception {
        JobExecution e = execution(executionId, err);
        if (e == null) {
            return ExitCodes.NOTHING_TO_DO;
        }
        DataSource ds = ctx.getBean(DataSource.class);
        if (e.getStatus() == BatchStatus.COMPLETED || (e.getStatus() == BatchStatus.ABANDONED && !cleanup)) {
            err.println("Execution " + executionId + " is " + e.getStatus() + ": nothing to abandon.");
            return ExitCodes.NOTHING_TO_DO;
        }
        if (e.getStatus() == BatchStatus.ABANDONED && RewriteJob.cleanedUp(e)) {
            String kept = e.getExecutionContext().containsKey(KEPT_OLD) ? e.getExecutionContext().getString(KEPT_OLD) : "";
            if (!dropOld || kept.isEmpty()) {
                err.println("Execution " + executionId + " was abandoned and cleaned up already: nothing to do.");
                return ExitCodes.NOTHING_TO_DO;
            }
            return dropKeptOld(e, keptTables(kept), ds, out);
        }
        if (JobLocks.held(ds, ExecutionCommand.jobKey(e))) {
            err.println("Execution " + executionId + " is running. `pgrewrite stop " + executionId + " --wait` first.");
            return ExitCodes.ALREADY_RUNNING;
        }
        if (e.getStatus() != BatchStatus.ABANDONED) {
            JobOperator operator = ctx.getBean(JobOperator.class);
            if (e.getStatus().isRunning()) {
                e = operator.recover(e); // its process died: failed first, then abandoned
            }
            operator.abandon(e);
            io.pgrewrite.job.DiskBudget.releaseAll(ds, ExecutionCommand.jobKey(e)); // its disk reservations too
        }
        if (!cleanup) {
            io.pgrewrite.pg.Durability.flush(ds); // abandoned on disk before we say so
            out.printf("Execution %d abandoned: `restart` and the scheduler leave it alone. Working copies (*__rw), capture"
                    + " triggers and a shadow column of partitions in flight stay; `pgrewrite abandon %d --cleanup` removes"
                    + " them, and then `run` of the same definition starts afresh.%n", executionId, executionId);
            return ExitCodes.OK;
        }
        JobRepository repository = ctx.getBean(JobRepository.class);
        e = repository.getJobExecution(executionId);
        JobDefinition def = startedWith(e);
        Engine engine = Engine.create(def, new JdbcTemplate(ds), new TransactionTemplate(ctx.getBean(PlatformTransactionManager.class)),
                ds, false, out);
        Cleanup.Result r;
        try (io.pgrewrite.job.TableLock table = io.pgrewrite.job.TableLock.forCleanup(ds, def)) {
            r = new Cleanup(engine).run(dropOld);
        }
        e.getExecutionContext().putString(RewriteJob.CLEANED_UP, java.time.OffsetDateTime.now().toString());
        e.getExecutionContext().putString(KEPT_OLD, r.keptTables().stream().map(k -> k.oid() + " " + k.qualified())
                .collect(java.util.stream.Collectors.joining("\n"))); // for a later --drop-old
        repository.updateExecutionContext(e);

        io.pgrewrite.pg.Durability.flush(ds); // the cleanup and its record on disk before we say so
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

    /**
     * The P__old tables a cleanup without --drop-old kept, one a line: its oid, a space, its name schema-qualified and
     * quoted; an earlier version wrote the name only (a quoted name starts with a double quote, never a digit).
     */
    static final String KEPT_OLD = "pgrewrite.cleanup.kept-old";

    static List<Cleanup.Kept> keptTables(String recorded) {
        List<Cleanup.Kept> kept = new java.util.ArrayList<>();
        for (String line : recorded.split("\n")) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) (.+)", java.util.regex.Pattern.DOTALL).matcher(line);
            kept.add(m.matches() ? new Cleanup.Kept(m.group(2), Long.valueOf(m.group(1))) : new Cleanup.Kept(line, null));
        }
        return kept;
    }

    /** {@code abandon ID --cleanup --drop-old} after a cleanup that kept P__old tables: drops those, nothing else. */
    private int dropKeptOld(JobExecution e, List<Cleanup.Kept> kept, DataSource ds, PrintStream out) throws Exception {
        JobDefinition def = startedWith(e);
        Engine engine = Engine.create(def, new JdbcTemplate(ds), new TransactionTemplate(ctx.getBean(PlatformTransactionManager.class)),
                ds, false, out);
        Cleanup.DroppedKept r;
        try (io.pgrewrite.job.TableLock table = io.pgrewrite.job.TableLock.forCleanup(ds, def)) {
            r = new Cleanup(engine).dropKept(kept);
        }
        List<String> dropped = r.dropped();
        e.getExecutionContext().putString(KEPT_OLD, "");
        ctx.getBean(JobRepository.class).updateExecutionContext(e);
        io.pgrewrite.pg.Durability.flush(ds);
        out.printf("Execution %d was cleaned up before; %s%n", e.getId(), dropped.isEmpty()
                ? (r.notes().isEmpty() ? "the old partitions it kept are gone already: nothing dropped" : "nothing dropped")
                : "dropped the kept old partitions " + String.join(", ", dropped.stream()
                        .map(q -> q.substring(q.lastIndexOf('.') + 1).replace("\"", "")).toList()));
        for (String note : r.notes()) {
            out.println("  " + note);
        }
        return ExitCodes.OK;
    }

    /** The definition the execution started with (kept in its context), else its file as it is now. */
    private static JobDefinition startedWith(JobExecution e) {
        String file = e.getJobParameters().getString(RewriteJob.FILE);
        Path path = file == null || file.isEmpty() ? null : Path.of(file);
        if (e.getExecutionContext().containsKey(RewriteJob.DEFINITION)) {
            return JobDefinitions.parse(e.getExecutionContext().getString(RewriteJob.DEFINITION), path);
        }
        return JobDefinitions.load(path);
    }

    /**
     * The checks of {@code pgrewrite restart ID}: the definition to run again (read again from its file; refused,
     * with {@link io.pgrewrite.plan.PlanException}, when it changed a key the run rests on), or null after saying
     * why there is nothing to restart.
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
        JobDefinition def = JobDefinitions.load(Path.of(e.getJobParameters().getString(RewriteJob.FILE)));
        // Read again, but only keys that pace the work may differ from what this execution started with
        // (README, Commands); any other change, even of the name or the table, is refused here.
        JobRunner.refuseChangedDefinition(e, def, new org.springframework.jdbc.core.JdbcTemplate(ctx.getBean(DataSource.class)), null);
        return def;
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
