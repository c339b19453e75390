package io.pgrewrite.cli;

import java.io.PrintStream;
import java.nio.file.Path;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "run", description = "Run a job definition, or continue its failed or stopped run; prints the report.")
final class RunCommand extends DbCommand {

    @Parameters(index = "0", paramLabel = "JOB.yaml", description = "The job definition")
    Path file;

    @picocli.CommandLine.Option(names = "--remote", description = "Send partitions to `pgrewrite worker` processes (any host) through the database instead of local threads")
    boolean remote;

    @picocli.CommandLine.Option(names = "--staleness", defaultValue = "30s", converter = DurationConverter.class,
            description = "With --remote: a partition whose worker sent no heartbeat for this long is sent again (default: ${DEFAULT-VALUE})")
    java.time.Duration staleness;

    private JobDefinition def;

    @Override
    void beforeContext() {
        def = JobDefinitions.load(file);
    }

    @picocli.CommandLine.Option(names = "--http-port", description = "Serve the dashboard, /actuator/health and /actuator/prometheus on this port (0 picks a free one)")
    Integer httpPort;

    @Override
    java.util.Map<String, Object> properties() {
        return Dashboard.properties(httpPort);
    }

    @Override
    int poolSize() {
        return io.pgrewrite.job.RewriteJob.connectionsFor(def.workers());
    }

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        Dashboard.announce(ctx, httpPort, err);
        try (RunProgress progress = RunProgress.start(ctx.getBean(javax.sql.DataSource.class), def)) {
            return Jobs.of(ctx, progress.wrap(out), err).run(def, true, remote ? staleness : null);
        }
    }
}
