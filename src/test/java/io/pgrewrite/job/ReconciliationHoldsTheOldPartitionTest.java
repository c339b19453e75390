package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A compact under a disk budget with room for one partition at a time. Right after the first partition's swap, the
 * application's reconciliation script opens a transaction and counts the rows of {@code ev_20240301__old} (to check
 * the rewrite against it): the background retire cannot drop it within its lock attempts, and fails. The worker
 * retries that retire on its own connection before the next partition reserves its space (the reservation is what
 * retire releases). When the script has committed by then, the retry drops {@code P__old} and the job goes on; when
 * it still holds its transaction, the next partition fails naming the retire, with one {@code P__old} left, and the
 * restart finishes once the script is done. Without the retry the next partition waited {@code disk.wait} for a
 * reservation that nobody releases, and failed for want of disk at every restart.
 */
class ReconciliationHoldsTheOldPartitionTest {

    static final String FAILED = "its retire after the swap failed";

    @TempDir
    Path dir;

    @Test
    void theScriptEndsAfterTheRetireFailedAndTheWorkersRetryDropsTheOldPartition() throws Exception {
        TestDatabase.Database db = database("reconcile_once");
        try (JvmProcess p = JvmProcess.start("reconcile_once", jvmArgs(), db, "run", job(db).toString());
                Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            reconcileAfterTheFirstSwap(p, app, st);
            p.await(l -> l.contains(FAILED), 120);
            app.commit(); // the script is done

            assertThat(p.waitFor(180)).as(p.output()).isEqualTo(ExitCodes.OK);
            assertThat(p.output()).contains("ev_20240301: retrying its retire on the worker's connection");
        }
        assertNothingLeft(db);
    }

    @Test
    void theScriptHoldsItsTransactionThroughoutAndTheNextPartitionFailsNamingTheRetire() throws Exception {
        TestDatabase.Database db = database("reconcile_held");
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            try (JvmProcess p = JvmProcess.start("reconcile_held", jvmArgs(), db, "run", job(db).toString())) {
                reconcileAfterTheFirstSwap(p, app, st);
                assertThat(p.waitFor(180)).as(p.output()).isNotEqualTo(ExitCodes.OK);
                assertThat(p.output()).contains("drop ev_20240301__old").doesNotContain("(disk.wait)");
            }
            try (Connection c = db.connect(); Statement own = c.createStatement()) {
                assertThat(one(own, "SELECT count(*) FROM pg_class WHERE relname ~ '__old$'")).as("one P__old outlives its swap")
                        .isOne();
                assertThat(one(own, "SELECT count(*) FROM pg_class WHERE relname LIKE 'ev\\_20240302\\_\\_%'"))
                        .as("the next partition was not begun").isZero();
            }
            app.commit(); // the script is done
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        assertNothingLeft(db);
    }

    private static TestDatabase.Database database(String name) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase(name);
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 300);
            Tables.grantApp(c, "public.ev");
        }
        return db;
    }

    /** Room for one partition's copy at a time; a retire gives up after 3 lock attempts of 300 ms. */
    private Path job(TestDatabase.Database db) throws Exception {
        long day;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            day = one(st, "SELECT pg_total_relation_size('ev_20240301')");
        }
        Path job = dir.resolve("tight.yaml");
        Files.writeString(job, "name: tight\ntable: ev\noperation: compact\nworkers: 1\nswap:\n  lock-timeout: 300ms\n"
                + "  max-attempts: 3\ndisk:\n  max-extra: " + (day * 3 / 2) + "B\n  wait: 2s\n");
        return job;
    }

    /** Holds the worker for 3 s right after the first swap committed, before it hands the retire to the background. */
    private static List<String> jvmArgs() {
        return List.of("-D" + FaultPoints.ANNOUNCE + "=after-swap", "-Dpgrewrite.test.announce-ms=3000");
    }

    private static void reconcileAfterTheFirstSwap(JvmProcess p, Connection app, Statement st) throws Exception {
        assertThat(p.await(l -> l.startsWith("PGREWRITE-REACHED after-swap "), 120)).endsWith(" ev_20240301");
        app.setAutoCommit(false);
        assertThat(one(st, "SELECT count(*) FROM ev_20240301__old")).isEqualTo(300);
    }

    private static void assertNothingLeft(TestDatabase.Database db) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$' OR relname LIKE 'log\\_%'")).isZero();
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(600);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state <> 'retired'")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.disk_reservation")).as("every reservation released").isZero();
        }
    }
}
