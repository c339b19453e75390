package io.pgrewrite.cli;

import java.io.PrintStream;

import org.springframework.context.ConfigurableApplicationContext;
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
        return new ExecutionActions(ctx).abandon(executionId, out, err, cleanup, dropOld);
    }
}
