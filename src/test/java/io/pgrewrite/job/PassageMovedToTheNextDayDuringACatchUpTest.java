package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The first day's partition is verified and about to swap; the application records a late passage on that day.
 * Before the copy gets its foreign key to cameras, a catch-up batch going round held rows replays that passage's
 * key. While the batch runs (its snapshot taken, P not yet read), the application corrects the passage's timestamp
 * to the next day: the UPDATE moves the row to {@code ev_20240302} and commits. The batch's {@code FOR SHARE} then
 * meets a row moved to another partition since its snapshot, which PostgreSQL refuses with a serialization failure
 * (SQLSTATE 40001) instead of skipping it. That is "catch up later", not a failed job: the batch is rolled back,
 * the next one no longer finds the row in the first day, the job completes, and the passage is there once, on the
 * next day.
 */
class PassageMovedToTheNextDayDuringACatchUpTest {

    static final String PASSAGE = "id = 900000";

    @Test
    void theApplicationMovesAPassageToTheNextDayWhileABatchReplaysIt() throws Exception {
        TestDatabase.Database db = ForeignKeyRewriteTest.withCameras("moved_in_catch_up");
        Path job = Files.createTempFile("moved", ".yaml");
        Files.writeString(job, "name: moved\ntable: ev\noperation: compact\nworkers: 1\n");
        try (JvmProcess p = JvmProcess.start("moved_in_catch_up", List.of(
                "-D" + FaultPoints.ANNOUNCE + "=swap:before-lock", "-Dpgrewrite.test.announce-ms=3000",
                "-D" + FaultPoints.HOLD_SNAPSHOT + "=catch-up:around-held-rows", "-Dpgrewrite.test.hold-ms=3000"),
                db, "run", job.toString());
                Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            assertThat(p.await(l -> l.startsWith("PGREWRITE-REACHED swap:before-lock "), 120)).endsWith(" ev_20240301");
            st.execute("INSERT INTO ev (id, at, massa, label, cam) VALUES (900000, '2024-03-01 23:59:59', 7, 'late', 1)");

            assertThat(p.await(l -> l.startsWith("PGREWRITE-HOLDING catch-up:around-held-rows "), 60)).endsWith(" ev_20240301");
            Thread.sleep(500); // the batch's statement has its snapshot and sleeps before it reads ev_20240301
            assertThat(st.executeUpdate("UPDATE ev SET at = '2024-03-02 00:00:01' WHERE " + PASSAGE)).isOne();

            assertThat(p.waitFor(300)).as(p.output()).isEqualTo(ExitCodes.OK);
            assertThat(p.output()).contains("ev_20240301: a catch-up batch was stopped and rolled back");
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev_20240302 WHERE " + PASSAGE + " AND at = '2024-03-02 00:00:01'")).isOne();
            assertThat(one(st, "SELECT count(*) FROM ev WHERE " + PASSAGE)).isOne();
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) ForeignKeyRewriteTest.DAYS * ForeignKeyRewriteTest.ROWS + 1);
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$' OR relname LIKE 'log\\_%'")).isZero();
        }
    }
}
