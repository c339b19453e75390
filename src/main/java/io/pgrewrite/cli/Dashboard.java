package io.pgrewrite.cli;

import java.io.PrintStream;
import java.util.Map;

import org.springframework.context.ConfigurableApplicationContext;

/** {@code --http-port} of run and worker: the HTTP server (dashboard, health, metrics) as the scheduler serves it. */
final class Dashboard {

    private Dashboard() {
    }

    static Map<String, Object> properties(Integer httpPort) {
        return httpPort == null ? Map.of() : Map.of("pgrewrite.http.enabled", "true", "server.port", String.valueOf(httpPort));
    }

    static void announce(ConfigurableApplicationContext ctx, Integer httpPort, PrintStream err) {
        if (httpPort != null) {
            err.println("Dashboard at http://localhost:" + ctx.getEnvironment().getProperty("local.server.port", String.valueOf(httpPort)) + "/");
        }
    }
}
