package io.pgrewrite.swap;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * Two workers reach their swaps while a report holds a long read of the whole table: one swap waits in the
 * parent's lock queue (up to its lock timeout, here 5 s). The other, ready a moment later (the process pauses
 * it for 4 s right before its first attempt), must wait where the application does not queue behind it, not in
 * the parent's lock queue too: there, every insert that arrives after both would wait for both swaps' waits
 * and holds. Then the report ends, the job finishes, and every row, the application's too, is there once.
 */
class OneSwapAtATimeTest {

    static final int DAYS = 2;
    static final int ROWS = 3000;

    /**
     * pgrewrite's own backends (the owner role) waiting for the parent's ACCESS EXCLUSIVE lock (the swap's, what
     * the application's statements queue behind), and waiting for the swaps' advisory lock.
     */
    static final String WAITING = """
            SELECT count(*) FILTER (WHERE l.locktype = 'relation' AND l.relation = 'ev'::regclass AND l.mode = 'AccessExclusiveLock'),
                   count(*) FILTER (WHERE l.locktype = 'advisory'
                                    AND ((l.classid::bigint << 32) | l.objid::bigint)
                                        = hashtextextended('pgrewrite:swap:' || 'ev'::regclass::oid::text, 0))
            FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE NOT l.granted AND a.usename = current_user AND a.pid <> pg_backend_pid()
            """;

    @Test
    void aSecondSwapWaitsOutsideTheParentsLockQueue() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("one_swap");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            Tables.grantApp(c, "public.ev");
        }
        Path job = Files.createTempFile("one-swap", ".yaml");
        Files.writeString(job, "name: oneswap\ntable: ev\noperation: compact\nworkers: 2\nswap:\n  lock-timeout: 5s\n");

        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger inserted = new AtomicInteger();
        AtomicReference<Throwable> appError = new AtomicReference<>();
        Thread app = new Thread(() -> {
            try (Connection a = db.connectAsApp();
                    PreparedStatement ins = a.prepareStatement("INSERT INTO ev (id, at, massa) VALUES (?, '2024-03-02 12:00', 7)")) {
                for (int i = 1; writing.get(); i++) {
                    ins.setLong(1, -i);
                    ins.executeUpdate();
                    inserted.incrementAndGet();
                    Thread.sleep(100);
                }
            } catch (Throwable e) {
                appError.set(e);
            }
        }, "app");
        app.start();

        int mostParentWaiters = 0;
        int swapWaits = 0;
        int samples = 0;
        java.util.Set<String> seen = new java.util.TreeSet<>();
        try (Connection report = db.connectAsApp(); Statement r = report.createStatement()) {
            report.setAutoCommit(false);
            r.executeQuery("SELECT count(*) FROM ev").close(); // holds ACCESS SHARE on the table until it commits
            try (JvmProcess run = JvmProcess.start("run", List.of("-D" + FaultPoints.ANNOUNCE + "=swap:before-lock",
                    "-Dpgrewrite.test.announce-ms=4000"), db, "run", job.toString())) {
                run.await(l -> l.startsWith("PGREWRITE-REACHED swap:before-lock"), 180);
                long end = System.nanoTime() + 30_000_000_000L;
                try (Connection c = db.connect(); Statement st = c.createStatement()) {
                    while (System.nanoTime() < end && swapWaits < 25 && mostParentWaiters < 2) {
                        try (ResultSet rs = st.executeQuery(WAITING)) {
                            rs.next();
                            mostParentWaiters = Math.max(mostParentWaiters, rs.getInt(1));
                            swapWaits += rs.getInt(2) > 0 ? 1 : 0;
                        }
                        try (ResultSet rs = st.executeQuery("SELECT l.locktype || ' ' || l.mode || ' ' || coalesce(l.relation::regclass::text, '') || ': ' || left(a.query, 100)"
                                + " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted AND a.usename = current_user")) {
                            while (rs.next()) {
                                seen.add(rs.getString(1));
                            }
                        }
                        samples++;
                        Thread.sleep(20);
                    }
                }
                report.commit();
                assertThat(run.waitFor(180)).as(run.output()).isEqualTo(ExitCodes.OK);
            }
        } finally {
            writing.set(false);
            app.join(30_000);
        }
        System.out.printf("%d samples: at most %d of pgrewrite's swaps in the parent's lock queue at once; one waited for the other in %d%n",
                samples, mostParentWaiters, swapWaits);
        seen.forEach(l -> System.out.println("waiting: " + l));
        assertThat(appError.get()).as("the application's error").isNull();
        assertThat(mostParentWaiters).as("pgrewrite's swaps waiting in the parent's lock queue at once").isLessThanOrEqualTo(1);
        assertThat(swapWaits).as("samples in which the second worker's swap waited for the first one").isPositive();

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(DAYS * ROWS + (long) inserted.get());
            assertThat(one(st, "SELECT count(DISTINCT id) FROM ev")).isEqualTo(DAYS * ROWS + (long) inserted.get());
            assertThat(one(st, "SELECT count(*) FROM ev WHERE id > 0 AND massa = (id % 1000000) % 3000")).isEqualTo(DAYS * ROWS);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired'")).isEqualTo(DAYS);
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
        }
    }
}
