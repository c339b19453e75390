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
 * The application checks its camera key at commit ({@code DEFERRABLE INITIALLY DEFERRED}), and the copy carries the
 * key the same way. The first day's copy has its key and is about to swap when the application's maintenance session
 * takes camera 5 FOR UPDATE for a few seconds, and a passage of camera 5 is corrected. The swap replays that passage
 * into the copy under its lock; the deferred key check of the replayed row waits for camera 5 at COMMIT, past the
 * swap's lock_timeout. That is a lock timeout like any other, not a failed job: the swap is rolled back and tried
 * again with backoff, and commits once the maintenance session has released camera 5. When the application corrects
 * all of camera 5's passages of that day, a catch-up batch replays them first, outside the swap's lock, and meets the
 * same wait at its COMMIT: that batch is rolled back and caught up later, as a batch stopped by any lock wait.
 */
class DeferredCameraKeyAtSwapTest {

    static final String PASSAGE = "id = 4 AND at = '2024-03-01 00:00:04'"; // camera 1 + 4 % 20 = 5

    @Test
    void theSwapsDeferredKeyCheckWaitsForACameraTheApplicationHoldsAndTheSwapIsRetried() throws Exception {
        cameraFiveHeldWhileTheApplicationCorrects("deferred_fk_swap", PASSAGE, 1, "swap of ev_20240301: lock not available");
    }

    @Test
    void aCatchUpBatchsDeferredKeyCheckWaitsForTheCameraAndTheBatchIsCaughtUpLater() throws Exception {
        // 200 passages, 400 change-log rows: more than the swap's small backlog, so catch up replays them before the swap
        cameraFiveHeldWhileTheApplicationCorrects("deferred_fk_batch", "cam = 5 AND at < '2024-03-02'", 200,
                "ev_20240301: a catch-up batch was stopped and rolled back");
    }

    private static void cameraFiveHeldWhileTheApplicationCorrects(String name, String passages, int corrected, String handled)
            throws Exception {
        TestDatabase.Database db = ForeignKeyRewriteTest.withCameras(name);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ev ALTER CONSTRAINT ev_cam_fkey DEFERRABLE INITIALLY DEFERRED");
            assertThat(one(st, "SELECT cam FROM ev WHERE " + PASSAGE)).isEqualTo(5);
        }
        Path job = Files.createTempFile("deferred", ".yaml");
        Files.writeString(job, "name: deferred\ntable: ev\noperation: compact\nworkers: 1\n");
        try (JvmProcess p = JvmProcess.start(name, List.of(
                "-D" + FaultPoints.ANNOUNCE + "=foreign-keys:validated", "-Dpgrewrite.test.announce-ms=3000"),
                db, "run", job.toString());
                Connection maintenance = db.connectAsApp(); Statement m = maintenance.createStatement();
                Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            assertThat(p.await(l -> l.startsWith("PGREWRITE-REACHED foreign-keys:validated "), 120)).endsWith(" ev_20240301");
            try (Connection c = db.connect(); Statement own = c.createStatement()) {
                assertThat(one(own, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'ev_20240301__rw'::regclass"
                        + " AND contype = 'f' AND condeferred")).as("the copy's key is checked at commit too").isOne();
            }
            maintenance.setAutoCommit(false);
            assertThat(one(m, "SELECT id FROM cameras WHERE id = 5 FOR UPDATE")).isEqualTo(5);
            assertThat(st.executeUpdate("UPDATE ev SET massa = 7 WHERE " + passages)).isEqualTo(corrected);

            p.await(l -> l.contains(handled), 60);
            Thread.sleep(2000); // a few more attempts
            maintenance.commit();

            assertThat(p.waitFor(300)).as(p.output()).isEqualTo(ExitCodes.OK);
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev WHERE " + passages + " AND massa = 7")).isEqualTo(corrected);
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) ForeignKeyRewriteTest.DAYS * ForeignKeyRewriteTest.ROWS);
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND condeferred AND convalidated"))
                    .as("the parent's key and each partition's, still deferred and valid").isEqualTo(ForeignKeyRewriteTest.DAYS + 1);
        }
    }
}
