package io.pgrewrite.cli;

import java.io.PrintStream;

import io.pgrewrite.definition.JobDefinition;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "restart", description = "Continue a failed or stopped execution (one whose process died is recovered first).")
final class RestartCommand extends DbCommand {

    @Parameters(index = "0", paramLabel = "EXECUTION_ID", description = "The execution to continue (see `status`)")
    long executionId;

    @Override
    int poolSize() {
        return 30;
    }

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        ExecutionActions actions = new ExecutionActions(ctx);
        JobDefinition def = actions.restartable(executionId, err);
        if (def == null) {
            return ExitCodes.NOTHING_TO_DO;
        }
        try (RunProgress progress = RunProgress.start(ctx.getBean(javax.sql.DataSource.class), def)) {
            return actions.restart(def, progress.wrap(out), err);
        }
    }
}
