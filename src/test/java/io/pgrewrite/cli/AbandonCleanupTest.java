package io.pgrewrite.cli;

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

import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * A column change with a bad {@code using:} fails mid-way: the first day is already swapped, the
 * second meets a value that does not cast. The operator gives it up with {@code abandon --cleanup}:
 * the table is exactly as before the job (columns, constraints, triggers, rows), nothing of pgrewrite's
 * stays (copies, logs, functions, reservations), and the output names the day that stays swapped.
 * Then {@code run} of the fixed file starts a fresh execution, which ends as the blocking ALTER does.
 */
class AbandonCleanupTest {

    static final String BAD = "(CASE WHEN id = 1000250 THEN 'not a number' ELSE massa::text END)::integer";

    @Test
    void aFailedColumnChangeIsCleanedUpAndRunAgainFromScratch() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("abandon_cleanup");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 500);
            st.execute("ALTER TABLE ev ALTER COLUMN massa SET NOT NULL");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "abandon_ref");
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE integer USING massa::integer");
        }
        List<String> catalogBefore;
        List<String> rowsBefore;
        try (Connection c = db.connect()) {
            catalogBefore = CatalogSnapshot.of(c, "ev");
            rowsBefore = CatalogSnapshot.rows(c, "ev");
        }

        Path job = Files.createTempFile("abandon", ".yaml");
        Files.writeString(job, "name: retype\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "using: \"" + BAD + "\"\nworkers: 1\n");
        CliRun failed = CliRun.run(db, "run", job.toString());
        assertThat(failed.exitCode()).as(failed.toString()).isEqualTo(ExitCodes.JOB_FAILED);
        long execution = Long.parseLong(failed.out().replaceAll("(?s).*Execution (\\d+): FAILED.*", "$1"));
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'massa__pgrewrite'"
                    + " AND NOT attisdropped")).as("the shadow column is there before the cleanup").isOne();
        }
        CliRun refused = CliRun.run(db, "abandon", String.valueOf(execution));
        assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.OK);
        CliRun again = CliRun.run(db, "run", job.toString());
        assertThat(again.exitCode()).as("run after a plain abandon: " + again).isEqualTo(ExitCodes.NOTHING_TO_DO);
        assertThat(again.err()).contains("--cleanup");
        // Another job on the same table would take over the abandoned one's sync trigger, copies and logs
        // (named per table and partition), and a later cleanup would remove them under it: refused too.
        Path other = Files.createTempFile("abandon-other", ".yaml");
        Files.writeString(other, "name: squeeze\ntable: ev\noperation: compact\nworkers: 1\n");
        CliRun otherJob = CliRun.run(db, "run", other.toString());
        assertThat(otherJob.exitCode()).as("another job while the abandoned one's state is on the table: " + otherJob)
                .isEqualTo(ExitCodes.ALREADY_RUNNING);
        assertThat(otherJob.err()).contains("abandon " + execution + " --cleanup");

        CliRun cleanup = CliRun.run(db, "abandon", String.valueOf(execution), "--cleanup");
        assertThat(cleanup.exitCode()).as(cleanup.toString()).isEqualTo(ExitCodes.OK);
        assertThat(cleanup.out()).contains("swapped and staying so").contains("ev_20240301").doesNotContain("ev_20240302,");

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(CatalogSnapshot.of(c, "ev")).containsExactlyElementsOf(catalogBefore);
            assertThat(CatalogSnapshot.rows(c, "ev")).containsExactlyElementsOf(rowsBefore);
            assertThat(leftovers(st)).isEmpty();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.disk_reservation")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.shape_change")).isZero();
        }

        Files.writeString(job, "name: retype\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "using: massa::integer\nworkers: 1\n");
        CliRun fixed = CliRun.run(db, "run", job.toString());
        assertThat(fixed.exitCode()).as(fixed.toString()).isEqualTo(ExitCodes.OK);
        assertThat(fixed.out()).doesNotContain("Execution " + execution + ":");
        try (Connection ours = db.connect(); Connection theirs = ref.connect(); Statement st = ours.createStatement()) {
            assertThat(CatalogSnapshot.rows(ours, "ev")).hasSize(1500).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            assertThat(CatalogSnapshot.of(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.of(theirs, "ev"));
            assertThat(leftovers(st)).isEmpty();
        }
    }

    /** Copies, old partitions, change logs, trigger functions and checks of pgrewrite's, triggers on the table. */
    static List<String> leftovers(Statement st) throws Exception {
        List<String> found = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT relname FROM pg_class WHERE relname ~ '__(rw|old)$' OR relname ~ '^log_'"
                + " UNION ALL SELECT proname FROM pg_proc WHERE pronamespace = 'pgrewrite'::regnamespace"
                + " UNION ALL SELECT conname FROM pg_constraint WHERE conname LIKE 'pgrewrite%'"
                + " UNION ALL SELECT tgname FROM pg_trigger WHERE tgname LIKE '%pgrewrite%'"
                + " UNION ALL SELECT attname FROM pg_attribute WHERE attname LIKE '%\\_\\_pgrewrite' AND NOT attisdropped")) {
            while (rs.next()) {
                found.add(rs.getString(1));
            }
        }
        return found;
    }
}
