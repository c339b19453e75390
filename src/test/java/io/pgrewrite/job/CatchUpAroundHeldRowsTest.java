package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.copy.CatchUp;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.Catalog;
import io.pgrewrite.plan.PartitionWork;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The first partition's copy carries the foreign key to cameras and waits for its swap (the process is killed
 * there), so the capture trigger deletes a row's old version from the copy whenever the application deletes or
 * updates it. Catch up is then run by hand, through pgrewrite's own {@link CatchUp} on that partition, in three
 * stories, each ending with {@code restart}, which completes the job with the partition's rows:
 * <ol>
 * <li>a replay whose snapshot is older than the application's delete of a camera's only passage (the replay was
 *     held up right after its snapshot) must not write that passage back into the copy: the application's next
 *     statement, deleting the camera, would fail on the copy's key;</li>
 * <li>rows an open application transaction holds (one FOR UPDATE, one updated, whose copy row its trigger deleted)
 *     are gone round, not waited for, and still reach the copy once that transaction rolls back;</li>
 * <li>a replay whose foreign-key check waits for a camera the application holds FOR UPDATE, while the application
 *     then updates a row the replay holds, gives way (it is rolled back and caught up later): the application's
 *     statement is not the deadlock victim, and the catch up does not fail.</li>
 * </ol>
 */
class CatchUpAroundHeldRowsTest {

    static final String DAY = "ev_20240301";
    static final String JOB = "name: held\ntable: ev\noperation: compact\nworkers: 1\n";

    static String row(long id) {
        return "id = " + id + " AND at = '2024-03-01'::timestamp + interval '" + id + " seconds'";
    }

    @Test
    void aReplayOlderThanTheApplicationsDeleteDoesNotWriteTheRowBackIntoTheCopy() throws Exception {
        TestDatabase.Database db = killedBeforeItsSwap("held_older_replay");
        Hand hand = new Hand(db);
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            // the replay's lock waits are bounded by a quarter of deadlock_timeout: long enough here to hold it up by hand
            st.execute("ALTER DATABASE \"" + db.name() + "\" SET deadlock_timeout = '120s'");
        }
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            st.execute("INSERT INTO cameras VALUES (99, 'one passage')");
            assertThat(st.executeUpdate("UPDATE ev SET cam = 99 WHERE " + row(17))).isOne(); // logged; not yet replayed
        }
        try (Connection locker = db.connect(); Statement lk = locker.createStatement();
                Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            // Holds the oldest log row, which the replay takes first: the replay has its snapshot, and waits.
            locker.setAutoCommit(false);
            lk.execute("SELECT 1 FROM " + hand.work.names().qLog() + " WHERE seq = (SELECT min(seq) FROM " + hand.work.names().qLog()
                    + ") FOR UPDATE");
            CompletableFuture<Long> replay = hand.catchUpAsync();
            hand.awaitReplayWaiting();
            assertThat(st.executeUpdate("DELETE FROM ev WHERE " + row(17))).isOne(); // commits after the replay's snapshot
            locker.commit();
            assertThat(replay).succeedsWithin(Duration.ofSeconds(30));

            st.execute("DELETE FROM cameras WHERE id = 99"); // failed on the copy's ev_cam_fkey: the replay wrote row 17 back
            assertThat(hand.inCopy(17)).as("the deleted row is not written back").isZero();
        }
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            st.execute("ALTER DATABASE \"" + db.name() + "\" RESET deadlock_timeout");
        }
        restartCompletes(db);
    }

    @Test
    void rowsAnOpenTransactionHoldsAreGoneRoundAndReachTheCopyAfterItRollsBack() throws Exception {
        TestDatabase.Database db = killedBeforeItsSwap("held_rolled_back");
        Hand hand = new Hand(db);
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            assertThat(st.executeUpdate("UPDATE ev SET massa = 1 WHERE " + row(21))).isOne(); // logged; its copy row deleted
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            // a key logged whose copy row is still there (as when the trigger's delete was swallowed: see Capture)
            st.execute("INSERT INTO " + hand.work.names().qLog() + " (id, at) SELECT id, at FROM " + DAY + " WHERE " + row(22));
        }
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            app.setAutoCommit(false);
            st.execute("SELECT 1 FROM ev WHERE " + row(21) + " FOR UPDATE");
            assertThat(st.executeUpdate("UPDATE ev SET label = 'held' WHERE " + row(22))).isOne(); // its trigger deletes 22's copy row
            try {
                CompletableFuture<Long> replay = hand.catchUpAsync();
                assertThat(replay).as("the replay does not wait for the application's transaction (it holds row 22 in the copy)")
                        .succeedsWithin(Duration.ofSeconds(10));
                assertThat(hand.logged(21)).as("a skipped key stays logged").isPositive();
                assertThat(hand.logged(22)).as("a skipped key stays logged").isPositive();
                assertThat(hand.inCopy(22)).as("the copy's row the application holds is kept").isOne();
            } finally {
                app.rollback();
            }
        }
        hand.catchUp(10).get(30, TimeUnit.SECONDS);
        assertThat(hand.logged(21) + hand.logged(22)).isZero();
        assertThat(hand.sameInCopy(21)).as("row 21 replayed after the rollback").isTrue();
        assertThat(hand.sameInCopy(22)).as("row 22 replayed after the rollback").isTrue();
        restartCompletes(db);
    }

    @Test
    void aReplayWaitingForARowTheApplicationHoldsGivesWayToIt() throws Exception {
        TestDatabase.Database db = killedBeforeItsSwap("held_gives_way");
        Hand hand = new Hand(db);
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            // 4 s instead of 1 s: the replay's bounded wait (a quarter of it) is then long enough to be seen and met
            st.execute("ALTER DATABASE \"" + db.name() + "\" SET deadlock_timeout = '4s'");
        }
        long cam;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            cam = one(st, "SELECT cam FROM " + DAY + " WHERE " + row(23));
            // a key logged whose copy row is still there: the replay deletes it, then inserts it again
            st.execute("INSERT INTO " + hand.work.names().qLog() + " (id, at) SELECT id, at FROM " + DAY + " WHERE " + row(23));
        }
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            app.setAutoCommit(false);
            st.execute("SELECT 1 FROM cameras WHERE id = " + cam + " FOR UPDATE"); // the replay's key check waits for it
            CompletableFuture<Long> replay = hand.catchUpAsync();
            try {
                hand.awaitReplayWaiting();
                // the application now updates the row the replay holds (and its trigger deletes it from the copy)
                assertThat(st.executeUpdate("UPDATE ev SET label = 'moved on' WHERE " + row(23)))
                        .as("the application's statement is not the deadlock victim").isOne();
                assertThat(replay).as("the catch up gave way: it neither failed (a deadlock) nor waited for the application's commit")
                        .succeedsWithin(Duration.ofSeconds(20));
            } finally {
                app.commit();
            }
            assertThat(hand.logged(23)).isPositive();
        }
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            st.execute("ALTER DATABASE \"" + db.name() + "\" RESET deadlock_timeout");
        }
        hand.catchUp(10).get(30, TimeUnit.SECONDS);
        assertThat(hand.sameInCopy(23)).as("row 23 replayed in its new version").isTrue();
        restartCompletes(db);
    }

    /** The job killed at its first partition's {@code foreign-keys:validated}: the copy carries the key, not yet swapped. */
    static TestDatabase.Database killedBeforeItsSwap(String name) throws Exception {
        TestDatabase.Database db = ForeignKeyRewriteTest.withCameras(name);
        Path job = Files.createTempFile("held", ".yaml");
        Files.writeString(job, JOB);
        CrashWindowsTest.killAt(db, "foreign-keys:validated", job);
        return db;
    }

    /** restart completes the job, and the table holds exactly the rows it held before (the operation is compact). */
    static void restartCompletes(TestDatabase.Database db) throws Exception {
        List<String> source;
        try (Connection c = db.connect()) {
            source = CatalogSnapshot.rows(c, "ev");
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(CatalogSnapshot.rows(c, "ev")).containsExactlyElementsOf(source);
            assertThat(ForeignKeyRewriteTest.foreignKeys(st)).hasSize(ForeignKeyRewriteTest.DAYS + 1).allMatch(k -> k.contains(" valid "));
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired'")).isEqualTo(ForeignKeyRewriteTest.DAYS);
        }
    }

    /** pgrewrite's catch up of the first partition, run by hand as the engine runs it. */
    static final class Hand {
        final TestDatabase.Database db;
        final JdbcTemplate jdbc;
        final TransactionTemplate tx;
        final CatchUp catchUp;
        final PartitionWork work;

        Hand(TestDatabase.Database db) throws Exception {
            this.db = db;
            this.jdbc = new JdbcTemplate(db.dataSource());
            this.tx = new TransactionTemplate(new DataSourceTransactionManager(db.dataSource()));
            this.catchUp = new CatchUp(SqlRunner.live(jdbc));
            this.work = PartitionWork.load(new Catalog(jdbc), JobDefinitions.parse(JOB, null), DAY);
        }

        /** One batch (when anything is logged), in a transaction of its own, as catch up and the swap run it. */
        CompletableFuture<Long> catchUpAsync() {
            return catchUp(1);
        }

        CompletableFuture<Long> catchUp(int batches) {
            return CompletableFuture.supplyAsync(() -> catchUp.untilSmall(work, 1, batches, tx));
        }

        /** Until the replay's statement waits for a lock. */
        void awaitReplayWaiting() throws Exception {
            try (Connection su = db.connectAsSuperuser(); Statement watch = su.createStatement()) {
                for (int i = 0; i < 1000 && one(watch, "SELECT count(*) FROM pg_stat_activity WHERE usename = '" + TestDatabase.OWNER
                        + "' AND wait_event_type = 'Lock' AND query LIKE 'WITH taken%'") == 0; i++) {
                    Thread.sleep(10);
                }
                assertThat(one(watch, "SELECT count(*) FROM pg_stat_activity WHERE usename = '" + TestDatabase.OWNER
                        + "' AND wait_event_type = 'Lock' AND query LIKE 'WITH taken%'")).as("the replay waits").isOne();
            }
        }

        long inCopy(long id) {
            return jdbc.queryForObject("SELECT count(*) FROM " + DAY + "__rw WHERE " + row(id), Long.class);
        }

        long logged(long id) {
            return jdbc.queryForObject("SELECT count(*) FROM " + work.names().qLog() + " WHERE " + row(id), Long.class);
        }

        /** The copy's row is the partition's row, column by column. */
        boolean sameInCopy(long id) {
            return Boolean.TRUE.equals(jdbc.queryForObject("SELECT count(*) = 1 FROM " + DAY + " s JOIN " + DAY + "__rw r USING (id, at)"
                    + " WHERE " + row(id) + " AND (s.massa, s.label, s.extra, s.cam) IS NOT DISTINCT FROM (r.massa, r.label, r.extra, r.cam)",
                    Boolean.class));
        }
    }
}
