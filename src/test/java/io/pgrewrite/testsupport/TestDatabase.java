package io.pgrewrite.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.postgresql.ds.PGSimpleDataSource;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The real PostgreSQL the tests run against: a Testcontainers container where Docker is available,
 * the embedded server (binaries from Maven Central) otherwise. One server per test JVM; every test
 * class takes a fresh database of its own with {@link #newDatabase(String)}.
 * <p>
 * The major version follows {@code -Dpg.version} (14 to 18); the embedded binaries on the class path
 * follow the same property through the Maven profiles.
 */
public final class TestDatabase {

    public static final String VERSION = System.getProperty("pg.version", "17");

    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static Server server;

    private TestDatabase() {
    }

    /** A server of the requested major version, started once per JVM. */
    public static synchronized Server server() {
        if (server == null) {
            server = dockerAvailable() ? container() : embedded();
        }
        return server;
    }

    /** A new, empty database on the shared server; its name starts with {@code prefix}. */
    public static Database newDatabase(String prefix) {
        Server s = server();
        String name = (prefix.replaceAll("[^a-z0-9_]", "_") + "_" + COUNTER.incrementAndGet()).toLowerCase();
        try (Connection c = DriverManager.getConnection(s.url("postgres"), s.user(), s.password());
                Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + name);
            st.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create test database " + name, e);
        }
        return new Database(s, name);
    }

    /** A copy of {@code source} (CREATE DATABASE … TEMPLATE): nobody may be connected to the source. */
    public static Database cloneDatabase(Database source, String prefix) {
        Server s = server();
        String name = (prefix.replaceAll("[^a-z0-9_]", "_") + "_" + COUNTER.incrementAndGet()).toLowerCase();
        try (Connection c = DriverManager.getConnection(s.url("postgres"), s.user(), s.password());
                Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name + " TEMPLATE " + source.name());
        } catch (SQLException e) {
            throw new IllegalStateException("could not copy test database " + source.name(), e);
        }
        return new Database(s, name);
    }

    private static boolean dockerAvailable() {
        if (Boolean.getBoolean("pgrewrite.test.embedded")) {
            return false;
        }
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (Throwable e) {
            return false;
        }
    }

    @SuppressWarnings("resource")
    private static Server container() {
        PostgreSQLContainer pg = new PostgreSQLContainer("postgres:" + VERSION)
                .withCommand("postgres", "-c", "max_locks_per_transaction=256", "-c", "fsync=off");
        pg.start();
        String base = "jdbc:postgresql://" + pg.getHost() + ":" + pg.getMappedPort(5432) + "/";
        return new Server(base, pg.getUsername(), pg.getPassword(), "testcontainers postgres:" + VERSION);
    }

    private static Server embedded() {
        try {
            EmbeddedPostgres pg = EmbeddedPostgres.builder()
                    .setServerConfig("max_locks_per_transaction", "256")
                    .setServerConfig("fsync", "off")
                    .setServerConfig("synchronous_commit", "off")
                    .setServerConfig("full_page_writes", "off")
                    .setServerConfig("max_connections", "200")
                    .start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    pg.close();
                } catch (IOException ignored) {
                    // the JVM is going away; the temporary data directory goes with the process
                }
            }));
            return new Server("jdbc:postgresql://localhost:" + pg.getPort() + "/", "postgres", "postgres",
                    "embedded postgres (binaries " + VERSION + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the embedded PostgreSQL", e);
        }
    }

    /** A running server. */
    public record Server(String baseUrl, String user, String password, String description) {
        public String url(String database) {
            return baseUrl + database;
        }
    }

    /** One database on the server, for one test class. */
    public record Database(Server server, String name) {

        public String url() {
            return server.url(name);
        }

        public DataSource dataSource() {
            PGSimpleDataSource ds = new PGSimpleDataSource();
            ds.setUrl(url());
            ds.setUser(server.user());
            ds.setPassword(server.password());
            return ds;
        }

        public Connection connect() throws SQLException {
            return DriverManager.getConnection(url(), server.user(), server.password());
        }

        /** The CLI options that point pgrewrite at this database. */
        public String[] cliOptions() {
            return new String[] {"--url", url(), "--username", server.user(), "--password", server.password()};
        }
    }
}
