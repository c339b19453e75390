package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The application is busy the whole time, with nothing but short work: a report reads one day in a
 * transaction of 100 ms (half the swap's 200 ms lock timeout), two of them overlapping so that the day
 * is always being read, and a health check counts the whole table in a loop. Contract gets its locks
 * within 3 attempts of 200 ms, and the application sees no error.
 * <p>
 * Before contract took the parent first, it lost every attempt to this traffic, as OnlineRewriteTest's
 * contract once did on a loaded machine: its DROP TRIGGER holds the partitions from the last one down
 * while it waits for the day being read, the count takes the parent and the first days and queues
 * behind it, and contract's request for the parent then waits for the count: a cycle only contract's
 * lock_timeout ended ("could not get its locks in 3 attempts of 200 ms each", blocked by the
 * application's AccessShareLock on a partition).
 */
class ContractAgainstABusyApplicationTest {

    static final LocalDate START = LocalDate.of(2024, 3, 1);
    static final int DAYS = 5;
    static final int ROWS = 500;

    @Test
    void contractGetsItsLocksBetweenShortApplicationTransactions() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("busy_contract");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", START, DAYS, ROWS);
            Tables.grantApp(c, "public.ev");
        }
        Path job = Files.createTempFile("busy-contract", ".yaml");
        Files.writeString(job, "name: busy\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\nswap:\n  lock-timeout: 200ms\n  max-attempts: 3\n");

        AtomicBoolean done = new AtomicBoolean();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        AtomicLong reports = new AtomicLong();
        AtomicLong counts = new AtomicLong();
        AtomicLong worstCountMs = new AtomicLong();
        List<Thread> app = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            long offsetMs = r * 50L;
            app.add(new Thread(() -> {
                try (Connection c = db.connectAsApp(); Statement st = c.createStatement()) {
                    c.setAutoCommit(false);
                    Thread.sleep(offsetMs);
                    while (!done.get()) {
                        st.execute("SELECT count(*) FROM ev WHERE at >= '2024-03-04' AND at < '2024-03-05'");
                        st.execute("SELECT pg_sleep(0.1)");
                        c.commit();
                        reports.incrementAndGet();
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "app-report-" + r));
        }
        app.add(new Thread(() -> {
            try (Connection c = db.connectAsApp(); Statement st = c.createStatement()) {
                while (!done.get()) {
                    long t0 = System.nanoTime();
                    try (var rs = st.executeQuery("SELECT count(*) FROM ev")) {
                        rs.next();
                    }
                    worstCountMs.accumulateAndGet((System.nanoTime() - t0) / 1_000_000, Math::max);
                    counts.incrementAndGet();
                    Thread.sleep(2);
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        }, "app-health-check"));

        app.forEach(Thread::start);
        CliRun run;
        try {
            Thread.sleep(300);
            run = CliRun.run(db, "run", job.toString());
        } finally {
            done.set(true);
            for (Thread t : app) {
                t.join();
            }
        }
        System.out.printf("busy contract: %d reports, %d counts (worst %d ms)%n", reports.get(), counts.get(), worstCountMs.get());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);
        assertThat(errors).as("application errors").isEmpty();
        assertThat(reports.get()).isGreaterThan(10);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'massa'"
                    + " AND atttypid = 'integer'::regtype")).isEqualTo(1);
        }
    }
}
