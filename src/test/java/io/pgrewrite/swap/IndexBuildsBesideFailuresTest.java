package io.pgrewrite.swap;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.util.concurrent.atomic.AtomicReference;

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
 * The index builds shared between the phase's transaction and one beside it (IndexBuild.Beside), where the two do not
 * end together: the share beside takes longer than the phase's idle limit, or the phase's own share times out on a lock
 * after the share beside committed. Found by a review (both failed on 969e36b).
 */
class IndexBuildsBesideFailuresTest {

    /**
     * The phase's own transaction waits for the share beside under LockRetry's idle_in_transaction_session_timeout
     * (max(2 s, 5 x lock_timeout)): it keeps its session busy meanwhile, or the server would end it (before: 25P03 on
     * the ADD CONSTRAINT after the wait). Here the share beside is a partial index of one page (the lighter build, so
     * it goes beside) whose build takes about 3 s ({@link #slowIndex}), against the primary key's few ms. On a large
     * partition the same comes of two builds beside against one, each reading the whole heap.
     */
    @Test
    void theIndexPhaseSurvivesABesideShareThatTakesLongerThanTheIdleLimit() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("beside_idle");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 2_000);
            slowIndex(st);
        }
        CliRun.makeSchema(db);
        try (HikariDataSource pool = db.pool(6, 2_000)) {
            Fixture f = prepare(pool, "ev_20240301", Duration.ofMillis(200));
            try {
                new IndexBuild(f.sql, f.lockRetry, pool, Statistics.AFTER_SWAP).build(f.w);
            } catch (org.springframework.transaction.TransactionSystemException e) {
                // the rollback on the closed connection hides what ended the phase's transaction
                throw new AssertionError("index phase failed: " + e.getApplicationException(), e);
            }
        }
        assertBuilt(db, "ev_20240301", 2);
        assertThat(builtBeside(db, "ev_20240301", "ev_20240301_slow")).as("the slow index built beside").isTrue();
    }

    /**
     * The phase's session ends while it waits for the share beside (a DBA's pg_terminate_backend, a network cut): its
     * keepalive fails, and the share beside is cancelled with it rather than building on for the rest of its build,
     * holding the copy's lock and a connection, and committing for an attempt that failed (found by a review: on
     * c9ae9e3 its CREATE INDEX still ran 1 s after the phase failed).
     */
    @Test
    void aFailedKeepaliveStopsTheShareBeside() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("beside_keepalive");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 2_000);
            slowIndex(st);
        }
        CliRun.makeSchema(db);
        Throwable failed = null;
        try (HikariDataSource pool = db.pool(6, 2_000)) {
            Fixture f = prepare(pool, "ev_20240301", Duration.ofMillis(200));
            AtomicReference<Throwable> killerFailed = new AtomicReference<>();
            Thread killer = new Thread(() -> {
                try (Connection c = db.connect(); Statement st = c.createStatement()) {
                    long deadline = System.nanoTime() + 20_000_000_000L;
                    while (System.nanoTime() < deadline) {
                        // the phase's backend: holds the copy's SHARE lock and runs its keepalive
                        try (ResultSet rs = st.executeQuery("SELECT pg_terminate_backend(a.pid) FROM pg_locks l"
                                + " JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.relation = to_regclass('ev_20240301__rw')"
                                + " AND l.mode = 'ShareLock' AND l.granted AND a.query = 'SELECT 1'")) {
                            if (rs.next()) {
                                return;
                            }
                        }
                        Thread.sleep(20);
                    }
                    throw new AssertionError("the phase never ran its keepalive");
                } catch (Throwable e) {
                    killerFailed.set(e);
                }
            });
            killer.start();
            try {
                new IndexBuild(f.sql, f.lockRetry, pool, Statistics.AFTER_SWAP).build(f.w);
            } catch (RuntimeException e) {
                failed = e;
            } finally {
                killer.join();
            }
            assertThat(killerFailed.get()).isNull();
            assertThat(failed).as("the phase, its session ended").isNotNull();
            Thread.sleep(1_000);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(Tables.one(st, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX%ev_20240301__rw%'"
                        + " AND state = 'active'")).as("builds beside still running 1 s after the phase failed").isEqualTo(0);
            }
        }
    }

    /**
     * A statement_timeout of the role's (here the pool's, set on every connection) does not cancel the builds beside:
     * their transaction has none, as the phase's own has none (before, the share beside was cancelled after the role's
     * timeout and built again on the phase's connection). Seen in which transaction made the slow index: not the one
     * that added the bound CHECK.
     */
    @Test
    void aRolesStatementTimeoutDoesNotCancelTheBuildsBeside() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("beside_timeout");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 2_000);
            slowIndex(st);
        }
        CliRun.makeSchema(db);
        try (HikariDataSource pool = db.pool(6, 2_000)) {
            pool.setConnectionInitSql("SET statement_timeout = '1s'");
            Fixture f = prepare(pool, "ev_20240301", Duration.ofMillis(200));
            new IndexBuild(f.sql, f.lockRetry, pool, Statistics.AFTER_SWAP).build(f.w);
        }
        assertBuilt(db, "ev_20240301", 2);
        assertThat(builtBeside(db, "ev_20240301", "ev_20240301_slow")).as("the slow index built beside").isTrue();
    }

    /** Whether the copy of {@code index} was made by another transaction than the one that added the bound CHECK. */
    static boolean builtBeside(TestDatabase.Database db, String partition, String index) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT i.xmin::text <> k.xmin::text FROM pg_class i, pg_constraint k WHERE i.relname = 'pgrw_' || '"
                        + index + "'::regclass::oid AND k.conrelid = '" + partition + "__rw'::regclass AND k.conname = 'pgrewrite_bound'")) {
            assertThat(rs.next()).as("the copy of " + index + " and the bound CHECK").isTrue();
            return rs.getBoolean(1);
        }
    }

    /**
     * A lock timeout of the phase's own share after the share beside committed: the retry builds only what is missing
     * (before, it built the committed index again and failed with 42P07, not a lock failure, so the phase failed). The
     * phase's share is an index whose predicate reads table lk, which another session holds in ACCESS EXCLUSIVE mode until
     * the first attempt's lock wait ended; the primary key (the lighter build) goes beside and commits at once.
     */
    @Test
    void aLockRetryAfterTheBesideShareCommittedDoesNotBuildItAgain() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("beside_retry");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 2_000);
            st.execute("CREATE TABLE lk (x int)");
            st.execute("CREATE FUNCTION reads_lk(bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE"
                    + " AS $$ BEGIN PERFORM 1 FROM public.lk LIMIT 1; RETURN true; END $$");
            st.execute("CREATE INDEX ev_20240301_wide ON ev_20240301 (label, massa, id, at, extra) WHERE reads_lk(id)");
            st.execute("ANALYZE ev");
        }
        CliRun.makeSchema(db);
        try (HikariDataSource pool = db.pool(6, 2_000)) {
            Fixture f = prepare(pool, "ev_20240301", Duration.ofMillis(300));
            AtomicReference<Throwable> blockerFailed = new AtomicReference<>();
            Thread blocker;
            try (Connection hold = db.connect()) {
                hold.setAutoCommit(false);
                try (Statement st = hold.createStatement()) {
                    st.execute("LOCK TABLE lk IN ACCESS EXCLUSIVE MODE");
                }
                // Lets go of lk once the first attempt's wait for it has ended (its lock timeout), before the retry.
                blocker = new Thread(() -> {
                    try (Connection c = db.connect(); Statement st = c.createStatement()) {
                        boolean seen = false;
                        long deadline = System.nanoTime() + 20_000_000_000L;
                        while (System.nanoTime() < deadline) {
                            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_locks WHERE relation = 'lk'::regclass"
                                    + " AND NOT granted")) {
                                rs.next();
                                boolean waiting = rs.getLong(1) > 0;
                                if (waiting) {
                                    seen = true;
                                } else if (seen) {
                                    break;
                                }
                            }
                            Thread.sleep(5);
                        }
                        hold.commit();
                    } catch (Throwable e) {
                        blockerFailed.set(e);
                    }
                });
                blocker.start();
                try {
                    new IndexBuild(f.sql, f.lockRetry, pool, Statistics.AFTER_SWAP).build(f.w);
                } finally {
                    blocker.join();
                }
            }
            assertThat(blockerFailed.get()).isNull();
        }
        assertBuilt(db, "ev_20240301", 2);
    }

    /**
     * A partial index of one page on the day, with a predicate that sleeps 5 ms for each of 600 rows, so that building
     * its copy takes about 3 s: more than the phase's idle limit (2 s here) and the pool's statement_timeout (1 s). Made
     * fast, then made slow (the index on P is built in no time).
     */
    private static void slowIndex(Statement st) throws Exception {
        String function = "CREATE OR REPLACE FUNCTION slow_false(bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN %s RETURN false; END $$";
        st.execute(String.format(function, ""));
        st.execute("CREATE INDEX ev_20240301_slow ON ev_20240301 (id) WHERE slow_false(id)");
        st.execute("ANALYZE ev");
        st.execute(String.format(function, "IF $1 % 2000 <= 600 THEN PERFORM pg_sleep(0.005); END IF;"));
    }

    private record Fixture(SqlRunner sql, LockRetry lockRetry, PartitionWork w) {
    }

    private static Fixture prepare(HikariDataSource pool, String partition, Duration lockTimeout) throws Exception {
        JdbcTemplate jdbc = new JdbcTemplate(pool);
        TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(pool));
        SqlRunner sql = SqlRunner.live(jdbc);
        var def = JobDefinitions.parse("name: v\ntable: ev\noperation: compact\n", null);
        PartitionWork w = PartitionWork.load(new Catalog(jdbc), def, partition);
        LockRetry lockRetry = new LockRetry(tx, sql, lockTimeout, 3);
        new Capture(sql, lockRetry).install(w.names(), w.table());
        jdbc.execute("CREATE TABLE " + partition + "__rw (LIKE " + partition + ")");
        jdbc.execute("INSERT INTO " + partition + "__rw SELECT * FROM " + partition);
        return new Fixture(sql, lockRetry, w);
    }

    private static void assertBuilt(TestDatabase.Database db, String partition, int indexes) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_index WHERE indrelid = '" + partition + "__rw'::regclass"))
                    .as("indexes of the copy").isEqualTo(indexes);
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_constraint WHERE conrelid = '" + partition + "__rw'::regclass"
                    + " AND contype = 'p'")).as("its primary key").isEqualTo(1);
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_constraint WHERE conrelid = '" + partition + "__rw'::regclass"
                    + " AND conname = 'pgrewrite_bound'")).as("its bound CHECK").isEqualTo(1);
        }
    }
}
