package io.pgrewrite.cli;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;

import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DBA plans a job against a database pgrewrite never ran on: plan says what it would do and
 * leaves the database as it found it (no schema pgrewrite, no tables). Planning a change that is
 * already made is "nothing to do" (exit 5), not a failed precondition.
 */
class PlanChangesNothingTest {

    @TempDir
    Path dir;

    @Test
    void planCreatesNoSchema() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("plan_nothing");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 100);
        }
        Path job = dir.resolve("ev.yaml");
        Files.writeString(job, "name: ev-int\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");

        CliRun plan = CliRun.run(db, "plan", job.toString());
        assertThat(plan.exitCode()).as(plan.toString()).isEqualTo(ExitCodes.OK);
        assertThat(plan.out()).contains("ev_20240301", "Preconditions:");
        CliRun dryRun = CliRun.run(db, "plan", job.toString(), "--dry-run");
        assertThat(dryRun.exitCode()).as(dryRun.toString()).isEqualTo(ExitCodes.OK);
        assertThat(dryRun.out()).contains("-- swap");

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgrewrite'")).as("schema pgrewrite").isZero();
        }
    }

    @Test
    void planOfAChangeAlreadyMadeIsNothingToDo() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("plan_done");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 100);
            st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE integer");
        }
        Path job = dir.resolve("done.yaml");
        Files.writeString(job, "name: ev-int\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");

        CliRun plan = CliRun.run(db, "plan", job.toString());
        assertThat(plan.exitCode()).as(plan.toString()).isEqualTo(ExitCodes.NOTHING_TO_DO);
        assertThat(plan.err()).contains("massa is already of type integer: nothing to do");
        // what is already done is not shown as a failure in the list of preconditions
        assertThat(plan.out()).contains("[done already] column massa not already integer").doesNotContain("[FAILED]");
    }
}
