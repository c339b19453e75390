package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * Right after the last swap, a session walks the partitions one after another, holding each in SHARE
 * UPDATE EXCLUSIVE mode for half a second — what autovacuum does after a rewrite (it analyzes every
 * freshly swapped partition), here as an ordinary session, so a real conflict that pgrewrite may not
 * cancel. Contract needs every partition: it meets the walker, backs off, and completes within its
 * attempts; each retry names the walker as the blocker. When the walker never stops, contract fails, and
 * the message names the walker and the partition it held — not an innocent application session.
 */
class WalkerDuringContractTest {

    static final int DAYS = 5;
    static final int ROWS = 500;

    @Test
    void contractOutlastsOneWalkAcrossThePartitions() throws Exception {
        TestDatabase.Database db = table("walker_once");
        Walk walk = new Walk(db, false);
        try (JvmProcess run = JvmProcess.start("run", List.of(), db, "run", job("20").toString())) {
            walk.start();
            assertThat(run.waitFor(240)).as(run.output()).isEqualTo(ExitCodes.OK);
            walk.finish();
            run.lines().stream().filter(l -> l.contains("contract ")).forEach(System.out::println);
            assertThat(walk.walked.get()).as("partitions walked").isEqualTo(DAYS);
            assertThat(run.output()).as("a retry names the walker as the blocker")
                    .containsPattern("contract [^:]*ev: lock not available \\(attempt \\d+/20\\).*Blocked by: \\[pid " + walk.pids()
                            + ", client backend, .*ShareUpdateExclusiveLock granted on ev_2024030\\d");
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev WHERE massa = (id % 1000000) % 3000")).isEqualTo(DAYS * ROWS);
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'massa'"
                    + " AND atttypid = 'integer'::regtype")).isEqualTo(1);
        }
    }

    @Test
    void whenTheWalkerNeverStopsTheFailureNamesIt() throws Exception {
        TestDatabase.Database db = table("walker_forever");
        Walk walk = new Walk(db, true);
        try (JvmProcess run = JvmProcess.start("run", List.of(), db, "run", job("3").toString())) {
            walk.start();
            assertThat(run.waitFor(240)).as(run.output()).isNotEqualTo(ExitCodes.OK);
            walk.finish();
            run.lines().stream().filter(l -> l.contains("contract ")).forEach(System.out::println);
            assertThat(run.output()).containsPattern("contract [^:]*ev: could not get its locks in 3 attempts of 200 ms each\\."
                    + " Blocked by: \\[pid " + walk.pids() + ", client backend, [a-z ]+, ShareUpdateExclusiveLock granted on ev_2024030\\d");
        }
    }

    static TestDatabase.Database table(String name) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase(name);
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
        }
        return db;
    }

    static Path job(String maxAttempts) throws Exception {
        Path job = Files.createTempFile("walker", ".yaml");
        Files.writeString(job, "name: walker\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\nswap:\n  lock-timeout: 200ms\n  max-attempts: " + maxAttempts + "\n");
        return job;
    }

    /**
     * The stand-in: SHARE UPDATE EXCLUSIVE on each partition in turn, by name, half a second each. It starts
     * when the last partition is swapped (what is left of the job, retire and the start of contract, takes
     * less than the first partition's half second, so it is still walking when contract begins; starting
     * one partition earlier let a fast partition run and the walk end before contract). Forever: two
     * sessions hand over (like two autovacuum workers), so some partition is always held.
     */
    static final class Walk {
        final TestDatabase.Database db;
        final boolean forever;
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicInteger walked = new AtomicInteger();
        final int[] pids = new int[2];
        CompletableFuture<Void> done;

        Walk(TestDatabase.Database db, boolean forever) {
            this.db = db;
            this.forever = forever;
        }

        String pids() {
            return forever ? "(" + pids[0] + "|" + pids[1] + ")" : String.valueOf(pids[0]);
        }

        void start() throws Exception {
            Connection[] c = {db.connect(), db.connect()};
            Statement[] st = {c[0].createStatement(), c[1].createStatement()};
            for (int i = 0; i < 2; i++) {
                pids[i] = (int) one(st[i], "SELECT pg_backend_pid()");
            }
            done = CompletableFuture.runAsync(() -> {
                try {
                    while (!stop.get()) { // until the last swap committed (the schema appears once the job started)
                        Thread.sleep(20);
                        if (one(st[0], "SELECT count(*) FROM pg_tables WHERE schemaname = 'pgrewrite' AND tablename = 'partition_state'") > 0
                                && one(st[0], "SELECT count(*) FROM pgrewrite.partition_state WHERE state IN ('swapped', 'retired')")
                                        >= DAYS) {
                            break;
                        }
                    }
                    List<String> partitions = new ArrayList<>();
                    try (var p = st[0].executeQuery("SELECT inhrelid::regclass::text FROM pg_inherits"
                            + " WHERE inhparent = 'ev'::regclass ORDER BY 1")) {
                        while (p.next()) {
                            partitions.add(p.getString(1));
                        }
                    }
                    c[0].setAutoCommit(false);
                    c[1].setAutoCommit(false);
                    int i = 0;
                    do {
                        for (String p : partitions) {
                            if (forever && stop.get()) {
                                break;
                            }
                            int me = forever ? i++ % 2 : 0;
                            st[me].execute("LOCK TABLE " + p + " IN SHARE UPDATE EXCLUSIVE MODE");
                            if (forever) {
                                Thread.sleep(250);
                                c[1 - me].commit(); // the other one lets go of the partition before
                                Thread.sleep(250);
                            } else {
                                st[me].execute("SELECT pg_sleep(0.5)");
                                c[me].commit();
                            }
                            walked.incrementAndGet();
                        }
                    } while (forever && !stop.get());
                    c[0].close();
                    c[1].close();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
        }

        void finish() {
            stop.set(true);
            done.join();
        }
    }
}
