package io.pgrewrite.swap;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.demo.DemoTable;
import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The DBA runs pgrewrite as the server's superuser, so it copies P's statistics and resets the copy's change
 * counter (an ANALYZE with every statistics target 0 and back) before the copy's VACUUM. Just then a session of
 * hers holds SHARE UPDATE EXCLUSIVE on {@code P__rw} (as a manual VACUUM or ANALYZE of it would) and does not let
 * go for a while. pgrewrite's wait for that lock is bounded: it gives up after lock_timeout, backs off and tries
 * again, and completes once she is done. Before, the reset ran on a plain pool connection without lock_timeout and
 * waited in the lock queue for as long as she held it.
 */
class LockOnTheCopyAtTheCounterResetTest {

    @Test
    void theResetWaitsBoundedAndRetriesUntilTheLockIsGone() throws Exception {
        // The superuser's database and table (as StatisticsCopiedAsSuperuserTest): the superuser copies statistics on
        // every version, which is when the counter is reset.
        TestDatabase.Database db = TestDatabase.newDatabase("counter_lock", TestDatabase.server().user());
        try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
            st.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC, " + TestDatabase.OWNER);
        }
        // ~10 MB of heap: the reset is for partitions of 8 MB or more.
        DemoTable.create(db.superuserDataSource(), "public", "passage", 1, 10000, LocalDate.of(2024, 3, 3));
        try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
            st.execute("ANALYZE passage");
        }
        Path job = Files.createTempFile("counter-lock", ".yaml");
        Files.writeString(job, "name: cntlock\ntable: passage\noperation: compact\nstatistics: before-swap\nworkers: 1\n");

        int endedWaits = 0;
        try (JvmProcess run = JvmProcess.start("run", List.of("-D" + FaultPoints.ANNOUNCE + "=change-counter",
                "-Dpgrewrite.test.announce-ms=3000"), db.cliOptions(db.server().user(), db.server().password()), "run", job.toString())) {
            String reached = run.await(l -> l.startsWith("PGREWRITE-REACHED change-counter"), 180);
            String copy = reached.split(" ")[2] + "__rw";
            try (Connection dba = db.connectAsSuperuser(); Statement hold = dba.createStatement();
                    Connection watch = db.connectAsSuperuser(); Statement w = watch.createStatement()) {
                dba.setAutoCommit(false);
                hold.execute("LOCK TABLE " + copy + " IN SHARE UPDATE EXCLUSIVE MODE");
                // While she holds it: pgrewrite's request for the lock must end by itself (lock_timeout) and come back.
                boolean waiting = false;
                long until = System.nanoTime() + 40_000_000_000L;
                while (endedWaits < 3 && System.nanoTime() < until) {
                    boolean now;
                    try (ResultSet rs = w.executeQuery("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = to_regclass('"
                            + copy + "') AND NOT granted)")) {
                        rs.next();
                        now = rs.getBoolean(1);
                    }
                    if (waiting && !now) {
                        endedWaits++;
                    }
                    waiting = now;
                    Thread.sleep(10);
                }
                dba.commit();
            }
            assertThat(endedWaits).as("pgrewrite's waits for the lock on the copy that ended while the DBA still held it"
                    + " (none: it waited unbounded)").isGreaterThanOrEqualTo(3);
            assertThat(run.waitFor(180)).as(run.output()).isEqualTo(ExitCodes.OK);
            assertThat(run.output()).contains("change counter of " + copy.replace("public.", ""));
        }
        try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM passage")).isEqualTo(10000);
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
        }
    }
}
