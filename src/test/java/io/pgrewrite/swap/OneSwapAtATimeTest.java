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
 * Two workers finish their partitions at the same moment. While the first swap holds the parent's ACCESS
 * EXCLUSIVE lock (here for 3 s: the process pauses right after taking it), the second swap must wait where
 * the application does not queue behind it, not in the parent's lock queue: there, every insert that arrives
 * after it would wait for both swaps. The job then finishes, and every row, the application's too, is there once.
 */
class OneSwapAtATimeTest {

    static final int DAYS = 2;
    static final int ROWS = 3000;

    /** pgrewrite's own backends (the owner role), waiting: on the parent's lock, and on the swaps' advisory lock. */
    static final String WAITING = """
            SELECT count(*) FILTER (WHERE l.locktype = 'relation' AND l.relation = 'ev'::regclass),
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
        Files.writeString(job, "name: oneswap\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 2\nswap:\n  lock-timeout: 1s\n");

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

        int parentWaits = 0;
        int swapWaits = 0;
        int samples = 0;
        try (JvmProcess run = JvmProcess.start("run", List.of("-D" + FaultPoints.ANNOUNCE + "=swap:locked",
                "-Dpgrewrite.test.announce-ms=3000"), db, "run", job.toString())) {
            run.await(l -> l.startsWith("PGREWRITE-REACHED swap:locked"), 180);
            long end = System.nanoTime() + 2_700_000_000L; // the first swap holds the parent's lock meanwhile
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                while (System.nanoTime() < end) {
                    try (ResultSet rs = st.executeQuery(WAITING)) {
                        rs.next();
                        parentWaits += rs.getInt(1) > 0 ? 1 : 0;
                        swapWaits += rs.getInt(2) > 0 ? 1 : 0;
                    }
                    samples++;
                    Thread.sleep(20);
                }
            }
            assertThat(run.waitFor(180)).as(run.output()).isEqualTo(ExitCodes.OK);
        } finally {
            writing.set(false);
            app.join(30_000);
        }
        System.out.printf("%d samples: pgrewrite waiting on the parent's lock in %d, on the other swap in %d%n",
                samples, parentWaits, swapWaits);
        assertThat(appError.get()).as("the application's error").isNull();
        assertThat(parentWaits).as("samples in which a second swap waited in the parent's lock queue").isZero();
        assertThat(swapWaits).as("samples in which the second worker's swap waited for the first one").isPositive();

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(DAYS * ROWS + (long) inserted.get());
            assertThat(one(st, "SELECT count(DISTINCT id) FROM ev")).isEqualTo(DAYS * ROWS + (long) inserted.get());
            assertThat(one(st, "SELECT count(*) FROM ev WHERE id > 0 AND massa = (id % 1000000) % 3000")).isEqualTo(DAYS * ROWS);
            try (ResultSet rs = st.executeQuery("SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid = 'ev'::regclass AND attname = 'massa'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("integer");
            }
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
        }
    }
}
