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

/**
 * The application has a BEFORE trigger of its own that changes the column being retyped ("set_massa"
 * rounds it to tens; its name sorts after "pgrewrite_sync"). pgrewrite's sync trigger fires after it
 * (PostgreSQL fires them in name order), so a row the application writes into a partition that is already
 * swapped — where only the sync trigger gives the new column its value — gets the value the application's
 * trigger set. And a job expanded by a version that named its trigger "pgrewrite_sync" is found under that
 * name by restart and by abandon --cleanup.
 */
class SyncTriggerOrderTest {

    static final String ROUND = "CREATE FUNCTION round_massa() RETURNS trigger LANGUAGE plpgsql AS"
            + " $$BEGIN NEW.massa := (NEW.massa / 10) * 10; RETURN NEW; END$$";

    @Test
    void aRowWrittenIntoASwappedPartitionGetsTheApplicationTriggersValue() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("sync_order");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 300);
            Tables.grantApp(c, "public.ev");
            st.execute(ROUND);
            st.execute("CREATE TRIGGER set_massa BEFORE INSERT OR UPDATE ON ev FOR EACH ROW EXECUTE FUNCTION round_massa()");
        }
        Path job = Files.createTempFile("sync-order", ".yaml");
        Files.writeString(job, "name: order\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nworkers: 1\n");
        String swapped;
        try (JvmProcess run = JvmProcess.start("sync-order", List.of("-D" + FaultPoints.PROPERTY + "=after-swap"), db,
                "run", job.toString())) {
            swapped = run.await(l -> l.startsWith("PGREWRITE-PAUSED after-swap"), 120).replaceAll(".* ", "");
            try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
                String day = swapped.replaceAll("ev_(\\d{4})(\\d{2})(\\d{2})", "$1-$2-$3");
                st.execute("INSERT INTO ev (id, at, massa) VALUES (42424242, '" + day + " 12:00', 1234)");
                st.execute("UPDATE ev SET massa = 2345 WHERE id = (SELECT min(id) FROM " + swapped + ")");
            }
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT massa FROM ev WHERE id = 42424242")).as("inserted into " + swapped).isEqualTo(1230);
            assertThat(one(st, "SELECT massa FROM " + swapped + " WHERE id = (SELECT min(id) FROM " + swapped + ")"))
                    .as("updated in " + swapped).isEqualTo(2340);
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%pgrewrite_sync'")).isZero();
        }
    }

    @Test
    void aJobExpandedUnderTheOldTriggerNameIsRestartedAndCleanedUp() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("sync_old_name");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 300);
        }
        Path job = Files.createTempFile("sync-old", ".yaml");
        String bad = "(CASE WHEN id = 250 THEN 'not a number' ELSE massa::text END)::integer";
        Files.writeString(job, "name: old\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "using: \"" + bad + "\"\nworkers: 1\n");
        CliRun failed = CliRun.run(db, "run", job.toString());
        assertThat(failed.exitCode()).as(failed.toString()).isEqualTo(ExitCodes.JOB_FAILED);
        renameToOldName(db);

        // restart with the fixed file: expand runs again and replaces the old-named trigger
        Files.writeString(job, "name: old\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nworkers: 1\n");
        CliRun restart = CliRun.run(db, "restart", String.valueOf(lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%pgrewrite_sync'")).isZero();
            assertThat(one(st, "SELECT count(massa) FROM ev")).isEqualTo(600);
        }

        // abandon --cleanup of a failed job whose trigger has the old name
        TestDatabase.Database db2 = TestDatabase.newDatabase("sync_old_cleanup");
        try (Connection c = db2.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 300);
        }
        Files.writeString(job, "name: old\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "using: \"" + bad + "\"\nworkers: 1\n");
        CliRun failed2 = CliRun.run(db2, "run", job.toString());
        assertThat(failed2.exitCode()).as(failed2.toString()).isEqualTo(ExitCodes.JOB_FAILED);
        renameToOldName(db2);
        CliRun cleanup = CliRun.run(db2, "abandon", String.valueOf(lastExecution(db2)), "--cleanup");
        assertThat(cleanup.exitCode()).as(cleanup.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db2.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%pgrewrite_sync'")).isZero();
        }
    }

    /** What the previous version left: the same trigger (and its clones on the partitions) named pgrewrite_sync. */
    private static void renameToOldName(TestDatabase.Database db) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ev'::regclass AND tgname = '~pgrewrite_sync'")).isOne();
            st.execute("ALTER TRIGGER \"~pgrewrite_sync\" ON ev RENAME TO pgrewrite_sync");
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgname = 'pgrewrite_sync'")).isEqualTo(3);
        }
    }

    private static long lastExecution(TestDatabase.Database db) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            return one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
        }
    }
}
