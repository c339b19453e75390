package io.pgrewrite.swap;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.copy.Capture;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.Catalog;
import io.pgrewrite.plan.PartitionWork;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * verify reads the partition and its copy at once, on two connections, in one snapshot. A row the application
 * changes after that snapshot was taken, before the copy's side begins to read, is in neither side: its key was
 * logged after the snapshot, which both sides read the log in. (Were the copy's side in a snapshot of its own, it
 * would see the new key in the log and leave the row out of the copy's count only: a failed verification of a
 * copy that is right.) The copy's side then runs on a second connection of the pool.
 */
class VerifyInOneSnapshotTest {

    @Test
    void aRowChangedBetweenTheSnapshotAndTheCopysReadIsInNeitherSide() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("verify_snapshot");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 500);
            Tables.grantApp(c, "public.ev");
        }
        CliRun.makeSchema(db);
        var ds = db.dataSource();
        JdbcTemplate jdbc = new JdbcTemplate(ds);
        TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(ds));
        SqlRunner sql = SqlRunner.live(jdbc);
        var def = JobDefinitions.parse("name: v\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n", null);
        jdbc.execute("ALTER TABLE ev ADD COLUMN massa__pgrewrite integer"); // as after expand
        PartitionWork w = PartitionWork.load(new Catalog(jdbc), def, "ev_20240301");
        new Capture(sql, new LockRetry(tx, sql, Duration.ofMillis(200), 3)).install(w.names(), w.table());
        jdbc.execute("CREATE TABLE ev_20240301__rw AS SELECT id, at, massa, label, extra, massa::integer AS massa__pgrewrite FROM ev_20240301");
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            st.execute("UPDATE ev SET label = 'changed before' WHERE id = 5"); // logged, not replayed: left out
        }
        Verify verify = new Verify(sql, tx, 0); // the sides at once, however small

        System.setProperty(FaultPoints.ANNOUNCE, "verify:snapshot-exported");
        System.setProperty("pgrewrite.test.announce-ms", "3000");
        Verify.Result r;
        try {
            CompletableFuture<Verify.Result> running = CompletableFuture.supplyAsync(() -> verify.verify(w));
            // Verify's snapshot is taken and exported; the copy's side has not begun: its last statement before
            // the fault point is the hash anti-join's setting (the log holds key 5).
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!exists(st, "SELECT 1 FROM pg_stat_activity WHERE state = 'idle in transaction'"
                        + " AND query = '" + Verify.HASH_ANTI_JOIN + "'")) {
                    assertThat(System.nanoTime()).as("verify reached its snapshot").isLessThan(deadline);
                    Thread.sleep(20);
                }
            }
            try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
                st.execute("UPDATE ev SET label = 'changed during verify' WHERE id = 7"); // logged after the snapshot
            }
            r = running.get(120, TimeUnit.SECONDS);
        } finally {
            System.clearProperty(FaultPoints.ANNOUNCE);
            System.clearProperty("pgrewrite.test.announce-ms");
        }
        assertThat(r.ok()).as(r.describe()).isTrue();
        assertThat(r.sourceRows()).as("row 5 left out on both sides, row 7 in both").isEqualTo(499);
        assertThat(r.targetRows()).isEqualTo(499);
    }

    private static boolean exists(Statement st, String query) throws Exception {
        try (ResultSet rs = st.executeQuery(query)) {
            return rs.next();
        }
    }
}
