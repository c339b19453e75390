package io.pgrewrite.cli;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator stops a running job from another shell with {@code stop ID --wait}: the partition copying
 * stops at a chunk boundary, the others do not start, the run exits 7 and {@code status} says where each
 * partition stands. {@code restart} continues it: every row is there once, and no chunk was copied twice.
 */
class StopAndResumeTest {

    static final int DAYS = 3;
    static final int ROWS = 6000;

    @TempDir
    Path dir;

    @Test
    void stopMidCopyThenRestart() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("stop");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
        }
        Path job = dir.resolve("stop.yaml");
        Files.writeString(job, "name: stop\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\ncopy:\n  chunk-rows: 500\n  pause: 300ms\n");

        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(db, "run", job.toString()));
        long id = waitForRowsCopied(db);

        CliRun stop = CliRun.run(db, "stop", String.valueOf(id), "--wait");
        assertThat(stop.exitCode()).as(stop.toString()).isEqualTo(ExitCodes.OK);
        assertThat(stop.out()).contains("Execution " + id + ": STOPPED");
        CliRun stopped = run.get(60, TimeUnit.SECONDS);
        assertThat(stopped.exitCode()).as(stopped.toString()).isEqualTo(ExitCodes.STOPPED);

        CliRun status = CliRun.run(db, "status", String.valueOf(id));
        System.out.println("status of the stopped run:\n" + status.out());
        assertThat(status.exitCode()).isEqualTo(ExitCodes.OK);
        assertThat(status.out()).contains("STOPPED", "ev_20240301", "stopped", "pending", "`pgrewrite restart " + id + "`");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            long copied = one(st, "SELECT coalesce(sum(rows_copied), 0) FROM pgrewrite.partition_state");
            assertThat(copied).isGreaterThan(0).isLessThan((long) DAYS * ROWS);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state IN ('swapped', 'retired')")).isZero();
        }
        CliRun again = CliRun.run(db, "stop", String.valueOf(id));
        assertThat(again.exitCode()).isEqualTo(ExitCodes.NOTHING_TO_DO);

        CliRun restart = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        long resumed;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            resumed = lastExecution(st);
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(one(st, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
            // A chunk's row count commits with the chunk: a chunk copied twice would show here.
            try (ResultSet rs = st.executeQuery("SELECT partition_name, rows_copied, state FROM pgrewrite.partition_state")) {
                int n = 0;
                while (rs.next()) {
                    n++;
                    assertThat(rs.getLong(2)).as(rs.getString(1)).isEqualTo(ROWS);
                    assertThat(rs.getString(3)).isEqualTo("retired");
                }
                assertThat(n).isEqualTo(DAYS);
            }
        }
        CliRun done = CliRun.run(db, "status", String.valueOf(resumed));
        System.out.println("status of the resumed run:\n" + done.out());
        assertThat(done.out()).contains("COMPLETED", DAYS + " done");
        CliRun json = CliRun.run(db, "status", String.valueOf(resumed), "--json");
        assertThat(json.out()).contains("\"status\" : \"COMPLETED\"", "\"state\" : \"done\"", "\"rowsDone\" : " + DAYS * ROWS);
        CliRun list = CliRun.run(db, "status");
        assertThat(list.out()).contains(id + " ", "STOPPED", resumed + " ", "COMPLETED", "stop@public.ev");
    }

    /** Waits until the run has committed a few chunks; returns its execution id. */
    static long waitForRowsCopied(TestDatabase.Database db) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                if (one(st, "SELECT count(*) FROM pg_tables WHERE schemaname = 'pgrewrite' AND tablename = 'partition_state'") > 0
                        && one(st, "SELECT coalesce(sum(rows_copied), 0) FROM pgrewrite.partition_state") >= 500) {
                    return lastExecution(st);
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the run copied nothing within 60 s");
    }

    /** The newest execution of the rewrite job (partition jobs have executions of their own). */
    static long lastExecution(Statement st) throws Exception {
        return one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                + " USING (job_instance_id) WHERE i.job_name = 'rewrite'");
    }

}
