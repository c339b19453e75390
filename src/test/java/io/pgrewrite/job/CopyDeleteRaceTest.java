package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The first partition's copy carries the foreign key to cameras and waits for its swap (the process is killed
 * there), so the capture trigger deletes a row's old version from the copy whenever the application deletes or
 * updates it. The application re-points passage 17 to camera 99, its only passage; catch up writes the row into
 * the copy again from the partition. Then, while a second replay of that row is under way (it deleted the copy's
 * row and inserted it again, not yet committed), the application deletes passage 17: the capture trigger's
 * delete waits for the replay's row lock, and finds the version it waited for gone. It must still delete the
 * replayed row (a second look, with a new snapshot), or the copy keeps a passage of camera 99 and the
 * application's next statement, deleting camera 99, fails on the copy's key. Restart completes the job.
 */
class CopyDeleteRaceTest {

    static final String ROW = "id = 17 AND at = '2024-03-01 00:00:17'";
    static final String REPLAY = "DELETE FROM ev_20240301__rw WHERE " + ROW + ";"
            + " INSERT INTO ev_20240301__rw (id, at, massa, label, extra, cam)"
            + " SELECT id, at, massa, label, extra, cam FROM ONLY ev_20240301 WHERE " + ROW;

    @Test
    void theApplicationsDeleteWaitsForAReplayAndStillLeavesNoStaleRowInTheCopy() throws Exception {
        TestDatabase.Database db = ForeignKeyRewriteTest.withCameras("copy_delete_race");
        Path job = Files.createTempFile("race", ".yaml");
        Files.writeString(job, "name: race\ntable: ev\noperation: compact\nworkers: 1\n");
        CrashWindowsTest.killAt(db, "foreign-keys:validated", job);

        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            st.execute("INSERT INTO cameras VALUES (99, 'one passage')");
            assertThat(st.executeUpdate("UPDATE ev SET cam = 99 WHERE " + ROW)).isOne();
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute(REPLAY); // catch up, committed
            assertThat(one(st, "SELECT count(*) FROM ev_20240301__rw WHERE " + ROW + " AND cam = 99")).isOne();
        }
        try (Connection replay = db.connect(); Statement rs = replay.createStatement();
                Connection app = db.connectAsApp(); Statement st = app.createStatement();
                Connection su = db.connectAsSuperuser(); Statement watch = su.createStatement()) {
            replay.setAutoCommit(false);
            rs.execute(REPLAY); // the next catch up, holding the copy's row
            CompletableFuture<Integer> delete = CompletableFuture.supplyAsync(() -> {
                try {
                    return st.executeUpdate("DELETE FROM ev WHERE " + ROW);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            for (int i = 0; i < 200 && one(watch, "SELECT count(*) FROM pg_stat_activity WHERE usename = '" + TestDatabase.APP
                    + "' AND wait_event_type = 'Lock'") == 0; i++) {
                Thread.sleep(50);
            }
            assertThat(delete).as("the application's delete waits for the replay's row lock").isNotDone();
            replay.commit();
            assertThat(delete.get(30, TimeUnit.SECONDS)).isOne();

            try (Connection c = db.connect(); Statement own = c.createStatement()) {
                assertThat(one(own, "SELECT count(*) FROM ev_20240301__rw WHERE " + ROW)).as("no stale row in the copy").isZero();
            }
            st.execute("DELETE FROM cameras WHERE id = 99"); // would fail on the copy's ev_cam_fkey
        }

        CliRun restart = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev WHERE " + ROW)).isZero();
            assertThat(ForeignKeyRewriteTest.foreignKeys(st)).hasSize(ForeignKeyRewriteTest.DAYS + 1).allMatch(k -> k.contains(" valid "));
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired'")).isEqualTo(ForeignKeyRewriteTest.DAYS);
        }
    }
}
