package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk budget tells the truth. A job with {@code retire: keep} leaves its old partitions, and they
 * keep holding the budget; a second job (on another table) with a tight {@code disk.max-extra} waits for
 * room, fails after {@code disk.wait} naming who holds it, ends its wait on {@code stop}, and runs once
 * the kept partitions are dropped. An abandoned execution gives its reservations back.
 */
class DiskBudgetTest {

    @TempDir
    Path dir;

    @Test
    void keptOldPartitionsHoldTheBudgetUntilDroppedAndAWaitingJobGivesUpOrStops() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("disk_keep");
        long day;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "kept", LocalDate.of(2024, 3, 1), 2, 3000);
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 3000);
            day = one(st, "SELECT pg_total_relation_size('ev_20240301')");
        }
        Path keep = dir.resolve("keep.yaml");
        Files.writeString(keep, "name: keep\ntable: kept\noperation: compact\nretire: keep\n");
        CliRun kept = CliRun.run(db, "run", keep.toString());
        assertThat(kept.exitCode()).as(kept.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.disk_reservation WHERE job_key = 'keep@public.kept'"
                    + " AND partition_name LIKE 'kept:%kept\\_202403%' AND bytes > 0")).isEqualTo(2);
        }

        // Room for one partition of ev, but not next to the two kept ones.
        Path tight = dir.resolve("tight.yaml");
        String budget = "name: tight\ntable: ev\noperation: compact\ndisk:\n  max-extra: " + (day * 3 / 2) + "B\n";
        Files.writeString(tight, budget + "  wait: 2s\n");
        long t0 = System.nanoTime();
        CliRun gaveUp = CliRun.run(db, "run", tight.toString());
        assertThat(gaveUp.exitCode()).as(gaveUp.toString()).isEqualTo(ExitCodes.JOB_FAILED);
        assertThat(gaveUp.err()).contains("ev_20240301", "disk.wait", "keep@public.kept kept:", "kept_20240301__old",
                "kept_20240302__old", "disk.max-extra");
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0)).isLessThan(60);

        // The same job, patient this time: it waits until it is stopped.
        Files.writeString(tight, budget + "  wait: 1h\n");
        CompletableFuture<CliRun> waiting = CompletableFuture.supplyAsync(() -> CliRun.run(db, "run", tight.toString()));
        long id = awaitWaitingForBudget(db);
        CliRun stop = CliRun.run(db, "stop", String.valueOf(id), "--wait");
        assertThat(stop.exitCode()).as(stop.toString()).isEqualTo(ExitCodes.OK);
        CliRun stopped = waiting.get(60, TimeUnit.SECONDS);
        assertThat(stopped.exitCode()).as(stopped.toString()).isEqualTo(ExitCodes.STOPPED);

        // The DBA drops the kept partitions: their space, and their reservations, are gone.
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE kept_20240301__old, kept_20240302__old");
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.disk_reservation")).isZero();
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(6000);
        }
    }

    @Test
    void anAbandonedExecutionGivesItsReservationsBack() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("disk_abandon");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 1000);
        }
        Path job = dir.resolve("compact.yaml");
        Files.writeString(job, "name: compact\ntable: ev\noperation: compact\nswap:\n  lock-timeout: 50ms\n  max-attempts: 2\n");
        long id;
        try (Connection holder = db.connect(); Statement st = holder.createStatement()) {
            holder.setAutoCommit(false);
            st.executeQuery("SELECT count(*) FROM ev_20240301").close();
            CliRun failed = CliRun.run(db, "run", job.toString());
            assertThat(failed.exitCode()).as(failed.toString()).isEqualTo(ExitCodes.JOB_FAILED);
            holder.rollback();
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            // The partition that could not swap still holds its copy, and its reservation.
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.disk_reservation WHERE job_key = 'compact@public.ev'")).isEqualTo(1);
            id = one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
        }
        CliRun abandon = CliRun.run(db, "abandon", String.valueOf(id));
        assertThat(abandon.exitCode()).as(abandon.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.disk_reservation")).isZero();
        }
    }

    /** The execution id once its first partition waits in capture (for the budget). */
    private static long awaitWaitingForBudget(TestDatabase.Database db) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                // a partition's step running for 2 s, none of its partitions capturing yet: it waits for budget
                if (one(st, "SELECT count(*) FROM pgrewrite.batch_step_execution WHERE step_name LIKE 'rewrite:ev%'"
                        + " AND status = 'STARTED' AND start_time < localtimestamp - interval '2 seconds'") > 0
                        && one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE job_key = 'tight@public.ev'") == 0) {
                    return one(st, "SELECT e.job_execution_id FROM pgrewrite.batch_job_execution e"
                            + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'"
                            + " AND e.status = 'STARTED'");
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the job never waited for disk budget");
    }
}
