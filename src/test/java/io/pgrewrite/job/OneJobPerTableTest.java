package io.pgrewrite.job;

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
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two colleagues write two job definitions with different names for the same table and start both:
 * the first one runs; the second is refused at once (exit 6) with the first's execution id, before it
 * plans or touches anything; the first completes as if it were alone.
 */
class OneJobPerTableTest {

    @TempDir
    Path dir;

    @Test
    void aSecondJobOnTheSameTableIsRefusedWhileTheFirstRuns() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("one_per_table");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 3000);
        }
        Path first = dir.resolve("massa.yaml");
        Files.writeString(first, "name: massa-int\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\ncopy:\n  chunk-rows: 200\n  pause: 100ms\n");
        Path second = dir.resolve("compact.yaml");
        Files.writeString(second, "name: tidy-up\ntable: ev\noperation: compact\nworkers: 1\n");

        try (JvmProcess running = JvmProcess.start("first", List.of(), db, "run", first.toString())) {
            long executionId = awaitCopying(db);

            CliRun refused = CliRun.run(db, "run", second.toString());
            assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.ALREADY_RUNNING);
            assertThat(refused.err()).contains("massa-int@public.ev", "execution " + executionId, "One job per table");
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(one(st, "SELECT count(*) FROM pgrewrite.batch_job_instance WHERE job_name = 'rewrite'")).isEqualTo(1);
            }

            assertThat(running.waitFor(180)).as(running.output()).isEqualTo(ExitCodes.OK);
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(9000);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE massa = (id % 1000000) % 3000")).isEqualTo(9000);
            try (ResultSet rs = st.executeQuery("SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid = 'ev'::regclass AND attname = 'massa'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("integer");
            }
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
        }
        // Once the first is done, the second may run.
        CliRun after = CliRun.run(db, "run", second.toString());
        assertThat(after.exitCode()).as(after.toString()).isEqualTo(ExitCodes.OK);
    }

    /** The first job's execution id, once it copies its first partition. */
    static long awaitCopying(TestDatabase.Database db) throws Exception {
        long end = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < end) {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                if (one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'copying'") > 0) {
                    return one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                            + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
                }
            } catch (java.sql.SQLException notYet) {
                // the first process has not created pgrewrite's tables yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the first job never started copying");
    }
}
