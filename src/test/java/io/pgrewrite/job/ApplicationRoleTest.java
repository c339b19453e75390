package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The application writes as its own role, {@value TestDatabase#APP}, which has SELECT/INSERT/UPDATE/DELETE
 * on the table and its partitions and nothing in schema pgrewrite, while pgrewrite (the table's owner,
 * not a superuser) changes a column's type. The job is held in the middle of copying the first
 * partition: the parent's sync trigger is live and that partition's capture trigger installed. The
 * application inserts, updates and deletes there, through the parent and into the partition directly,
 * and writes into a partition not being copied yet. None of its statements fails; the job is then
 * finished (kill -9, restart) and the table equals what the blocking ALTER gives after the same writes.
 * <p>
 * Not covered here: a logical-replication apply worker, or any write under
 * session_replication_role = replica. Setting it needs superuser, so a DML-only role cannot; an apply
 * worker runs as the subscription's owner, which the SECURITY DEFINER trigger functions serve the same
 * way as any other role (they run as pgrewrite's role, whoever fires them).
 */
class ApplicationRoleTest {

    static final LocalDate START = LocalDate.of(2024, 3, 1);
    static final int DAYS = 3;
    static final int ROWS = 3000;
    static final Pattern PARTITION_DAY = Pattern.compile("ev_(\\d{4})(\\d{2})(\\d{2})");

    @Test
    void applicationWithOnlyDmlKeepsWritingWhileCaptureAndSyncTriggersAreLive() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("approle");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", START, DAYS, ROWS);
            Tables.grantApp(c, "public.ev");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "approle_ref");
        Path job = Files.createTempFile("approle", ".yaml");
        Files.writeString(job, "name: approle\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\ncopy:\n  chunk-rows: 500\n");

        String paused;
        long executionId;
        List<String> errors = new ArrayList<>();
        List<String> writes;
        try (JvmProcess run = JvmProcess.start("approle-run", List.of("-D" + FaultPoints.PROPERTY + "=copy"), db,
                "run", job.toString())) {
            paused = run.await(l -> l.startsWith("PGREWRITE-PAUSED copy"), 120);
            Matcher m = PARTITION_DAY.matcher(paused);
            assertThat(m.find()).as(paused).isTrue();
            LocalDate copying = LocalDate.of(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)));
            writes = applicationWrites(copying, copying.equals(START) ? START.plusDays(DAYS - 1) : START);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgname = '~pgrewrite_sync'"))
                        .as("the sync trigger is live").isPositive();
                assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgname = 'pgrewrite_capture'"
                        + " AND tgrelid = 'ev_" + copying.toString().replace("-", "") + "'::regclass"))
                        .as("the partition being copied is captured").isOne();
            }
            try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
                for (String w : writes) {
                    try {
                        st.executeUpdate(w);
                    } catch (SQLException e) {
                        errors.add(w + ": " + e.getMessage());
                    }
                }
            }
            run.kill();
        }
        assertThat(errors).as("the application's errors").isEmpty();

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            executionId = one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(executionId));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);

        try (Connection c = ref.connectAsApp(); Statement st = c.createStatement()) {
            for (String w : writes) {
                st.executeUpdate(w);
            }
        }
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE integer");
        }
        try (Connection ours = db.connect(); Connection theirs = ref.connect(); Statement st = ours.createStatement()) {
            assertThat(CatalogSnapshot.rows(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            assertThat(CatalogSnapshot.of(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.of(theirs, "ev"));
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.sync_error")).isZero();
        }
    }

    /**
     * The application writes a value the job's expression cannot convert while the sync trigger is live:
     * the write succeeds all the same (the trigger records the row in pgrewrite.sync_error, where the
     * application has no rights, instead of failing it), and the row is there for contract to refuse.
     */
    @Test
    void aValueTheExpressionCannotConvertIsRecordedNotRefused() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("approle_bad");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", START, 2, ROWS);
            Tables.grantApp(c, "public.ev");
        }
        Path job = Files.createTempFile("approle-bad", ".yaml");
        Files.writeString(job, "name: approle-bad\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "using: round(sqrt(massa))\nworkers: 1\ncopy:\n  chunk-rows: 500\n");
        try (JvmProcess run = JvmProcess.start("approle-bad-run", List.of("-D" + FaultPoints.PROPERTY + "=copy"), db,
                "run", job.toString())) {
            run.await(l -> l.startsWith("PGREWRITE-PAUSED copy"), 120);
            try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
                // sqrt(-1) raises: the sync trigger catches it
                assertThat(st.executeUpdate("INSERT INTO ev (id, at, massa, label) VALUES (1900777, '"
                        + START.plusDays(1) + " 09:00:00', -1, 'negative')")).isOne();
                assertThat(one(st, "SELECT count(*) FROM ev WHERE id = 1900777")).isOne();
            }
            run.kill();
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.sync_error WHERE row_key LIKE '(1900777,%'")).isOne();
        }
    }

    /**
     * What the application does, the same on both databases: on the day being copied, inserts,
     * updates (one moving a row's key) and deletes through the parent, and the same into the partition
     * by its own name; on another day, through the parent only (the sync trigger alone).
     */
    static List<String> applicationWrites(LocalDate copying, LocalDate other) {
        String p = "ev_" + copying.toString().replace("-", "");
        long base = (copying.toEpochDay() - START.toEpochDay()) * 1_000_000L;
        long otherBase = (other.toEpochDay() - START.toEpochDay()) * 1_000_000L;
        String day = "'" + copying + " 12:00:00'";
        return List.of(
                "INSERT INTO ev (id, at, massa, label) VALUES (" + (base + 900_001) + ", " + day + ", 1234, 'app')",
                "UPDATE ev SET massa = massa + 7, label = 'app-upd' WHERE id = " + (base + 17),
                "UPDATE ev SET id = " + (base + 900_002) + " WHERE id = " + (base + 18),
                "DELETE FROM ev WHERE id = " + (base + 19),
                "INSERT INTO " + p + " (id, at, massa, label) VALUES (" + (base + 900_003) + ", " + day + ", 2999, 'app-direct')",
                "UPDATE " + p + " SET massa = 5 WHERE id = " + (base + 2000),
                "DELETE FROM " + p + " WHERE id = " + (base + 2001),
                "INSERT INTO ev (id, at, massa, label) VALUES (" + (otherBase + 900_004) + ", '" + other + " 08:00:00', 42, 'other')",
                "UPDATE ev SET massa = 3000 WHERE id = " + (otherBase + 5));
    }
}
