package io.pgrewrite.schedule;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DBA lets a job run only in short windows: the first window ends mid-copy, the execution ends
 * STOPPED, the next trigger continues it, and after a few windows the job is complete with every row
 * there once and no chunk copied twice.
 */
class MaintenanceWindowTest {

    static final int DAYS = 3;
    static final int ROWS = 4000;

    @TempDir
    Path dir;

    @Test
    void windowsStopTheJobAndTheNextTriggerContinuesIt() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("window");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
        }
        Path job = dir.resolve("nightly.yaml");
        Files.writeString(job, "name: nightly\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\ncopy:\n  chunk-rows: 500\n  pause: 250ms\n"
                + "schedule:\n  cron: \"0/6 * * * * ?\"\n  window: 3500ms\n");

        CliRun scheduler = CliRun.run(db, "scheduler", job.toString(), "--no-http", "--exit-when-done", "--run-for", "PT55S");
        assertThat(scheduler.exitCode()).as(scheduler.toString()).isEqualTo(ExitCodes.OK);
        assertThat(scheduler.out()).contains("Scheduled nightly@public.ev", "Every scheduled job has completed");

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            List<String> statuses = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT e.status FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                    + " USING (job_instance_id) WHERE i.job_name = 'rewrite' ORDER BY e.job_execution_id")) {
                while (rs.next()) {
                    statuses.add(rs.getString(1));
                }
            }
            // One instance, stopped by the end of at least one window, completed by a later trigger.
            assertThat(statuses).as(statuses.toString()).hasSizeGreaterThanOrEqualTo(2).contains("STOPPED")
                    .endsWith("COMPLETED").doesNotContain("FAILED");
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.batch_job_instance WHERE job_name = 'rewrite'")).isEqualTo(1);
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(one(st, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE massa = (id % 1000000) % 3000")).isEqualTo((long) DAYS * ROWS);
            // A chunk's row count commits with the chunk: a chunk copied again after a stop would show here.
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
    }

}
