package io.pgrewrite.cli;

import java.util.HashMap;
import java.util.Map;

import io.pgrewrite.PgrewriteApplication;
import io.pgrewrite.pg.EmbeddedServer;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Starts the Spring context for a command that needs the database: the DataSource the Spring Boot way
 * (SPRING_DATASOURCE_* or the CLI flags, else the embedded server), Flyway migrations of schema
 * {@code pgrewrite} (the target's own schemas are never touched at start-up), the JobRepository.
 */
final class AppContext {

    static final String POOL_NAME = "pgrewrite";

    /**
     * The driver's settings, here and in PlainDatabase. TCP keepalives: the driver notices a server (or network)
     * that went away instead of waiting on a dead socket. A pgrewrite host that stalls or dies while holding
     * locks is ended by the server sooner: LockRetry's idle_in_transaction_session_timeout. (Server-side
     * tcp_keepalives_* through Hikari's connection-init-sql broke the clustered scheduler's check-in,
     * TwoSchedulersTest: not set here.) ApplicationName: the throttle tells pgrewrite's sessions from the
     * application's by it (lock-waiters, oldest-transaction).
     */
    static final Map<String, String> DATA_SOURCE_PROPERTIES = Map.of("tcpKeepAlive", "true", "ApplicationName", "pgrewrite");

    private AppContext() {
    }

    static ConfigurableApplicationContext open(ConnectionOptions conn, int poolSize) {
        return open(conn, poolSize, Map.of());
    }

    /**
     * @param extra properties of the command (scheduler: Quartz's JDBC store, the HTTP server); they beat
     *     the defaults below. The HTTP server (Actuator health and /actuator/prometheus) runs only when
     *     {@code pgrewrite.http.enabled} is true here, in a system property or in PGREWRITE_HTTP_ENABLED.
     */
    static ConfigurableApplicationContext open(ConnectionOptions conn, int poolSize, Map<String, Object> extra) {
        conn.refuseCredentialsInUrl();
        Map<String, Object> props = new HashMap<>();
        // Quartz only in `scheduler`, which asks for it in its extra properties.
        props.put("spring.autoconfigure.exclude", "org.springframework.boot.quartz.autoconfigure.QuartzAutoConfiguration");
        props.put("management.endpoints.web.exposure.include", "health,prometheus");
        props.put("management.endpoint.health.show-details", "always");
        props.put("spring.main.banner-mode", "off");
        props.put("spring.main.log-startup-info", "false");
        props.put("spring.batch.job.enabled", "false");
        props.put("spring.batch.jdbc.initialize-schema", "never");
        props.put("spring.batch.jdbc.table-prefix", "pgrewrite.BATCH_");
        // Partition jobs are created concurrently, one instance per partition; SERIALIZABLE (the default)
        // makes those creations fail each other. Two creations of the same instance cannot happen: the
        // job's advisory lock and the JobRepository's unique key see to that. The session's own level, which
        // is READ COMMITTED on every connection of pgrewrite's pool (Durability.SESSION sets it): naming
        // read_committed here made the transaction manager ask the connection (SHOW TRANSACTION ISOLATION
        // LEVEL, a round trip) before every step-execution create.
        props.put("spring.batch.jdbc.isolation-level-for-create", "default");
        props.put("spring.flyway.schemas", StateSchema.SCHEMA);
        props.put("spring.flyway.default-schema", StateSchema.SCHEMA);
        props.put("spring.flyway.locations", StateSchema.LOCATIONS);
        props.put("spring.datasource.hikari.maximum-pool-size", String.valueOf(poolSize));
        // Hikari's minimum-idle is the maximum unless set: the pool would open every connection the job may need
        // (5 a worker, ConnectionBudget) while the context starts, before plan checks the server has them to spare.
        props.put("spring.datasource.hikari.minimum-idle", "1");
        props.put("spring.datasource.hikari.pool-name", POOL_NAME);
        DATA_SOURCE_PROPERTIES.forEach((k, v) -> props.put("spring.datasource.hikari.data-source-properties." + k, v));
        if (conn.embedded()) {
            EmbeddedServer server = new EmbeddedServer(conn.embeddedDir, embeddedPort()).start();
            props.put("spring.datasource.url", server.jdbcUrl());
            props.put("spring.datasource.username", "postgres");
            props.put("spring.datasource.password", "");
        }
        boolean http = Boolean.parseBoolean(String.valueOf(extra.getOrDefault("pgrewrite.http.enabled",
                System.getProperty("pgrewrite.http.enabled", System.getenv().getOrDefault("PGREWRITE_HTTP_ENABLED", "false")))));
        // Migrations after the context started, and only where the schema is behind (StateSchema.migrate): Spring
        // Boot's Flyway beans, made and run on every start, were a sixth of the context's start-up (on 2 loaded
        // cores 1.06 of 6.55 s: the Flyway bean 0.60, its migrate that found nothing to do 0.46). Not where
        // something may read pgrewrite's tables while the context starts: Quartz's scheduler (its tables come from
        // the migrations) and the HTTP server (the dashboard) keep them in the context, before anything else.
        // Nor where the environment has Spring settings of its own (SPRING_FLYWAY_USER, a spring.* property, an
        // application.properties: PlainDatabase.applies): Spring Boot's Flyway then migrates as it is told.
        boolean migrateAfter = !http && !extra.containsKey("spring.flyway.enabled") && !extra.containsKey("spring.quartz.job-store-type")
                && PlainDatabase.applies();
        if (migrateAfter) {
            props.put("spring.flyway.enabled", "false");
        }
        props.putAll(extra);
        Map<String, Object> overrides = new HashMap<>();
        put(overrides, "spring.datasource.url", conn.url);
        put(overrides, "spring.datasource.username", conn.username);
        put(overrides, "spring.datasource.password", conn.password);

        SpringApplication app = new SpringApplication(PgrewriteApplication.class);
        app.setWebApplicationType(http ? WebApplicationType.SERVLET : WebApplicationType.NONE);
        app.setDefaultProperties(props);
        app.setRegisterShutdownHook(false);
        // Flags beat the environment: pass them as the highest-precedence property source.
        String[] args = overrides.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new);
        ConfigurableApplicationContext ctx = app.run(args);
        if (migrateAfter) {
            try {
                StateSchema.migrate(ctx.getBean(javax.sql.DataSource.class));
            } catch (RuntimeException e) {
                ctx.close();
                throw e;
            }
        }
        ArchivedJvm.contextStarted();
        return ctx;
    }

    static int embeddedPort() {
        return Integer.parseInt(System.getenv().getOrDefault("PGREWRITE_EMBEDDED_PORT", String.valueOf(EmbeddedServer.DEFAULT_PORT)));
    }

    private static void put(Map<String, Object> m, String key, String value) {
        if (value != null) {
            m.put(key, value);
        }
    }
}
