package io.pgrewrite.swap;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import com.zaxxer.hikari.HikariDataSource;
import io.pgrewrite.copy.Capture;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.definition.Statistics;
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
 * A partition with three indexes: the index phase builds them on two backends at once (seen in pg_locks: two
 * sessions hold the copy's SHARE lock at the same moment), and the copy ends with every index, its primary key and
 * the bound CHECK, also where maintenance_work_mem is at its minimum (each share gets half of it, but never less).
 * With a pool that has no connection to spare, the phase's own connection builds them all.
 */
class IndexBuildsBesideTest {

    @Test
    void aPartitionsIndexesAreBuiltOnTwoConnectionsAtOnceAndOnOneWhenThePoolHasNoneToSpare() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("beside");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 60_000);
            st.execute("CREATE INDEX ev_label ON ev (label)");
            st.execute("CREATE INDEX ev_g ON ev ((extra ->> 'g'), label)");
            st.execute("ANALYZE ev");
            // each share's transaction gets half of maintenance_work_mem, and never less than its minimum
            for (String[] setting : new String[][] {{"256MB", "128MB"}, {"1MB", "1MB"}, {"3MB", "1536kB"}}) {
                st.execute("BEGIN; SET LOCAL maintenance_work_mem = '" + setting[0] + "'; " + io.pgrewrite.pg.OneCorePerWorker.HALF_THE_BUILD_MEMORY);
                try (ResultSet rs = st.executeQuery("SELECT current_setting('maintenance_work_mem')")) {
                    rs.next();
                    assertThat(rs.getString(1)).as("half of " + setting[0]).isEqualTo(setting[1]);
                }
                st.execute("COMMIT");
            }
            st.execute("ALTER DATABASE " + db.name() + " SET maintenance_work_mem = '1MB'"); // the builds at its minimum
        }
        CliRun.makeSchema(db);
        try (HikariDataSource pool = db.pool(6, 2_000)) {
            assertThat(sessionsHoldingTheCopysShareLock(db, pool, "ev_20240301", 0)).as("sessions building at once").isEqualTo(2);
            assertBuilt(db, "ev_20240301");
        }
        // The pool's other connections in use but one (left idle for the lock sampler): the builds all run on the phase's.
        try (HikariDataSource pool = db.pool(3, 2_000)) {
            assertThat(sessionsHoldingTheCopysShareLock(db, pool, "ev_20240302", 1)).as("sessions building at once").isEqualTo(1);
            assertBuilt(db, "ev_20240302");
        }
    }

    /** Makes the copy of {@code partition} as the copy step does, runs the index phase, and counts the builders seen at once. */
    private static int sessionsHoldingTheCopysShareLock(TestDatabase.Database db, HikariDataSource pool, String partition, int busy)
            throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(pool);
        TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(pool));
        SqlRunner sql = SqlRunner.live(jdbc);
        var def = JobDefinitions.parse("name: v\ntable: ev\noperation: compact\n", null);
        PartitionWork w = PartitionWork.load(new Catalog(jdbc), def, partition);
        LockRetry lockRetry = new LockRetry(tx, sql, Duration.ofMillis(500), 3);
        new Capture(sql, lockRetry).install(w.names(), w.table());
        jdbc.execute("CREATE TABLE " + partition + "__rw (LIKE " + partition + ")");
        jdbc.execute("INSERT INTO " + partition + "__rw SELECT * FROM " + partition);
        jdbc.execute("ANALYZE " + partition);

        AtomicBoolean done = new AtomicBoolean();
        AtomicInteger most = new AtomicInteger();
        Thread watcher = new Thread(() -> {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                while (!done.get()) {
                    try (ResultSet rs = st.executeQuery("SELECT count(DISTINCT pid) FROM pg_locks WHERE relation = to_regclass('"
                            + partition + "__rw') AND mode = 'ShareLock' AND granted")) {
                        rs.next();
                        most.accumulateAndGet(rs.getInt(1), Math::max);
                    }
                }
            } catch (Exception e) {
                most.set(-1);
            }
        });
        watcher.start();
        try {
            List<Connection> held = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < busy; i++) {
                    held.add(pool.getConnection());
                }
                new IndexBuild(sql, lockRetry, pool, Statistics.AFTER_SWAP).build(w);
            } finally {
                for (Connection c : held) {
                    c.close();
                }
            }
        } finally {
            done.set(true);
            watcher.join();
        }
        return most.get();
    }

    private static void assertBuilt(TestDatabase.Database db, String partition) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_index WHERE indrelid = '" + partition + "__rw'::regclass"))
                    .as("indexes of the copy").isEqualTo(3);
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_constraint WHERE conrelid = '" + partition + "__rw'::regclass"
                    + " AND contype = 'p'")).as("its primary key").isEqualTo(1);
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_constraint WHERE conrelid = '" + partition + "__rw'::regclass"
                    + " AND conname = 'pgrewrite_bound'")).as("its bound CHECK").isEqualTo(1);
        }
    }
}
