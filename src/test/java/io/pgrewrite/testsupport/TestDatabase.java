package io.pgrewrite.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * <p>
 * Three roles, as on a production server (README "Privileges"):
 * <ul>
 *   <li>{@value #OWNER}, a plain LOGIN role (no superuser, no CREATEDB, no CREATEROLE, no
 *       pg_signal_backend) that owns every test database and so the tables the tests create: it is what
 *       pgrewrite runs as ({@link Database#connect()}, {@link Database#dataSource()},
 *       {@link Database#cliOptions()}).</li>
 *   <li>{@value #APP}, the simulated application: SELECT/INSERT/UPDATE/DELETE on the tables a test grants
 *       it with {@link Tables#grantApp}, nothing else ({@link Database#connectAsApp()},
 *       {@link Database#appDataSource()}).</li>
 *   <li>the server's superuser, only for the few setups that need it ({@link Database#connectAsSuperuser()}).</li>
 * </ul>
 */
public final class TestDatabase {

    public static final String VERSION = System.getProperty("pg.version", "17");

    /** The non-superuser role that owns each test database and runs pgrewrite. */
    public static final String OWNER = "pgrewrite_owner";
    public static final String OWNER_PASSWORD = "owner-secret";
    /** The DML-only role the simulated application writes as. */
    public static final String APP = "app_writer";
    public static final String APP_PASSWORD = "app-secret";

    /** Once per server; the role names are plain lower-case identifiers, the passwords literals without quotes. */
    static final String CREATE_ROLES = """
            DO $$
            BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%1$s') THEN
                CREATE ROLE %1$s LOGIN PASSWORD '%2$s' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
              END IF;
              IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%3$s') THEN
                CREATE ROLE %3$s LOGIN PASSWORD '%4$s' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
              END IF;
            END $$""".formatted(OWNER, OWNER_PASSWORD, APP, APP_PASSWORD);

    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static Server server;

    private TestDatabase() {
    }

    /** A server of the requested major version, started once per JVM. */
    public static synchronized Server server() {
        if (server == null) {
            Server s = dockerAvailable() ? container() : embedded();
            try (Connection c = DriverManager.getConnection(s.url("postgres"), s.user(), s.password());
                    Statement st = c.createStatement()) {
                st.execute(CREATE_ROLES);
            } catch (SQLException e) {
                throw new IllegalStateException("could not create the test roles " + OWNER + " and " + APP, e);
            }
            // What an operator does on PostgreSQL 14 (15 made it the default), and plan requires: every test database
            // is made from template1, so none lets the application create in public (plan.TriggerSafety). There public
            // belongs to the superuser (from 15 on to pg_database_owner): the owner role keeps CREATE by a grant.
            try (Connection c = DriverManager.getConnection(s.url("template1"), s.user(), s.password());
                    Statement st = c.createStatement()) {
                if (c.getMetaData().getDatabaseMajorVersion() < 15) {
                    st.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
                    st.execute("GRANT CREATE ON SCHEMA public TO " + OWNER);
                }
            } catch (SQLException e) {
                throw new IllegalStateException("could not revoke CREATE on schema public in template1", e);
            }
            server = s;
        }
        return server;
    }

    /** A new, empty database on the shared server, owned by {@value #OWNER}; its name starts with {@code prefix}. */
    public static Database newDatabase(String prefix) {
        return newDatabase(prefix, OWNER);
    }

    /**
     * A new, empty database owned by {@code owner} (a role name as SQL, e.g. the superuser's, for a
     * story where pgrewrite's role has no CREATE on the database).
     */
    public static Database newDatabase(String prefix, String owner) {
        Server s = server();
        String name = (prefix.replaceAll("[^a-z0-9_]", "_") + "_" + COUNTER.incrementAndGet()).toLowerCase();
        try (Connection c = DriverManager.getConnection(s.url("postgres"), s.user(), s.password());
                Statement st = c.createStatement()) {
            st.execute("DROP DATABASE IF EXISTS " + name);
            st.execute("CREATE DATABASE " + name + " OWNER " + owner);
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
            st.execute("CREATE DATABASE " + name + " TEMPLATE " + source.name() + " OWNER " + OWNER);
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
            Path dataDirectory = Files.createTempDirectory("pgrewrite-test-pg");
            EmbeddedPostgres pg = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDirectory)
                    .setCleanDataDirectory(false)
                    .setServerConfig("max_locks_per_transaction", "256")
                    .setServerConfig("fsync", "off")
                    .setServerConfig("synchronous_commit", "off")
                    .setServerConfig("full_page_writes", "off")
                    .setServerConfig("max_connections", "200")
                    .start();
            // The embedded server's own shutdown hook stops it. Its data directory (every test database of the
            // JVM, gigabytes at the end of the suite) is removed by a process of its own once the server is
            // down: deleting it in this JVM outlasted surefire's 30 s for the fork to exit, and surefire killed
            // the fork half way through the deletion.
            Runtime.getRuntime().addShutdownHook(new Thread(() -> removeOnceStopped(dataDirectory),
                    "pgrewrite-test-pg-remover"));
            return new Server("jdbc:postgresql://localhost:" + pg.getPort() + "/", "postgres", "postgres",
                    "embedded postgres (binaries " + VERSION + ")");
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the embedded PostgreSQL", e);
        }
    }

    /** Removes a server's data directory in the background, after its postmaster.pid is gone (at most 60 s). */
    private static void removeOnceStopped(Path dataDirectory) {
        try {
            new ProcessBuilder("sh", "-c",
                    "i=0; while [ -e \"$1/postmaster.pid\" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; rm -rf \"$1\"",
                    "sh", dataDirectory.toString())
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException ignored) {
            // the directory stays in the temporary directory
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

        /** pgrewrite's role: the database's (and the test tables') owner, not a superuser. */
        public DataSource dataSource() {
            return dataSource(OWNER, OWNER_PASSWORD);
        }

        /** As pgrewrite's role ({@value TestDatabase#OWNER}). */
        public Connection connect() throws SQLException {
            return DriverManager.getConnection(url(), OWNER, OWNER_PASSWORD);
        }

        /**
         * A connection pool as pgrewrite's role, as the job's own (Hikari), all of its {@code size} connections opened
         * at once; a {@code getConnection} on it waits at most {@code connectionTimeoutMs}. Closed by the caller.
         */
        public com.zaxxer.hikari.HikariDataSource pool(int size, long connectionTimeoutMs) {
            com.zaxxer.hikari.HikariDataSource pool = new com.zaxxer.hikari.HikariDataSource();
            pool.setJdbcUrl(url());
            pool.setUsername(OWNER);
            pool.setPassword(OWNER_PASSWORD);
            pool.setMaximumPoolSize(size);
            pool.setMinimumIdle(size);
            pool.setConnectionTimeout(connectionTimeoutMs);
            return pool;
        }

        /** The simulated application's role ({@value TestDatabase#APP}): only the DML a test granted it. */
        public DataSource appDataSource() {
            return dataSource(APP, APP_PASSWORD);
        }

        /** As the simulated application ({@value TestDatabase#APP}). */
        public Connection connectAsApp() throws SQLException {
            return DriverManager.getConnection(url(), APP, APP_PASSWORD);
        }

        /** As the server's superuser: only for setup that really needs it. */
        public Connection connectAsSuperuser() throws SQLException {
            return DriverManager.getConnection(url(), server.user(), server.password());
        }

        public DataSource superuserDataSource() {
            return dataSource(server.user(), server.password());
        }

        private DataSource dataSource(String user, String password) {
            PGSimpleDataSource ds = new PGSimpleDataSource();
            ds.setUrl(url());
            ds.setUser(user);
            ds.setPassword(password);
            return ds;
        }

        /** The CLI options that point pgrewrite at this database. */
        public String[] cliOptions() {
            return new String[] {"--url", url(), "--username", OWNER, "--password", OWNER_PASSWORD};
        }

        /** Like {@link #cliOptions()}, as another role (e.g. the application's, for {@code traffic}). */
        public String[] cliOptions(String user, String password) {
            return new String[] {"--url", url(), "--username", user, "--password", password};
        }
    }
}
