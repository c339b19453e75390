package io.pgrewrite.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;

import javax.sql.DataSource;

import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.demo.DemoTable;
import io.pgrewrite.plan.Bytes;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", description = "Create a generated passage table (one partition per UTC day), optionally run a job on it.",
        subcommands = TrafficCommand.class)
final class DemoCommand extends DbCommand {

    @Option(names = "--days", defaultValue = "30", description = "Days of data (default: ${DEFAULT-VALUE}), plus 5 future days")
    int days;

    @Option(names = "--rows-per-day", defaultValue = "100000", description = "Rows per day (default: ${DEFAULT-VALUE})")
    int rowsPerDay;

    @Option(names = "--table", defaultValue = "passage", description = "Table name (default: ${DEFAULT-VALUE})")
    String table;

    @Option(names = "--schema", defaultValue = "public", description = "Schema (default: ${DEFAULT-VALUE})")
    String schema;

    @Option(names = "--replace", description = "Drop an existing table of that name even when demo did not make it"
            + " (without it, demo replaces only its own tables)")
    boolean replace;

    @Option(names = "--id", defaultValue = "uuid", paramLabel = "uuid|integer",
            description = "Type of the key's id column: uuid (default, the reference table) or integer (a serial id,"
                    + " sequence <table>_id_seq, in PRIMARY KEY (id, passage_at): the table of an int -> bigint key change)")
    IdKind id;

    /** Lower case, as written on the command line. */
    enum IdKind { uuid, integer }

    @Option(names = "--run", paramLabel = "JOB.yaml", description = "Then run this job definition on the table and print its report")
    Path job;

    @Override
    int poolSize() {
        return 20;
    }

    @Override
    void beforeContext() {
        if (job != null) {
            JobDefinitions.load(job); // a bad definition fails before minutes of data generation
        }
    }

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        DemoTable.Result r;
        try {
            r = DemoTable.create(ctx.getBean(DataSource.class), schema, table, days, rowsPerDay,
                    LocalDate.now(ZoneOffset.UTC), replace, integerId());
        } catch (DemoTable.NotADemoTable e) {
            err.println(e.getMessage());
            return ExitCodes.PRECONDITION;
        }
        out.printf("Created %s.%s: %d partitions, %d rows, %s in %.1f s%n", schema, r.table(), r.partitions(), r.rows(),
                Bytes.format(r.bytes()), r.elapsed().toMillis() / 1000.0);
        if (job == null) {
            return ExitCodes.OK;
        }
        return runWithProgress(ctx, out, JobDefinitions.load(job));
    }

    private boolean integerId() {
        return id == IdKind.integer;
    }

    /** As `run` does: progress on stderr (bars on a terminal, else log lines), the plan and report on stdout. */
    private int runWithProgress(ConfigurableApplicationContext ctx, PrintStream out, io.pgrewrite.definition.JobDefinition def)
            throws Exception {
        try (RunProgress progress = RunProgress.start(ctx.getBean(DataSource.class), def)) {
            return Jobs.of(ctx, progress.wrap(out), err).run(def, true);
        }
    }
}
