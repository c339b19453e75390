package io.pgrewrite.cli;

import java.io.PrintStream;
import java.util.concurrent.Callable;

import io.pgrewrite.definition.DefinitionException;
import io.pgrewrite.job.Failures;
import io.pgrewrite.job.JobRunner;
import io.pgrewrite.plan.PlanException;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** A command that needs the database: starts the Spring context, maps failures to exit codes. */
abstract class DbCommand implements Callable<Integer> {

    @Mixin
    ConnectionOptions connection;

    @Spec
    CommandSpec spec;

    /** Where messages for the operator go (the command line's error stream). */
    PrintStream err;

    /** Pool size: workers need a connection each for the chunk, one for their DDL, plus the JobRepository's. */
    int poolSize() {
        return 10;
    }

    /** Spring properties of this command, on top of AppContext's defaults (scheduler: Quartz, HTTP). */
    java.util.Map<String, Object> properties() {
        return java.util.Map.of();
    }

    abstract int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception;

    /** Work that needs no database (reading the definition) happens before the context starts. */
    void beforeContext() {
    }

    /** Starts what the command needs and runs it: the Spring context (JobRepository, migrations), unless overridden. */
    int open(PrintStream out) throws Exception {
        try (ConfigurableApplicationContext ctx = AppContext.open(connection, poolSize(), properties())) {
            return durable(ctx, run(ctx, out));
        }
    }

    /**
     * pgrewrite commits asynchronously ({@link io.pgrewrite.pg.Durability}): the exit code says what the database
     * holds only once that is on disk. A "done" that cannot be proved durable exits as an error.
     */
    int durable(ConfigurableApplicationContext ctx, int code) {
        try {
            io.pgrewrite.pg.Durability.flush(ctx.getBean(javax.sql.DataSource.class));
            return code;
        } catch (RuntimeException e) {
            err.println(e.getMessage());
            return code == ExitCodes.OK ? ExitCodes.ERROR : code;
        }
    }

    @Override
    public Integer call() {
        PrintStream out = new PrintStream(new WriterStream(spec.commandLine().getOut()), true, java.nio.charset.StandardCharsets.UTF_8);
        err = new PrintStream(new WriterStream(spec.commandLine().getErr()), true, java.nio.charset.StandardCharsets.UTF_8);
        Logging.verbose(connection.verbose);
        try {
            beforeContext();
            return open(out);
        } catch (DefinitionException e) {
            err.println(e.getMessage());
            return ExitCodes.BAD_DEFINITION;
        } catch (PlanException e) {
            if (e.plan() != null) {
                PlanPrinter.checks(out, e.plan());
            }
            err.println(e.getMessage());
            return e.nothingToDo() ? ExitCodes.NOTHING_TO_DO : ExitCodes.PRECONDITION;
        } catch (JobRunner.AlreadyCompleteException e) {
            err.println(e.getMessage());
            return ExitCodes.NOTHING_TO_DO;
        } catch (JobRunner.AlreadyRunningException e) {
            err.println(e.getMessage());
            return ExitCodes.ALREADY_RUNNING;
        } catch (Exception e) {
            return unexpected(e);
        }
    }

    /** One or two lines for the operator; the stack trace to the log file (or stderr with --verbose). */
    private int unexpected(Exception e) {
        Logging.FAILURE.error("pgrewrite {} failed", spec.name(), e);
        String connect = Connections.describe(e, connection.effectiveUrl(), connection.effectiveUser(),
                connection.embedded());
        err.println((connect != null ? connect : "pgrewrite " + spec.name() + ": " + Failures.message(e))
                + Logging.whereDetailsAre());
        return ExitCodes.ERROR;
    }

    /** picocli hands out Writers; our printers want PrintStreams. */
    private static final class WriterStream extends java.io.OutputStream {
        private final java.io.PrintWriter w;

        WriterStream(java.io.PrintWriter w) {
            this.w = w;
        }

        @Override
        public void write(int b) {
            w.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            w.write(new String(b, off, len, java.nio.charset.StandardCharsets.UTF_8));
        }

        @Override
        public void flush() {
            w.flush();
        }
    }
}
