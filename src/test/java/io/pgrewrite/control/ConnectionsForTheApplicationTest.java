package io.pgrewrite.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.plan.ConnectionBudget;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.OwnServer;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server with max_connections 40 (37 for roles without superuser), the application holding 14 of them. A job
 * file with 4 workers would take a pool of up to 26 connections, and the application's next connect would fail
 * with "too many clients": plan refuses it, naming the figures and the worker count that fits, before anything
 * changes; so does {@code run}, its pool meanwhile opening fewer connections than one worker's pool. The job then
 * runs with 1 worker; {@code pgrewrite set ID workers=4} is refused the same way (exit 4, nothing changed) and taken
 * once the application has closed its sessions. Once checked, the job holds its pool's connections (where the next
 * check counts them): with 26 held, workers=6 is refused and a lower count taken (it opens nothing). Every row is
 * there at the end. Without the checks plan passed workers: 4 and set took workers=4.
 */
class ConnectionsForTheApplicationTest {

    static final int DAYS = 2;
    static final int ROWS = 3000;
    static final int APP_SESSIONS = 14;

    @TempDir
    Path dir;

    @Test
    void workersGetOnlyTheConnectionsTheApplicationLeaves() throws Exception {
        try (OwnServer server = OwnServer.start(Map.of("max_connections", "40"))) { // its own: connections are server-wide
            TestDatabase.Database db = server.newDatabase("conn_budget");
            SlowJob.table(db, DAYS, ROWS);
            Path four = SlowJob.file(dir, "four", 4);
            Path one = SlowJob.file(dir, "one", 1);

            List<Connection> app = appSessions(db);
            CliRun refused = CliRun.run(db, "plan", four.toString());
            assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(refused.out() + refused.err()).contains("connections for 4 workers", "up to 26 connections",
                    "37 connections for roles without superuser (max_connections 40 less 3 reserved)",
                    "Lower workers to", "Nothing was changed");
            assertThat(Watch.number(db, "SELECT count(*) FROM pg_class WHERE relname LIKE '%__rw'")).isZero();

            // run, not only plan: its pool must not open the connections plan then refuses
            AtomicInteger mostOpen = new AtomicInteger();
            CompletableFuture<CliRun> refusedRun = SlowJob.run(db, four);
            while (!refusedRun.isDone()) {
                mostOpen.accumulateAndGet((int) Watch.number(db, PGREWRITE_SESSIONS), Math::max);
                Thread.sleep(20);
            }
            CliRun notRun = refusedRun.get();
            assertThat(notRun.exitCode()).as(notRun.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(notRun.err()).contains("connections for 4 workers");
            assertThat(mostOpen.get()).as("pgrewrite's sessions while run started and planned").isPositive()
                    .isLessThan(ConnectionBudget.poolFor(1));

            CliRun planned = CliRun.run(db, "plan", one.toString());
            assertThat(planned.exitCode()).as(planned.toString()).isEqualTo(ExitCodes.OK);

            CompletableFuture<CliRun> run = SlowJob.run(db, one);
            long id = Watch.started(db);
            String ID = String.valueOf(id);
            JobControls controls = new JobControls(db.dataSource());
            controls.postponeSwap(id); // the job waits at its swaps until the test is done steering it
            Watch.copying(db);
            // once checked, the job holds its pool's connections, where the next check sees them
            Watch.until("the job holds its pool (" + ConnectionBudget.poolFor(1) + ")", 30,
                    () -> Watch.number(db, PGREWRITE_SESSIONS) >= ConnectionBudget.poolFor(1));

            CliRun more = CliRun.run(db, "set", ID, "workers=4");
            assertThat(more.exitCode()).as(more.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(more.err()).contains("Execution " + id + ": workers=4 (from 1) adds up to 15 connections to the job's pool",
                    "open by sessions, pgrewrite's included", "Nothing was changed").doesNotContain("Exception");
            assertThat(controls.state(id).settings()).isEmpty();

            close(app);
            CliRun taken = CliRun.run(db, "set", ID, "workers=4");
            assertThat(taken.exitCode()).as(taken.toString()).isEqualTo(ExitCodes.OK);
            assertThat(controls.state(id).settings()).containsEntry("workers", "4");
            Watch.until("the job holds its grown pool (" + ConnectionBudget.poolFor(4) + ")", 30,
                    () -> Watch.number(db, PGREWRITE_SESSIONS) >= ConnectionBudget.poolFor(4));

            // its own 26 count: two workers more would leave the application less than its tenth
            CliRun again = CliRun.run(db, "set", ID, "workers=6");
            assertThat(again.exitCode()).as(again.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(again.err()).contains("workers=6 (from 4) adds up to 10 connections");
            CliRun fewer = CliRun.run(db, "set", ID, "workers=2");
            assertThat(fewer.exitCode()).as("a lower count opens nothing: " + fewer).isEqualTo(ExitCodes.OK);
            assertThat(controls.state(id).settings()).containsEntry("workers", "2");
            SteerARunningJobTest.ok(CliRun.run(db, "allow-swap", ID));

            CliRun done = run.get(120, TimeUnit.SECONDS);
            assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);
            assertThat(Watch.number(db, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(Watch.number(db, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
        }
    }

    /**
     * A restart does not plan again: the job stopped with 1 worker, its file raised to 4 while the application holds
     * 14 sessions, {@code restart} refuses (exit 4, no new execution) and names the figures; with the sessions closed
     * it completes the job. Without the check the restart ran with 4 workers.
     */
    @Test
    void aRestartWithMoreWorkersGetsTheSameCheck() throws Exception {
        try (OwnServer server = OwnServer.start(Map.of("max_connections", "40"))) {
            TestDatabase.Database db = server.newDatabase("conn_restart");
            SlowJob.table(db, DAYS, ROWS);
            Path job = SlowJob.file(dir, "grow", 1);
            CompletableFuture<CliRun> run = SlowJob.run(db, job);
            long id = Watch.copying(db);
            String ID = String.valueOf(id);
            CliRun stop = CliRun.run(db, "stop", ID, "--wait");
            assertThat(stop.exitCode()).as(stop.toString()).isEqualTo(ExitCodes.OK);
            CliRun stopped = run.get(60, TimeUnit.SECONDS);
            assertThat(stopped.exitCode()).as(stopped.toString()).isEqualTo(ExitCodes.STOPPED);
            SlowJob.file(dir, "grow", 4);

            List<Connection> app = appSessions(db);
            CliRun refused = CliRun.run(db, "restart", ID);
            assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(refused.err()).contains("Execution " + id + " of job grow: connections for 4 workers",
                    "up to 26 connections", "Lower workers to", "then restart it", "Nothing was changed")
                    .doesNotContain("Exception");
            assertThat(Watch.number(db, "SELECT count(*) FROM pgrewrite.batch_job_execution")).isEqualTo(1);

            close(app);
            CliRun restarted = CliRun.run(db, "restart", ID);
            assertThat(restarted.exitCode()).as(restarted.toString()).isEqualTo(ExitCodes.OK);
            assertThat(Watch.number(db, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(Watch.number(db, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
        }
    }

    static final String PGREWRITE_SESSIONS = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgrewrite'";

    /** The application's sessions, open as its DML-only role. */
    private static List<Connection> appSessions(TestDatabase.Database db) throws SQLException {
        return sessions(db, TestDatabase.APP, TestDatabase.APP_PASSWORD, "the application", APP_SESSIONS);
    }

    private static List<Connection> sessions(TestDatabase.Database db, String user, String password, String name, int n)
            throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("ApplicationName", name);
        List<Connection> sessions = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            sessions.add(DriverManager.getConnection(db.url(), p));
        }
        return sessions;
    }

    private static void close(List<Connection> sessions) throws SQLException {
        for (Connection c : sessions) {
            c.close();
        }
    }
}
