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
 * The process is killed while retire drops the first partition's {@code P__old}: retire drops {@code P__old},
 * the change log and the capture function in one transaction (one WAL flush at its commit, where two
 * transactions paid two), so the kill leaves all three, never the log and function without the table; the
 * restart drops them and finishes, leaving nothing of pgrewrite's behind. Retire runs in the background once the
 * swap committed: by the kill the partition's worker step is recorded COMPLETED (a restart does not run it
 * again), and the restart still retires it before contract. Under a disk budget with room for one partition at a
 * time, the restart retires it before the next partition reserves its space: that partition would otherwise wait for
 * a reservation nobody releases, and fail after {@code disk.wait}, at every restart.
 */
class KilledWhileRetiringTest {

    @TempDir
    Path dir;

    @Test
    void aKillInsideRetireLeavesTheOldPartitionItsLogAndFunctionTogether() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("retirekill");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 300);
        }
        Path job = dir.resolve("massa.yaml");
        Files.writeString(job, "name: massa\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nworkers: 1\n");
        killInRetireThenRestart(db, job);
    }

    @Test
    void underABudgetForOnePartitionTheRestartRetiresTheKilledOneBeforeTheNextReserves() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("retirekillbudget");
        long day;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 300);
            day = one(st, "SELECT pg_total_relation_size('ev_20240301')");
        }
        Path job = dir.resolve("tight.yaml");
        Files.writeString(job, "name: tight\ntable: ev\noperation: compact\nworkers: 1\ndisk:\n  max-extra: " + (day * 3 / 2)
                + "B\n  wait: 2s\n");
        killInRetireThenRestart(db, job);
    }

    private void killInRetireThenRestart(TestDatabase.Database db, Path job) throws Exception {
        String partition;
        try (JvmProcess p = JvmProcess.start("retirekill", List.of("-D" + FaultPoints.PROPERTY + "=retire:dropped-old"), db,
                "run", job.toString())) {
            partition = p.await(l -> l.startsWith("PGREWRITE-PAUSED retire:dropped-old "), 120).split(" ")[2];
            // The worker did not wait for it: the partition's step is recorded done while its retire is held.
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                while (one(st, "SELECT count(*) FROM pgrewrite.batch_step_execution WHERE step_name = 'rewrite:" + partition
                        + "' AND status = 'COMPLETED'") == 0) {
                    assertThat(System.nanoTime()).as("rewrite:" + partition + " recorded COMPLETED while its retire is held")
                            .isLessThan(deadline);
                    Thread.sleep(100);
                }
            }
            p.kill();
        }
        io.pgrewrite.plan.PartitionNames n = new io.pgrewrite.plan.PartitionNames("public", partition, "public", "ev");
        long id;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname = '" + partition + "__old'")).isOne();
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE oid = to_regclass('" + n.qLog().replace("'", "''") + "')")).isOne();
            assertThat(one(st, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'pgrewrite'::regnamespace AND proname = 'capture_"
                    + n.hash() + "'")).isOne();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE partition_name = '" + partition
                    + "' AND state = 'swapped'")).isOne();
            id = one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
        }

        CliRun restart = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$' OR relname LIKE 'log\\_%'")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'pgrewrite'::regnamespace AND proname LIKE 'capture\\_%'"))
                    .isZero();
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(600);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state <> 'retired' OR bytes_after IS NULL")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.disk_reservation")).as("every reservation released").isZero();
        }
    }
}
