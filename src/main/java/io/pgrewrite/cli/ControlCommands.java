package io.pgrewrite.cli;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import io.pgrewrite.control.JobControls;
import io.pgrewrite.control.JobControls.ControlException;
import io.pgrewrite.control.JobControls.State;
import io.pgrewrite.definition.RuntimeSettings;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * Steering a running execution from any host: thin wrappers over {@link JobControls}, which stores the
 * control in the database, where every process working on the execution reads it within about a second.
 */
final class ControlCommands {

    private ControlCommands() {
    }

    /** One control on one execution; prints what holds the execution back now. */
    abstract static class Control extends DbCommand {

        @Parameters(index = "0", paramLabel = "EXECUTION_ID", description = "The execution (see `pgrewrite status`)")
        long executionId;

        @Override
        int poolSize() {
            return 2;
        }

        abstract State apply(JobControls controls);

        abstract String done();

        @Override
        int run(ConfigurableApplicationContext ctx, PrintStream out) {
            try {
                State s = apply(new JobControls(ctx.getBean(DataSource.class)));
                String now = s.describe();
                io.pgrewrite.pg.Durability.flush(ctx.getBean(DataSource.class));
                out.printf("Execution %d (%s): %s.%s%n", executionId, s.jobKey(), done(),
                        now == null ? "" : " Now: " + now + ".");
                return ExitCodes.OK;
            } catch (ControlException e) {
                err.println(e.getMessage());
                return e.badInput() ? ExitCodes.USAGE : e.precondition() ? ExitCodes.PRECONDITION : ExitCodes.NOTHING_TO_DO;
            }
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true, description = {"Pause a running execution: partitions copying stop at their next chunk boundary"
            + " (nothing is lost) and no swap starts; the execution stays RUNNING and `status` says it is paused.",
            "`pgrewrite resume ID` continues it. Obeyed by every process working on it, remote workers too."})
    static final class Pause extends Control {
        @Override
        State apply(JobControls c) {
            return c.pause(executionId);
        }

        @Override
        String done() {
            return "paused; copies stop at their next chunk boundary";
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resume a paused execution: copies go on from their last chunk.")
    static final class Resume extends Control {
        @Override
        State apply(JobControls c) {
            return c.resume(executionId);
        }

        @Override
        String done() {
            return "resumed";
        }
    }

    @Command(name = "postpone-swap", mixinStandardHelpOptions = true, description = {"Postpone the swaps of a running execution: copying, indexing and"
            + " verifying go on, no swap starts (one under way finishes).", "`pgrewrite allow-swap ID` lets them start again."})
    static final class PostponeSwap extends Control {
        @Override
        State apply(JobControls c) {
            return c.postponeSwap(executionId);
        }

        @Override
        String done() {
            return "swaps postponed; partitions wait before their swap";
        }
    }

    @Command(name = "allow-swap", mixinStandardHelpOptions = true, description = "Let the swaps of a running execution start again (within swap.window).")
    static final class AllowSwap extends Control {
        @Override
        State apply(JobControls c) {
            return c.allowSwap(executionId);
        }

        @Override
        String done() {
            return "swaps allowed";
        }
    }

    @Command(name = "set", mixinStandardHelpOptions = true, description = {"Change job keys of a running execution, e.g. `pgrewrite set 42 workers=2 copy.pause=50ms`.",
            "Keys: workers, copy.chunk-rows, copy.pause, swap.window (or always), throttle.* (see jobs/README.md);",
            "a value `default` goes back to the job definition's."})
    static final class Set extends Control {

        @Parameters(index = "1..*", arity = "1..*", paramLabel = "KEY=VALUE", description = "Job keys and their new values")
        List<String> settings;

        @Override
        State apply(JobControls c) {
            Map<String, String> m = new LinkedHashMap<>();
            for (String s : settings) {
                int eq = s.indexOf('=');
                if (eq <= 0) {
                    throw new ControlException("Execution " + executionId + ": '" + s + "' is not key=value, e.g. workers=2;"
                            + " keys: " + String.join(", ", RuntimeSettings.KEYS) + ". Nothing was changed.", true);
                }
                m.put(s.substring(0, eq).strip(), s.substring(eq + 1));
            }
            return c.set(executionId, m);
        }

        @Override
        String done() {
            return "set " + String.join(" ", settings);
        }
    }
}
