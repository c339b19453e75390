package io.pgrewrite.cli;

import java.io.PrintStream;
import java.nio.file.Path;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.job.DryRun;
import io.pgrewrite.plan.Plan;
import io.pgrewrite.plan.Planner;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "plan", description = "Read the catalog, check every precondition and print the plan; changes nothing.")
final class PlanCommand extends DbCommand {

    @Parameters(index = "0", paramLabel = "JOB.yaml", description = "The job definition")
    Path file;

    @Option(names = "--dry-run", description = "Also print every statement the run would issue for expand, the first partition and contract")
    boolean dryRun;

    private JobDefinition def;

    @Override
    void beforeContext() {
        def = JobDefinitions.load(file);
    }

    /**
     * plan changes nothing, so it does not create schema pgrewrite either: no migrations. It reads the
     * catalog only, and works against a database pgrewrite never ran on.
     */
    @Override
    java.util.Map<String, Object> properties() {
        return java.util.Map.of("spring.flyway.enabled", "false");
    }

    /** Without the Spring context (PlainDatabase): plan reads the catalog and needs nothing but a connection. */
    @Override
    int open(PrintStream out) throws Exception {
        if (!PlainDatabase.applies()) {
            return super.open(out);
        }
        try (PlainDatabase db = PlainDatabase.open(connection, poolSize())) {
            return run(db.dataSource(), db.transactionManager(), out);
        }
    }

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) {
        return run(ctx.getBean(DataSource.class), ctx.getBean(PlatformTransactionManager.class), out);
    }

    private int run(DataSource ds, PlatformTransactionManager tm, PrintStream out) {
        JdbcTemplate jdbc = new JdbcTemplate(ds);
        Plan plan = new Planner(jdbc).plan(def);
        PlanPrinter.print(out, plan);
        if (dryRun) {
            new DryRun(def, jdbc, tm, ds).print(out, plan);
        }
        return ExitCodes.OK;
    }
}
