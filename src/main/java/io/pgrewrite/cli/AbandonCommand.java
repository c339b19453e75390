package io.pgrewrite.cli;

import java.io.PrintStream;

import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;

@Command(name = "abandon", description = {"Give up an execution for good: neither `restart` nor the scheduler continues it.",
        "Partitions already swapped stay rewritten; the rest of the table is left as it is."})
final class AbandonCommand extends ExecutionCommand {

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        return new ExecutionActions(ctx).abandon(executionId, out, err);
    }
}
