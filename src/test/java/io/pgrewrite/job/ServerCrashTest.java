package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.pgrewrite.PgrewriteApplication;
import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.pg.Durability;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The database server crashes (immediate shutdown: SIGQUIT to the postmaster, what {@code pg_ctl stop -m immediate}
 * sends) right after a partition's swap committed — pgrewrite commits asynchronously, so that commit may be lost —
 * while the application keeps inserting, and the DBA starts the server again. The pgrewrite process does not go on
 * from what it believed (a lost swap, its session locks gone): it halts and says so. {@code restart} completes the
 * job; every row the application was told was committed is there, and the table equals a copy changed by the
 * blocking ALTER (same rows, same catalog).
 * <p>
 * A server of its own (the shared test server must not crash), with wal_writer_delay at its maximum so that the
 * crash is likely to lose the swap's commit (the application's own commits flush it, when they come between).
 */
class ServerCrashTest {

    static final int DAYS = 4;
    static final int ROWS = 3000;
    static final String ALTER = "ALTER TABLE ev ALTER COLUMN massa TYPE integer USING massa::integer";

    private Path dataDir;
    private int port;
    private EmbeddedPostgres server;

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void serverCrashAfterASwapIsContinuedByRestart() throws Exception {
        dataDir = Files.createTempDirectory("pgrewrite-crash");
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        server = start();
        TestDatabase.Server srv = new TestDatabase.Server("jdbc:postgresql://localhost:" + port + "/", "postgres", "postgres", "crash");
        try (Connection c = DriverManager.getConnection(srv.url("postgres"), "postgres", "postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE ROLE " + TestDatabase.OWNER + " LOGIN PASSWORD '" + TestDatabase.OWNER_PASSWORD + "'");
            st.execute("CREATE ROLE " + TestDatabase.APP + " LOGIN PASSWORD '" + TestDatabase.APP_PASSWORD + "'");
            st.execute("CREATE DATABASE crash OWNER " + TestDatabase.OWNER);
        }
        TestDatabase.Database db = new TestDatabase.Database(srv, "crash");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            Tables.grantApp(c, "public.ev");
        }
        try (Connection c = DriverManager.getConnection(srv.url("postgres"), "postgres", "postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE crashref TEMPLATE crash OWNER " + TestDatabase.OWNER);
        }
        TestDatabase.Database ref = new TestDatabase.Database(srv, "crashref");
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute(ALTER);
        }

        // The application: one row a 100 ms into one of the days, each in its own (synchronous) transaction.
        ConcurrentLinkedQueue<Long> acknowledged = new ConcurrentLinkedQueue<>();
        // An insert whose answer the crash cut off: committed or not, as the server says after it.
        ConcurrentLinkedQueue<Long> inDoubt = new ConcurrentLinkedQueue<>();
        AtomicBoolean appRuns = new AtomicBoolean(true);
        Thread app = new Thread(() -> {
            long k = 0;
            while (appRuns.get()) {
                long id = 900_000_000L + (++k);
                boolean sent = false;
                try (Connection c = db.connectAsApp(); PreparedStatement ps = c.prepareStatement(
                        "INSERT INTO ev (id, at, massa, label) VALUES (?, timestamp '2024-03-01' + ? * interval '1 day' + interval '1 hour', ?, 'app')")) {
                    while (appRuns.get()) {
                        ps.setLong(1, id);
                        ps.setLong(2, id % DAYS);
                        ps.setInt(3, (int) ((id % 1_000_000) % 3000));
                        sent = true;
                        ps.executeUpdate();
                        sent = false;
                        acknowledged.add(id);
                        id = 900_000_000L + (++k);
                        Thread.sleep(100);
                    }
                } catch (Exception e) {
                    if (sent) {
                        inDoubt.add(id);
                    }
                    sleep(200); // the server is down: try again, as an application's pool would
                }
            }
        }, "application");
        app.start();

        Path job = Files.createTempFile("crash", ".yaml");
        Files.writeString(job, "name: crash\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nworkers: 1\n");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-D" + FaultPoints.ANNOUNCE + "=after-swap", "-Dpgrewrite.test.announce-ms=20000",
                "-cp", System.getProperty("java.class.path"), PgrewriteApplication.class.getName(), "run", job.toString()));
        cmd.addAll(List.of(db.cliOptions()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        StringBuilder output = new StringBuilder();
        CompletableFuture<Void> reached = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (output) {
                        output.append(line).append('\n');
                    }
                    if (line.startsWith("PGREWRITE-REACHED after-swap")) {
                        reached.complete(null);
                    }
                }
            } catch (IOException ignored) {
                // the process is gone
            }
            reached.complete(null);
        }, "pgrewrite-output");
        reader.start();
        reached.get(120, TimeUnit.SECONDS);
        assertThat(output.toString()).contains("PGREWRITE-REACHED after-swap");

        crash(); // right after the swap's (asynchronous) commit
        server = start();

        // The process does not go on past the restarted server: it halts (as if killed) and says why.
        assertThat(p.waitFor(90, TimeUnit.SECONDS)).as(output.toString()).isTrue();
        reader.join(5000);
        assertThat(p.exitValue()).as(output.toString()).isEqualTo(ExitCodes.ERROR);
        assertThat(output.toString()).contains("The database server restarted while pgrewrite ran");

        long executionId;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            executionId = one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
            System.out.println("ServerCrashTest: after the crash the first partition is "
                    + (one(st, "SELECT count(*) FROM pg_class WHERE relname = 'ev_20240301__old'") > 0 ? "swapped (the commit survived)"
                    : "not swapped (the swap's commit was lost, or not yet made)"));
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(executionId));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        appRuns.set(false);
        app.join(10_000);

        // The reference gets the application's acknowledged rows too, and those in doubt that the server kept: then both
        // must be equal.
        List<Long> written = new ArrayList<>(acknowledged);
        try (Connection c = db.connect(); PreparedStatement ps = c.prepareStatement("SELECT id FROM ev WHERE id = ANY (?)")) {
            ps.setArray(1, c.createArrayOf("bigint", inDoubt.toArray()));
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    written.add(rs.getLong(1));
                }
            }
        }
        try (Connection c = ref.connect(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO ev (id, at, massa, label) VALUES (?, timestamp '2024-03-01' + ? * interval '1 day' + interval '1 hour', ?, 'app')")) {
            for (long id : written) {
                ps.setLong(1, id);
                ps.setLong(2, id % DAYS);
                ps.setInt(3, (int) ((id % 1_000_000) % 3000));
                ps.addBatch();
            }
            ps.executeBatch();
        }
        try (Connection c = db.connect(); Connection r = ref.connect(); Statement st = c.createStatement()) {
            assertThat(acknowledged).isNotEmpty();
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS + written.size());
            assertThat(CatalogSnapshot.rows(c, "ev")).isEqualTo(CatalogSnapshot.rows(r, "ev"));
            assertThat(CatalogSnapshot.full(c, "ev")).isEqualTo(CatalogSnapshot.full(r, "ev"));
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
        }
    }

    /**
     * What the report and the operator commands wait for before they speak: with the WAL writer asleep for 10 s,
     * an asynchronous commit of pgrewrite's is made durable by {@link Durability#flush} at once (and proved by
     * the flushed WAL position), and survives an immediate shutdown.
     */
    @Test
    void doneIsOnDiskBeforeItIsSaid() throws Exception {
        dataDir = Files.createTempDirectory("pgrewrite-flush");
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        server = start();
        javax.sql.DataSource ds = server.getPostgresDatabase();
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE done (n int)");
            st.execute("SET synchronous_commit = off");
            st.execute("INSERT INTO done VALUES (1)"); // committed, in the WAL buffers only
            long started = System.nanoTime();
            Durability.flush(ds);
            assertThat((System.nanoTime() - started) / 1_000_000).as("ms to flush").isLessThan(2000);
        }
        crash();
        server = start();
        try (Connection c = server.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM done")).isEqualTo(1);
        }
    }

    private EmbeddedPostgres start() throws IOException {
        return EmbeddedPostgres.builder().setDataDirectory(dataDir).setCleanDataDirectory(false).setPort(port)
                .setServerConfig("max_locks_per_transaction", "256")
                .setServerConfig("synchronous_commit", "on") // the server's default (the embedded builder's is off)
                .setServerConfig("wal_writer_delay", "10s") // the WAL writer flushes our commits late: the crash loses them
                .start();
    }

    /** Immediate shutdown: every backend ends at once, no checkpoint, WAL not yet written is gone. */
    private void crash() throws Exception {
        long pid = Long.parseLong(Files.readAllLines(dataDir.resolve("postmaster.pid")).get(0).trim());
        ProcessHandle postmaster = ProcessHandle.of(pid).orElseThrow();
        new ProcessBuilder("kill", "-QUIT", String.valueOf(pid)).inheritIO().start().waitFor();
        postmaster.onExit().get(30, TimeUnit.SECONDS);
        Files.deleteIfExists(dataDir.resolve("postmaster.pid"));
        try {
            server.close(); // releases the data directory's lock (its pg_ctl stop finds no server)
        } catch (IOException | RuntimeException ignored) {
            // nothing runs to stop
        }
        server = null;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
