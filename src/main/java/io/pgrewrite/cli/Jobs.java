package io.pgrewrite.cli;

import java.io.PrintStream;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.job.Failures;
import io.pgrewrite.job.JobRunner;
import io.pgrewrite.job.RewriteJob;
import io.pgrewrite.plan.Planner;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;

/** run and restart share this: plan first on a fresh start, run, say how it ended. */
record Jobs(JobRunner runner, Planner planner, PrintStream out, PrintStream err, ConfigurableApplicationContext ctx) {

    static Jobs of(ConfigurableApplicationContext ctx, PrintStream out, PrintStream err) {
        DataSource ds = ctx.getBean(DataSource.class);
        return new Jobs(new JobRunner(ctx.getBean(JobRepository.class), ctx.getBean(JobOperator.class),
                ctx.getBean(PlatformTransactionManager.class), ds, out), new Planner(new JdbcTemplate(ds)), out, err, ctx);
    }

    int run(JobDefinition def, boolean planFirst) throws Exception {
        return run(def, planFirst, null);
    }

    /** @param remote when not null, partitions go to `pgrewrite worker` processes; a worker silent this long is presumed dead */
    int run(JobDefinition def, boolean planFirst, java.time.Duration remote) throws Exception {
        runner.refuseIfTableTaken(def); // one job per table: before plan, which would trip over the other's copies
        if (planFirst && runner.last(def) == null) {
            // Fail on preconditions before the job exists: nothing changed, nothing to restart.
            PlanPrinter.print(out, planner.plan(def));
        }
        JobExecution e = runner.run(def, remote == null ? null : new io.pgrewrite.remote.RemotePartitionHandler(
                io.pgrewrite.remote.RequestChannel.create(ctx.getBean(DataSource.class)), ctx.getBean(JobRepository.class),
                new JdbcTemplate(ctx.getBean(DataSource.class)), RewriteJob.NAME, remote, java.time.Duration.ofSeconds(1)));
        out.printf("Execution %d: %s%n", e.getId(), e.getStatus());
        if (e.getStatus() == BatchStatus.COMPLETED) {
            return ExitCodes.OK;
        }
        if (e.getStatus() == BatchStatus.STOPPED) {
            out.printf("Stopped. Continue with `pgrewrite restart %d`.%n", e.getId());
            return ExitCodes.STOPPED;
        }
        err.println(Failures.describe(e));
        err.printf("Continue with `pgrewrite restart %d` once that is resolved.%s%n", e.getId(), Logging.whereDetailsAre());
        return ExitCodes.JOB_FAILED;
    }
}
