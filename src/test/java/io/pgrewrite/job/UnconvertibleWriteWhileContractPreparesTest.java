package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * A NOT NULL text column becomes integer. Contract has put {@code CHECK (shadow IS NOT NULL) NOT VALID} on a
 * partition (it prepares SET NOT NULL; on a large table the validations that follow take hours) when the
 * application, as its own DML-only role, inserts a row whose value is 'x' and changes another row's value to
 * 'y': neither converts. Both writes succeed. Contract refuses, naming the rows; the operator empties
 * sync_error without fixing them, and contract still refuses; the operator fixes the rows (UPDATE), restart
 * contracts, and the table is the one the blocking ALTER gives from the same writes.
 */
class UnconvertibleWriteWhileContractPreparesTest {

    static final LocalDate START = LocalDate.of(2024, 3, 1);
    static final int DAYS = 3;
    static final int ROWS = 300;

    @Test
    void theApplicationsWriteSucceedsAndContractWaitsForTheFix() throws Exception {
        TestDatabase.Database template = TestDatabase.newDatabase("notnull_window");
        try (Connection c = template.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", START, DAYS, ROWS);
            st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE text, ALTER COLUMN massa SET NOT NULL");
            Tables.grantApp(c, "public.ev");
        }
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "notnull_window_run");
        TestDatabase.Database reference = TestDatabase.cloneDatabase(template, "notnull_window_ref");
        Path job = Files.createTempFile("notnull-window", ".yaml");
        Files.writeString(job, "name: notnull-window\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "using: nullif(massa, 'none')::integer\nworkers: 1\n"); // 'none' gives NULL: as unconvertible as 'x'

        String partition;
        long inserted;
        long insertedNull;
        long updated;
        try (JvmProcess run = JvmProcess.start("notnull-window", List.of("-D" + FaultPoints.PROPERTY + "=contract:not-null-added"),
                db, "run", job.toString())) {
            partition = run.await(l -> l.startsWith("PGREWRITE-PAUSED contract:not-null-added "), 180).split(" ")[2];
            LocalDate day = LocalDate.parse(partition.substring("ev_".length()), DateTimeFormatter.BASIC_ISO_DATE);
            long base = (day.toEpochDay() - START.toEpochDay()) * 1_000_000L;
            inserted = base + 900_001;
            insertedNull = base + 900_002;
            updated = base + 5;
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conname = 'pgrewrite_not_null' AND conrelid = '"
                        + partition + "'::regclass")).as("the window is open on " + partition).isOne();
            }
            try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
                assertThat(st.executeUpdate("INSERT INTO ev (id, at, massa, label) VALUES (" + inserted + ", '" + day
                        + " 12:00:00', 'x', 'bad')")).isOne();
                assertThat(st.executeUpdate("INSERT INTO ev (id, at, massa, label) VALUES (" + insertedNull + ", '" + day
                        + " 12:00:00', 'none', 'null')")).as("a value the expression turns into NULL").isOne();
                assertThat(st.executeUpdate("UPDATE ev SET massa = 'y' WHERE id = " + updated)).isOne();
            }
            run.kill();
        }

        CliRun refused = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(refused.exitCode()).as(refused.toString()).isNotEqualTo(ExitCodes.OK);
        assertThat(refused.toString()).contains("row (" + inserted + ",", "row (" + insertedNull + ",", "row (" + updated + ",", "does not become integer",
                "Nothing was contracted");

        // Emptying sync_error (what the message of earlier versions asked) does not make the rows convert.
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.sync_error")).isEqualTo(3);
            st.execute("DELETE FROM pgrewrite.sync_error");
        }
        CliRun stillRefused = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(stillRefused.exitCode()).as(stillRefused.toString()).isNotEqualTo(ExitCodes.OK);
        assertThat(stillRefused.toString()).contains("row (" + inserted + ",", "Nothing was contracted");

        List<String> fixes = new ArrayList<>(List.of("UPDATE ev SET massa = '42' WHERE id = " + inserted,
                "UPDATE ev SET massa = '44' WHERE id = " + insertedNull,
                "UPDATE ev SET massa = '43' WHERE id = " + updated));
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            for (String fix : fixes) {
                assertThat(st.executeUpdate(fix)).isOne();
            }
        }
        CliRun done = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);

        try (Connection c = reference.connect(); Statement st = c.createStatement()) {
            LocalDate day = LocalDate.parse(partition.substring("ev_".length()), DateTimeFormatter.BASIC_ISO_DATE);
            st.execute("INSERT INTO ev (id, at, massa, label) VALUES (" + inserted + ", '" + day + " 12:00:00', 'x', 'bad')");
            st.execute("INSERT INTO ev (id, at, massa, label) VALUES (" + insertedNull + ", '" + day + " 12:00:00', 'none', 'null')");
            st.execute("UPDATE ev SET massa = 'y' WHERE id = " + updated);
            for (String fix : fixes) {
                st.execute(fix);
            }
            st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE integer USING nullif(massa, 'none')::integer");
        }
        try (Connection ours = db.connect(); Connection theirs = reference.connect(); Statement st = ours.createStatement()) {
            assertThat(CatalogSnapshot.rows(ours, "ev")).hasSize(DAYS * ROWS + 2).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            assertThat(CatalogSnapshot.full(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "ev"));
            assertThat(one(st, "SELECT massa FROM ev WHERE id = " + inserted)).isEqualTo(42);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.sync_error")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.sync_failed")).isZero();
            assertThat(CrashWindowsTest.leftovers(st)).isEmpty();
        }
    }
}
