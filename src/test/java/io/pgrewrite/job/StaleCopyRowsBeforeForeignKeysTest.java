package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * Camera 99 has one passage. The first partition is copied, verified and about to swap; the application deletes
 * that passage. Its key is logged, but the copy still holds the row: the capture function deletes from the copy
 * only once the copy is about to carry foreign keys, and a handful of changed keys is left for the swap to
 * replay. Then the copy gets its foreign key to cameras (the process is killed right after, so the window stays
 * open), and the application deletes camera 99, which nothing references any more. That delete must succeed: the
 * copy's stale rows are replayed away before the key is added to it.
 */
class StaleCopyRowsBeforeForeignKeysTest {

    static final String ROW = "id = 17 AND at = '2024-03-01 00:00:17'";

    @Test
    void theApplicationDeletesACameraWhoseLastPassageTheCopyStillHeld() throws Exception {
        TestDatabase.Database db = ForeignKeyRewriteTest.withCameras("stale_copy_fk");
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            st.execute("INSERT INTO cameras VALUES (99, 'one passage')");
            assertThat(st.executeUpdate("UPDATE ev SET cam = 99 WHERE " + ROW)).isOne();
        }
        Path job = Files.createTempFile("stale", ".yaml");
        Files.writeString(job, "name: stale\ntable: ev\noperation: compact\nworkers: 1\n");
        try (JvmProcess p = JvmProcess.start("stale_copy_fk", List.of(
                "-D" + FaultPoints.ANNOUNCE + "=swap:before-lock", "-Dpgrewrite.test.announce-ms=5000",
                "-D" + FaultPoints.PROPERTY + "=foreign-keys:added"), db, "run", job.toString())) {
            String partition = p.await(l -> l.startsWith("PGREWRITE-REACHED swap:before-lock "), 120).split(" ")[2];
            assertThat(partition).isEqualTo("ev_20240301");
            try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
                assertThat(st.executeUpdate("DELETE FROM ev WHERE " + ROW)).isOne();
            }
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(one(st, "SELECT count(*) FROM ev_20240301__rw WHERE " + ROW)).as("the copy still holds the deleted row").isOne();
            }
            p.await(l -> l.startsWith("PGREWRITE-PAUSED foreign-keys:added "), 120);
            p.kill();
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'ev_20240301__rw'::regclass AND contype = 'f'"))
                    .as("the copy carries the key").isOne();
        }
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            st.execute("DELETE FROM cameras WHERE id = 99"); // failed on the copy's ev_cam_fkey while it held passage 17
        }

        CliRun restart = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev WHERE " + ROW)).isZero();
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) ForeignKeyRewriteTest.DAYS * ForeignKeyRewriteTest.ROWS - 1);
            assertThat(ForeignKeyRewriteTest.foreignKeys(st)).hasSize(ForeignKeyRewriteTest.DAYS + 1).allMatch(k -> k.contains(" valid "));
        }
    }
}
