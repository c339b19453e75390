package io.pgrewrite.schedule;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.job.Failures;
import io.pgrewrite.job.JobRunner;
import io.pgrewrite.plan.PlanException;
import io.pgrewrite.plan.Planner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;

/**
 * What one trigger of a scheduled job does: start the job, or continue its stopped execution, or
 * relaunch its failed one while the relaunch limit allows; at the end of the window, stop it (no new
 * partition starts, the partitions copying stop at a chunk boundary, the execution ends STOPPED, the
 * next trigger continues it). The JobRunner's advisory lock keeps a second process off a running job.
 */
public final class ScheduledRun {

    private static final Logger log = LoggerFactory.getLogger(ScheduledRun.class);

    /** How a trigger ended, for logs and tests. */
    public enum Outcome { COMPLETED, STOPPED, FAILED, ALREADY_COMPLETE, WAITING_FOR_OPERATOR, ALREADY_RUNNING, WINDOW_OVER, NOT_STARTED }

    private final JobRepository repository;
    private final JobOperator operator;
    private final PlatformTransactionManager tm;
    private final DataSource dataSource;
    private final RunningJobs running;
    private final PrintStream out;

    public ScheduledRun(JobRepository repository, JobOperator operator, PlatformTransactionManager tm, DataSource dataSource,
            RunningJobs running, PrintStream out) {
        this.repository = repository;
        this.operator = operator;
        this.tm = tm;
        this.dataSource = dataSource;
        this.running = running;
        this.out = out;
    }

    /**
     * @param windowStart when the window opened (the trigger's scheduled time; a late trigger has less window left)
     */
    public Outcome run(JobDefinition def, Instant windowStart) {
        String key = def.jobKey();
        JobDefinition.Schedule schedule = def.schedule();
        Instant end = schedule.window() == null ? null : windowStart.plus(schedule.window());
        if (end != null && !Instant.now().isBefore(end)) {
            log.info("{}: the window that opened at {} is over; waiting for the next trigger", key, windowStart);
            return Outcome.WINDOW_OVER;
        }
        JobRunner runner = new JobRunner(repository, operator, tm, dataSource, out);
        JobExecution last = runner.last(def);
        if (last != null) {
            switch (last.getStatus()) {
                case COMPLETED, ABANDONED -> {
                    log.info("{}: execution {} is {}; nothing to do. Remove schedule: from {} to stop these triggers.", key,
                            last.getId(), last.getStatus(), def.file());
                    return Outcome.ALREADY_COMPLETE;
                }
                case FAILED -> {
                    long failures = Relaunches.failures(new JdbcTemplate(dataSource), last.getJobInstanceId());
                    if (!Relaunches.allowed(schedule, failures)) {
                        log.warn("{}: execution {} failed; relaunched {} of {} times: waiting for an operator"
                                + " (`pgrewrite status {}`, then `pgrewrite restart {}`)", key, last.getId(),
                                Relaunches.done(failures), schedule.maxRelaunches(), last.getId(), last.getId());
                        return Outcome.WAITING_FOR_OPERATOR;
                    }
                    log.info("{}: relaunching failed execution {} (relaunch {} of {})", key, last.getId(),
                            Relaunches.done(failures) + 1, schedule.maxRelaunches());
                }
                case STOPPED -> log.info("{}: continuing stopped execution {}", key, last.getId());
                default -> log.info("{}: execution {} is marked {}; continuing it if its process is gone", key,
                        last.getId(), last.getStatus());
            }
        } else {
            try {
                new Planner(new JdbcTemplate(dataSource)).plan(def); // preconditions before the job exists
            } catch (PlanException e) {
                log.error("{}: not started, a precondition failed: {}", key, e.getMessage());
                return Outcome.NOT_STARTED;
            }
            log.info("{}: starting{}", key, end == null ? "" : ", window until " + end);
        }
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "window-" + def.name());
            t.setDaemon(true);
            return t;
        });
        running.started(def);
        try {
            if (end != null) {
                timer.schedule(() -> stop(runner, def, "the window ended"), Duration.between(Instant.now(), end).toMillis(),
                        TimeUnit.MILLISECONDS);
            }
            JobExecution e = runner.run(def);
            log.info("{}: execution {} ended {}", key, e.getId(), e.getStatus());
            if (e.getStatus() == BatchStatus.FAILED) {
                log.warn("{}: {}", key, Failures.describe(e));
            }
            return e.getStatus() == BatchStatus.COMPLETED ? Outcome.COMPLETED
                    : e.getStatus() == BatchStatus.STOPPED ? Outcome.STOPPED : Outcome.FAILED;
        } catch (JobRunner.AlreadyRunningException e) {
            log.info("{}: another process runs it; this trigger does nothing", key);
            return Outcome.ALREADY_RUNNING;
        } catch (JobRunner.AlreadyCompleteException e) {
            return Outcome.ALREADY_COMPLETE;
        } catch (Exception e) {
            log.error("{}: {}", key, Failures.message(e));
            return Outcome.FAILED;
        } finally {
            timer.shutdownNow();
            running.ended(key);
        }
    }

    /** Asks the job's running execution to stop, through the JobRepository, as `pgrewrite stop` does. */
    public void stop(JobDefinition def, String why) {
        stop(new JobRunner(repository, operator, tm, dataSource, out), def, why);
    }

    private void stop(JobRunner runner, JobDefinition def, String why) {
        try {
            JobExecution e = runner.last(def);
            if (e != null && (e.getStatus() == BatchStatus.STARTED || e.getStatus() == BatchStatus.STARTING)) {
                log.info("{}: {}: stopping execution {} at the next chunk boundary", def.jobKey(), why, e.getId());
                operator.stop(e);
            }
        } catch (Exception ex) {
            log.warn("{}: could not stop: {}", def.jobKey(), Failures.message(ex));
        }
    }
}
