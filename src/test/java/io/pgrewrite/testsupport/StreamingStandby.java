package io.pgrewrite.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * A primary of its own with one streaming standby, both from the embedded binaries (which have no
 * pg_basebackup): the standby is the primary's data directory copied while it runs, between
 * {@code pg_backup_start} and {@code pg_backup_stop} (PostgreSQL's low-level base backup), with the
 * backup label, {@code standby.signal}, {@code primary_conninfo} and a physical replication slot, so it
 * streams from the backup's start on. The standby reports its positions every second, so lag shows soon.
 * <p>
 * The primary has the test roles ({@value TestDatabase#OWNER}, {@value TestDatabase#APP}); it is a server
 * of its own, so a test may grant its roles more than the shared server's have. Start-up costs ~3 s.
 */
public final class StreamingStandby implements AutoCloseable {

    private static final String SLOT = "standby";
    /** Left out of the copy: the running primary's process files, its WAL (streamed instead) and slots. */
    private static final Set<String> SKIPPED = Set.of("postmaster.pid", "postmaster.opts", "epg-lock");
    private static final Set<String> EMPTIED = Set.of("pg_wal", "pg_replslot", "pg_stat_tmp");

    private final EmbeddedPostgres primary;
    private final EmbeddedPostgres standby;
    private final Path standbyDirectory;
    private final TestDatabase.Server server;

    private StreamingStandby(EmbeddedPostgres primary, EmbeddedPostgres standby, Path standbyDirectory) {
        this.primary = primary;
        this.standby = standby;
        this.standbyDirectory = standbyDirectory;
        this.server = new TestDatabase.Server("jdbc:postgresql://localhost:" + primary.getPort() + "/", "postgres", "postgres",
                "embedded primary with a streaming standby");
    }

    public static StreamingStandby start() {
        EmbeddedPostgres primary = null;
        Path standbyLog = null;
        try {
            primary = EmbeddedPostgres.builder()
                    .setServerConfig("max_locks_per_transaction", "256")
                    .setServerConfig("fsync", "off")
                    .setServerConfig("wal_level", "replica")
                    .setServerConfig("max_wal_senders", "4")
                    .start();
            String url = "jdbc:postgresql://localhost:" + primary.getPort() + "/postgres";
            Path copy = Files.createTempDirectory("pgrewrite-standby");
            try (Connection c = DriverManager.getConnection(url, "postgres", "postgres"); Statement st = c.createStatement()) {
                st.execute(TestDatabase.CREATE_ROLES);
                st.execute("SELECT pg_create_physical_replication_slot('" + SLOT + "', true)");
                boolean old = c.getMetaData().getDatabaseMajorVersion() < 15;
                Path data = Path.of(single(st, "SHOW data_directory"));
                st.execute(old ? "SELECT pg_start_backup('standby', true, false)" : "SELECT pg_backup_start('standby', true)");
                copyTree(data, copy);
                String label = single(st, old ? "SELECT labelfile FROM pg_stop_backup(false)"
                        : "SELECT labelfile FROM pg_backup_stop(false)");
                Files.writeString(copy.resolve("backup_label"), label);
            }
            Files.writeString(copy.resolve("standby.signal"), "");
            Files.writeString(copy.resolve("postgresql.auto.conf"), "primary_conninfo = 'host=localhost port=" + primary.getPort()
                    + " user=postgres application_name=standby1'\nprimary_slot_name = '" + SLOT + "'\n");
            standbyLog = Files.createTempFile("pgrewrite-standby", ".log");
            EmbeddedPostgres standby = EmbeddedPostgres.builder()
                    .setOutputRedirector(ProcessBuilder.Redirect.appendTo(standbyLog.toFile()))
                    .setErrorRedirector(ProcessBuilder.Redirect.appendTo(standbyLog.toFile()))
                    .setDataDirectory(copy.toFile())
                    .setCleanDataDirectory(false)
                    .setServerConfig("hot_standby", "on")
                    .setServerConfig("max_locks_per_transaction", "256") // a standby needs at least the primary's
                    .setServerConfig("wal_receiver_status_interval", "1s")
                    .setServerConfig("fsync", "off")
                    .start();
            return new StreamingStandby(primary, standby, copy);
        } catch (IOException | SQLException e) {
            if (primary != null) {
                try {
                    primary.close();
                } catch (IOException ignored) {
                    // the failure below says what went wrong
                }
            }
            throw new IllegalStateException("could not start a primary with a streaming standby: " + e.getMessage()
                    + (standbyLog == null ? "" : "; the standby's log: " + standbyLog), e);
        }
    }

    private static String single(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Files change and vanish while the primary runs: the backup label makes the standby replay from before the copy. */
    private static void copyTree(Path from, Path to) throws IOException {
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Files.createDirectories(to.resolve(from.relativize(dir).toString()));
                return !dir.equals(from) && EMPTIED.contains(dir.getFileName().toString()) ? FileVisitResult.SKIP_SUBTREE
                        : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (!SKIPPED.contains(file.getFileName().toString())) {
                    try {
                        Files.copy(file, to.resolve(from.relativize(file).toString()), StandardCopyOption.REPLACE_EXISTING);
                    } catch (NoSuchFileException gone) {
                        // dropped while we copied: the WAL replayed from the backup's start recreates what is needed
                    }
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }
        });
        Files.createDirectories(to.resolve("pg_wal").resolve("archive_status"));
    }

    /** The primary, for {@link TestDatabase.Database} (its superuser is {@code postgres}). */
    public TestDatabase.Server primary() {
        return server;
    }

    /** A new database on the primary owned by {@value TestDatabase#OWNER}; the standby gets it by replay. */
    public TestDatabase.Database newDatabase(String name) {
        try (Connection c = DriverManager.getConnection(server.url("postgres"), "postgres", "postgres");
                Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + name + " OWNER " + TestDatabase.OWNER);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create database " + name + " on the primary", e);
        }
        return new TestDatabase.Database(server, name);
    }

    /** As the standby's superuser, in {@code database} (read-only: it is in recovery). */
    public Connection connectToStandby(String database) throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://localhost:" + standby.getPort() + "/" + database, "postgres",
                "postgres");
    }

    /** Stops replaying WAL (it still receives it): the standby falls behind while the primary writes. */
    public void pauseReplay() throws SQLException {
        try (Connection c = connectToStandby("postgres"); Statement st = c.createStatement()) {
            st.execute("SELECT pg_wal_replay_pause()");
        }
    }

    public void resumeReplay() throws SQLException {
        try (Connection c = connectToStandby("postgres"); Statement st = c.createStatement()) {
            st.execute("SELECT pg_wal_replay_resume()");
        }
    }

    @Override
    public void close() {
        try {
            standby.close();
            primary.close();
            try (Stream<Path> files = Files.walk(standbyDirectory)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
