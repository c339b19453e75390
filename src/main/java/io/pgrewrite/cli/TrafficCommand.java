package io.pgrewrite.cli;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.demo.Traffic;
import io.pgrewrite.demo.TrafficResult;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.Environment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "traffic", description = {
        "Simulate the application on the demo table while a change runs (on a clone, in a rehearsal, in the benchmark):",
        "single-row inserts into today's partition at a steady rate (camera_naam 'pgrewrite demo traffic'),",
        "one-day counts, count(*) over the table.",
        "No statement or lock timeout: waits are measured, not hidden. Stops after --seconds, or on Ctrl-C / SIGTERM,",
        "and prints errors, p50 / p99 / max latency per kind and the longest gap between successful writes.",
        "Exit code 0 without application errors, 1 with some."})
final class TrafficCommand extends DbCommand {

    @Option(names = "--table", defaultValue = "passage", description = "Table name (default: ${DEFAULT-VALUE})")
    String table;

    @Option(names = "--schema", defaultValue = "public", description = "Schema (default: ${DEFAULT-VALUE})")
    String schema;

    @Option(names = "--seconds", defaultValue = "60", description = "Longest run, 1-86400 s (default: ${DEFAULT-VALUE})")
    int seconds;

    @Option(names = "--insert-rate", defaultValue = "10", description = "Inserts a second (default: ${DEFAULT-VALUE})")
    double insertRate;

    @Option(names = "--readers", defaultValue = "1", description = "Connections counting one random day each (default: ${DEFAULT-VALUE})")
    int readers;

    @Option(names = "--read-rate", defaultValue = "1", description = "One-day counts a second, per reader (default: ${DEFAULT-VALUE})")
    double readRate;

    @Option(names = "--count-every", defaultValue = "10", description = "Seconds between two count(*) of the whole table; 0: never (default: ${DEFAULT-VALUE})")
    double countEvery;

    @Option(names = "--app-username", paramLabel = "ROLE", description = {
            "Role the simulated application connects as, e.g. one with only SELECT/INSERT/UPDATE/DELETE on the table",
            "(default: the --username pgrewrite connects as, which must be able to run pgrewrite's migrations)"})
    String appUsername;

    @Option(names = "--app-password", paramLabel = "PASSWORD", arity = "0..1", description =
            "Its password (default: $PGREWRITE_APP_PASSWORD); prefer the environment variable, a flag shows up in ps")
    String appPassword;

    @Option(names = "--report", paramLabel = "FILE", description = "Also write the figures here: JSON if the name ends in .json, else text")
    Path report;

    @Override
    int poolSize() {
        return 2; // the workload opens its own connections; Flyway's start-up check needs two
    }

    @Override
    int run(ConfigurableApplicationContext ctx, PrintStream out) throws Exception {
        if (seconds < 1 || seconds > 86_400) {
            err.println("--seconds must be 1-86400, not " + seconds);
            return ExitCodes.USAGE;
        }
        Traffic traffic;
        try {
            traffic = new Traffic(new Traffic.Settings(schema, table, Duration.ofSeconds(seconds), insertRate, readers, readRate,
                    Duration.ofMillis(Math.round(countEvery * 1000))), connector(ctx.getEnvironment(), appUsername,
                    appPassword != null ? appPassword : System.getenv("PGREWRITE_APP_PASSWORD")));
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            return ExitCodes.USAGE;
        }
        // SIGTERM from the benchmark, Ctrl-C from a person: stop, and let the figures be written before the JVM exits.
        CountDownLatch written = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            traffic.stop();
            try {
                written.await(15, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "traffic-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            TrafficResult result = traffic.run(out);
            out.print(result.toText());
            if (report != null) {
                String text = report.getFileName().toString().endsWith(".json") ? result.toJson() : result.toText();
                Files.writeString(report, text, StandardCharsets.UTF_8);
            }
            return result.errors() == 0 ? ExitCodes.OK : ExitCodes.JOB_FAILED;
        } catch (IllegalStateException e) {
            err.println(e.getMessage());
            return ExitCodes.PRECONDITION;
        } finally {
            written.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // Already shutting down: the hook is running and has been released above.
            }
        }
    }

    /**
     * The same database the Spring context connected to, through plain JDBC connections of its own: as
     * the application's role when one is given (the context itself still connects as pgrewrite's role,
     * which its start-up migrations need), else as the context's.
     */
    private static Traffic.Connector connector(Environment env, String appUser, String appPassword) {
        String url = env.getRequiredProperty("spring.datasource.url");
        Properties props = new Properties();
        props.setProperty("ApplicationName", "pgrewrite demo traffic");
        String user = appUser != null ? appUser : env.getProperty("spring.datasource.username");
        String password = appUser != null ? appPassword : env.getProperty("spring.datasource.password");
        if (user != null) {
            props.setProperty("user", user);
        }
        if (password != null) {
            props.setProperty("password", password);
        }
        return () -> DriverManager.getConnection(url, props);
    }
}
