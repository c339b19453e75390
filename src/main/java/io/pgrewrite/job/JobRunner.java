package io.pgrewrite.job;

import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import javax.sql.DataSource;

import io.pgrewrite.definition.DefinitionChanges;
import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import java.util.List;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.parameters.JobParameters;
import org.springframework.batch.core.job.parameters.JobParametersBuilder;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Starts or continues the job of a definition. Its identifying parameter is the job key (name and
 * table), so running the same definition again continues a failed or stopped run and is refused after
 * a completed one. A session advisory lock per job key keeps two processes off the same job; holding
 * it also proves that an execution still marked running belongs to a process that died, which is
 * then recovered before the restart.
 */
public final class JobRunner {

    static final String TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended(?, 0))";

    private final JobRepository repository;
    private final JobOperator operator;
    private final PlatformTransactionManager tm;
    private final DataSource dataSource;
    private final PrintStream out;

    public JobRunner(JobRepository repository, JobOperator operator, PlatformTransactionManager tm, DataSource dataSource,
            PrintStream out) {
        this.repository = repository;
        this.operator = operator;
        this.tm = tm;
        this.dataSource = dataSource;
        this.out = out;
    }

    /**
     * The highest generation of this job key's instances: 0 (no parameter, as before generations
     * existed) until an execution is abandoned and cleaned up; the next run then starts generation + 1.
     */
    static final String GENERATION = """
            SELECT coalesce(max(g.parameter_value::bigint), 0) FROM pgrewrite.batch_job_execution_params k
              JOIN pgrewrite.batch_job_execution e ON e.job_execution_id = k.job_execution_id
              JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
              JOIN pgrewrite.batch_job_execution_params g ON g.job_execution_id = k.job_execution_id
                   AND g.parameter_name = ?
             WHERE i.job_name = ? AND k.parameter_name = ? AND k.parameter_value = ?
            """;

    /**
     * @param generation 0 for the job's first instance; one more for each abandoned-and-cleaned-up one
     *                   before it (Spring Batch never runs an abandoned instance again)
     */
    public static JobParameters parameters(JobDefinition def, long generation) {
        JobParametersBuilder b = new JobParametersBuilder().addString(RewriteJob.JOB_KEY, def.jobKey());
        if (generation > 0) {
            b.addLong(RewriteJob.GENERATION, generation);
        }
        return b.addString(RewriteJob.FILE, def.file() == null ? "" : def.file().toString(), false).toJobParameters();
    }

    /** The generation a run of this definition continues or starts. */
    long generation(JobDefinition def) {
        long g = new JdbcTemplate(dataSource).queryForObject(GENERATION, Long.class, RewriteJob.GENERATION, RewriteJob.NAME,
                RewriteJob.JOB_KEY, def.jobKey());
        JobExecution last = repository.getLastJobExecution(RewriteJob.NAME, parameters(def, g));
        return last != null && last.getStatus() == BatchStatus.ABANDONED && RewriteJob.cleanedUp(last) ? g + 1 : g;
    }

    /** The last execution of this definition's job, or null when it never ran (or its last run was cleaned up). */
    public JobExecution last(JobDefinition def) {
        return repository.getLastJobExecution(RewriteJob.NAME, parameters(def, generation(def)));
    }

    public JobExecution run(JobDefinition def) throws Exception {
        return run(def, null);
    }

    /** @param remote null to run partitions on local threads; else the handler that sends them to workers */
    public JobExecution run(JobDefinition def, org.springframework.batch.core.partition.PartitionHandler remote) throws Exception {
        try (JobLock lock = lock(def.jobKey()); TableLock table = TableLock.acquire(dataSource, def)) {
            long generation = generation(def);
            JobExecution last = repository.getLastJobExecution(RewriteJob.NAME, parameters(def, generation));
            if (last != null && last.getStatus() == BatchStatus.ABANDONED) {
                throw new AlreadyCompleteException("Job " + def.name() + " on " + def.schema() + "." + def.table()
                        + " was abandoned (execution " + last.getId() + ") and what it left is still there. `pgrewrite abandon "
                        + last.getId() + " --cleanup` removes it; then run " + def.file() + " again.");
            }
            if (last != null && last.getStatus() == BatchStatus.COMPLETED) {
                throw new AlreadyCompleteException("Job " + def.name() + " on " + def.schema() + "." + def.table()
                        + " already completed (execution " + last.getId() + ", " + last.getEndTime() + "). To run it again,"
                        + " give it a new 'name:' in " + def.file() + "; `pgrewrite status " + last.getId() + "` shows its report.");
            }
            if (last != null) {
                refuseChangedDefinition(last, def, new JdbcTemplate(dataSource), out);
            }
            if (last != null) {
                // plan does not run again once it completed: its connection check does, with the file's workers now
                // (here, holding the job's lock: a process still running the job is refused for that above); before the
                // recover below, so that a refusal changes nothing
                io.pgrewrite.plan.ConnectionBudget.refuseRestart(new JdbcTemplate(dataSource), def.workers(),
                        "Execution " + last.getId() + " of job " + def.name());
            }
            if (last != null && last.getStatus().isRunning()) {
                // We hold the job's lock: the process that ran it is gone. Mark it failed so it can restart.
                operator.recover(last);
            }
            JdbcTemplate jdbc = new JdbcTemplate(dataSource);
            Engine engine = Engine.create(def, jdbc, new TransactionTemplate(tm), dataSource, false, out);
            return operator.start(new RewriteJob(engine, repository, operator, tm, out, remote).build(), parameters(def, generation));
        }
    }

    /**
     * A restart continues what the execution started: refuses (with {@link io.pgrewrite.plan.PlanException},
     * nothing changed) a definition that differs from the one kept in the execution's context in a key
     * the run already rests on ({@link DefinitionChanges}), and a changed {@code using} / {@code set} that
     * PostgreSQL does not prove to be one expression that type-checks; says which keys changed.
     */
    public static void refuseChangedDefinition(JobExecution started, JobDefinition now, JdbcTemplate jdbc, PrintStream out) {
        boolean pastPlan = started.getStepExecutions().stream().anyMatch(s -> !s.getStepName().equals("plan"));
        String yaml = started.getExecutionContext().containsKey(RewriteJob.DEFINITION)
                ? started.getExecutionContext().getString(RewriteJob.DEFINITION) : null;
        if (yaml == null || !pastPlan) {
            return; // it never got past plan: nothing rests on what it started with
        }
        JobDefinition before = JobDefinitions.parse(yaml, now.file());
        List<String> changed = DefinitionChanges.changedKeys(before, now);
        List<String> refused = DefinitionChanges.refused(changed);
        String file = now.file() == null ? "the definition" : now.file().toString();
        long id = started.getId();
        if (!refused.isEmpty()) {
            String them = refused.size() == 1 ? "it" : "them";
            throw new io.pgrewrite.plan.PlanException("Execution " + id + " of job " + before.name() + " on "
                    + before.schema() + "." + before.table() + " started with a different definition: "
                    + String.join(", ", refused) + (refused.size() == 1 ? " has" : " have") + " changed in " + file
                    + ". A run under way cannot take " + them + ": what it did already rests on the values it started with."
                    + " Put " + them + " back to continue it (`pgrewrite restart " + id + "`), or give it up with"
                    + " `pgrewrite abandon " + id + " --cleanup` and run the changed file as a new job. A restart may"
                    + " change only " + String.join(", ", DefinitionChanges.MAY_CHANGE.stream()
                            .map(k -> k.endsWith(".") ? k + "*" : k).toList())
                    + " (using, set and throttle.query are checked again first). Nothing was changed.", null);
        }
        if (changed.stream().anyMatch(DefinitionChanges.RECHECKED::contains)
                || changed.stream().anyMatch(k -> k.startsWith("set"))) {
            new io.pgrewrite.plan.Planner(jdbc).proveExpressions(now); // throws PlanException naming the key
        }
        if (!changed.isEmpty() && out != null) {
            out.println("Changed since execution " + id + " started, applied from now on: " + String.join(", ", changed));
        }
    }

    /** Throws {@link AlreadyRunningException} when another job has the table (see {@link TableLock}); holds nothing. */
    public void refuseIfTableTaken(JobDefinition def) throws SQLException {
        TableLock.acquire(dataSource, def).close();
    }

    private JobLock lock(String jobKey) throws SQLException {
        Connection c = dataSource.getConnection();
        try (PreparedStatement ps = c.prepareStatement(TRY_LOCK)) {
            ps.setString(1, "pgrewrite:" + jobKey);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    c.close();
                    throw new AlreadyRunningException("Another pgrewrite process is running job " + jobKey
                            + " on this database. Wait for it, or stop it with `pgrewrite stop`.");
                }
            }
        }
        return new JobLock(c, "pgrewrite:" + jobKey);
    }

    /** The session lock, released on close (the pooled connection outlives the job). */
    private record JobLock(Connection connection, String key) implements AutoCloseable {
        @Override
        public void close() throws SQLException {
            try (PreparedStatement ps = connection.prepareStatement("SELECT pg_advisory_unlock(hashtextextended(?, 0))")) {
                ps.setString(1, key);
                ps.execute();
            } finally {
                connection.close();
            }
        }
    }

    /** The job completed before: refused. */
    public static final class AlreadyCompleteException extends RuntimeException {
        AlreadyCompleteException(String message) {
            super(message);
        }
    }

    /** Another process holds the job. */
    public static final class AlreadyRunningException extends RuntimeException {
        AlreadyRunningException(String message) {
            super(message);
        }
    }
}
