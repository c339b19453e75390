package io.pgrewrite.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * An embedded server of a test's own, for settings the shared one must not have (e.g. an
 * {@code autovacuum_freeze_max_age} that makes anti-wraparound autovacuums start within seconds). It has
 * the test roles ({@value TestDatabase#OWNER}, {@value TestDatabase#APP}); start-up costs ~2 s.
 */
public final class OwnServer implements AutoCloseable {

    private final EmbeddedPostgres pg;
    private final TestDatabase.Server server;

    private OwnServer(EmbeddedPostgres pg) {
        this.pg = pg;
        this.server = new TestDatabase.Server("jdbc:postgresql://localhost:" + pg.getPort() + "/", "postgres", "postgres",
                "embedded postgres of one test");
    }

    public static OwnServer start(Map<String, String> settings) {
        try {
            EmbeddedPostgres.Builder b = EmbeddedPostgres.builder()
                    .setServerConfig("max_locks_per_transaction", "256")
                    .setServerConfig("fsync", "off");
            settings.forEach(b::setServerConfig);
            OwnServer s = new OwnServer(b.start());
            try (Connection c = DriverManager.getConnection(s.server.url("postgres"), "postgres", "postgres");
                    Statement st = c.createStatement()) {
                st.execute(TestDatabase.CREATE_ROLES);
            }
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException("could not start an embedded PostgreSQL", e);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create the test roles", e);
        }
    }

    /** A new database owned by {@value TestDatabase#OWNER}. */
    public TestDatabase.Database newDatabase(String name) {
        try (Connection c = DriverManager.getConnection(server.url("postgres"), "postgres", "postgres");
                Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name + " OWNER " + TestDatabase.OWNER);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create database " + name, e);
        }
        return new TestDatabase.Database(server, name);
    }

    @Override
    public void close() {
        try {
            pg.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
