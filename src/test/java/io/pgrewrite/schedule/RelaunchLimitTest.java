package io.pgrewrite.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A scheduled job fails on a value that does not cast. The scheduler relaunches it at the next triggers,
 * {@code schedule.max-relaunches} times, then leaves it for an operator, and {@code status} says so. The
 * operator fixes {@code using:} and restarts it.
 */
class RelaunchLimitTest {

    @TempDir
    Path dir;

    @Test
    void aFailedJobIsRelaunchedUpToTheLimitThenWaitsForAnOperator() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("relaunch");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 500);
            st.execute("ALTER TABLE ev ADD COLUMN code text");
            st.execute("UPDATE ev SET code = (id % 1000)::text");
            st.execute("UPDATE ev SET code = '12a' WHERE id = 1000100");
        }
        Path job = dir.resolve("code.yaml");
        String head = "name: code-to-int\ntable: ev\noperation: alter-column-type\ncolumn: code\ntype: integer\n";
        Files.writeString(job, head + "schedule:\n  cron: \"* * * * * ?\"\n  max-relaunches: 2\n");

        CliRun scheduler = CliRun.run(db, "scheduler", job.toString(), "--no-http", "--exit-when-done", "--run-for", "PT50S");
        assertThat(scheduler.exitCode()).as(scheduler.toString()).isEqualTo(ExitCodes.OK);
        assertThat(scheduler.out()).contains("waits for an operator");
        // Triggers keep firing: a scheduler started again relaunches nothing more.
        CliRun later = CliRun.run(db, "scheduler", job.toString(), "--no-http", "--run-for", "PT3S");
        assertThat(later.exitCode()).as(later.toString()).isEqualTo(ExitCodes.OK);

        long last;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            // The first run and two relaunches, nothing more although triggers kept firing.
            assertThat(Tables.one(st, "SELECT count(*) FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                    + " USING (job_instance_id) WHERE i.job_name = 'rewrite'")).isEqualTo(3);
            assertThat(Tables.one(st, "SELECT count(*) FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                    + " USING (job_instance_id) WHERE i.job_name = 'rewrite' AND e.status = 'FAILED'")).isEqualTo(3);
            last = Tables.one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
        }
        CliRun status = CliRun.run(db, "status", String.valueOf(last));
        assertThat(status.out()).as(status.toString()).contains("FAILED",
                "Relaunch limit reached (relaunched 2 of 2 times): waiting for an operator", "`pgrewrite restart " + last + "`");

        Files.writeString(job, head + "using: \"CASE WHEN code ~ '^[0-9]+$' THEN code::integer END\"\n"
                + "schedule:\n  cron: \"* * * * * ?\"\n  max-relaunches: 2\n");
        CliRun restart = CliRun.run(db, "restart", String.valueOf(last));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(Tables.one(st, "SELECT count(*) FROM ev")).isEqualTo(1000);
            assertThat(Tables.one(st, "SELECT count(*) FROM ev WHERE code IS NULL")).isEqualTo(1);
        }
    }
}
