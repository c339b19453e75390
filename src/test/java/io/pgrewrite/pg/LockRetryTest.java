package io.pgrewrite.pg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import io.pgrewrite.testsupport.StatementLog;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * What a DBA can trust of pgrewrite's lock retries, against a real server: a session holds a lock our
 * DDL needs. Who that session is (autovacuum or not, whether we may cancel it) comes from a stand-in
 * where a real autovacuum worker cannot be summoned on demand; everything else is real.
 */
class LockRetryTest {

    static TestDatabase.Database db;
    static JdbcTemplate jdbc;
    static TransactionTemplate tx;
    static SqlRunner sql;

    @BeforeAll
    static void table() {
        db = TestDatabase.newDatabase("lock_retry");
        javax.sql.DataSource ds = db.dataSource(); // one: the template must see the transaction's connection
        jdbc = new JdbcTemplate(ds);
        tx = new TransactionTemplate(new DataSourceTransactionManager(ds));
        sql = SqlRunner.live(jdbc);
        jdbc.execute("CREATE TABLE t (id int)");
        jdbc.execute("CREATE TABLE parted (id int, at date) PARTITION BY RANGE (at)");
        jdbc.execute("CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM ('2024-01-01') TO ('2024-01-02')");
    }

    /** Holds SHARE UPDATE EXCLUSIVE on t (what VACUUM and ANALYZE take) until released. */
    static final class Holder implements AutoCloseable {
        final Connection c;
        final int pid;

        Holder() throws Exception {
            c = db.connect();
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("LOCK TABLE t IN SHARE UPDATE EXCLUSIVE MODE");
                var rs = st.executeQuery("SELECT pg_backend_pid()");
                rs.next();
                pid = rs.getInt(1);
            }
        }

        void release() {
            try {
                c.commit();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() throws Exception {
            c.close();
        }
    }

    /** The blocker as the detection query would report it, with a chosen answer to "may we cancel it". */
    static final class StandIn implements LockRetry.Blockers {
        final int pid;
        final boolean autovacuum;
        final java.util.function.IntSupplier cancel;
        final AtomicInteger cancelCalls = new AtomicInteger();

        StandIn(int pid, boolean autovacuum, java.util.function.IntSupplier cancel) {
            this.pid = pid;
            this.autovacuum = autovacuum;
            this.cancel = cancel;
        }

        @Override
        public LockRetry.Sampling watch(int ourPid) {
            return () -> List.of(new LockRetry.Blocker(pid, autovacuum, false, "stand-in pid " + pid));
        }

        @Override
        public List<LockRetry.Blocker> holders(List<String> relations) {
            return List.of();
        }

        /** A stand-in autovacuum is at work whatever the server says. */
        @Override
        public boolean atWork(boolean serverSays) {
            return serverSays || autovacuum;
        }

        @Override
        public int cancelAutovacuum(List<String> relations, LockRetry.Scope scope) {
            cancelCalls.incrementAndGet();
            return cancel.getAsInt();
        }

        /** As the real one does, on the stand-in's table: SHARE UPDATE EXCLUSIVE, lock_timeout {@code millis}. */
        @Override
        public void waitOutAutovacuum(List<String> relations, LockRetry.Scope scope, long millis) {
            waits.incrementAndGet();
            try {
                tx.executeWithoutResult(s -> {
                    jdbc.queryForList("SELECT set_config('lock_timeout', ?, true)", millis + "ms");
                    jdbc.execute(String.format(LockRetry.WAIT_FOR_AUTOVACUUM, "t"));
                });
            } catch (org.springframework.dao.DataAccessException e) {
                // did not yield in time: the caller retries
            }
        }

        final AtomicInteger waits = new AtomicInteger();
    }

    static int lockT(LockRetry.Timing t) {
        jdbc.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
        return 1;
    }

    /**
     * The swap and the catch-up read lock_timeout and deadlock_timeout in ms from current_setting (LockRetry.millis),
     * not from pg_settings: every way the server shows a time setting (no unit for 0, ms up to days, the largest
     * a lock_timeout may be) gives what pg_settings says.
     */
    @Test
    void aTimeSettingReadsAsPgSettingsHasIt() {
        String asPgSettings = "SELECT setting::bigint FROM pg_settings WHERE name = ?";
        for (String value : List.of("0", "1", "200ms", "250", "1s", "1500ms", "90s", "5min", "61min", "2h", "1d", "3d",
                "2147483647ms", "2147483647")) {
            Long[] read = tx.execute(s -> {
                jdbc.queryForObject("SELECT set_config('lock_timeout', ?, true)", String.class, value);
                return new Long[] {jdbc.queryForObject("SELECT " + LockRetry.millis("lock_timeout"), Long.class),
                        jdbc.queryForObject(asPgSettings, Long.class, "lock_timeout")};
            });
            assertThat(read[0]).as("lock_timeout = %s", value).isEqualTo(read[1]);
        }
        // deadlock_timeout only a superuser may set: as the server has it
        assertThat(jdbc.queryForObject("SELECT " + LockRetry.millis("deadlock_timeout"), Long.class))
                .isEqualTo(jdbc.queryForObject(asPgSettings, Long.class, "deadlock_timeout"));
    }

    @Test
    void autovacuumThatIsCancelledAndComesBackDoesNotUseUpTheAttempts() throws Exception {
        // Like autovacuum walking freshly swapped partitions: cancelled before every attempt, it is back
        // on the next relation each time. Three times, with only two attempts allowed for real conflicts.
        try (Holder h = new Holder()) {
            StandIn av = new StandIn(h.pid, true, () -> 1);
            AtomicInteger before = new AtomicInteger();
            long[] mark = LockRetry.AUTOVACUUM_IN_THE_WAY.mark();
            assertThat(LockRetry.AUTOVACUUM_IN_THE_WAY.summarySince(mark)).as("nothing since the mark").isNull();
            LockRetry retry = new LockRetry(tx, sql, Duration.ofMillis(100), 2, av);
            var o = retry.run("lock t", List.of("t"), LockRetry.Scope.ONLY, () -> {
                if (before.incrementAndGet() == 4) {
                    h.release(); // the fourth cancellation finds it gone for good
                }
            }, LockRetryTest::lockT);
            assertThat(o.attempts()).isEqualTo(4);
            assertThat(av.cancelCalls.get()).as("cleared before every attempt (and once after each stop)").isGreaterThanOrEqualTo(4);
            // Not a console line per operation: the run's report says it once, from this tally.
            assertThat(LockRetry.AUTOVACUUM_IN_THE_WAY.summarySince(mark)).as("the report's one autovacuum line")
                    .startsWith("autovacuum: in the way of 1 lock operation(s) of this run, cancelled ");
        }
    }

    @Test
    void anApplicationSessionIsARealConflictAndUsesUpTheAttempts() throws Exception {
        try (Holder h = new Holder()) {
            LockRetry retry = new LockRetry(tx, sql, Duration.ofMillis(100), 3, new StandIn(h.pid, false, () -> 0));
            assertThatThrownBy(() -> retry.run("lock t", List.of("t"), LockRetryTest::lockT))
                    .isInstanceOf(LockRetry.LockNotAvailableException.class)
                    .hasMessageContaining("in 3 attempts of 100 ms").hasMessageContaining("stand-in pid " + h.pid);
        }
    }

    @Test
    void whereAutovacuumMayNotBeCancelledTheNextAttemptWaitsPastDeadlockTimeout() throws Exception {
        // Not a superuser: PostgreSQL cancels an autovacuum that blocks a lock request after deadlock_timeout
        // (1 s), longer than any of our lock timeouts, so we wait that long for it — in a mode the
        // application's writes do not queue behind.
        try (Holder h = new Holder()) {
            CompletableFuture<Void> leaves = CompletableFuture.runAsync(() -> {
                sleep(600);
                h.release();
            });
            CompletableFuture<Double> appWrite = CompletableFuture.supplyAsync(() -> {
                sleep(300); // while we wait for the stand-in
                try (Connection c = db.connect(); Statement st = c.createStatement()) {
                    st.execute("SET statement_timeout = '250ms'");
                    long t0 = System.nanoTime();
                    st.execute("INSERT INTO t VALUES (1)");
                    return (System.nanoTime() - t0) / 1e6;
                } catch (Exception e) {
                    throw new IllegalStateException("the application's INSERT queued behind the wait", e);
                }
            });
            LockRetry retry = new LockRetry(tx, sql, Duration.ofMillis(100), 1, new StandIn(h.pid, true, () -> -1));
            long start = System.nanoTime();
            StandIn av = (StandIn) retry.blockers();
            var o = retry.run("lock t", List.of("t"), LockRetryTest::lockT);
            assertThat(o.attempts()).as("the stop by autovacuum is not counted").isEqualTo(2);
            assertThat(av.waits.get()).as("waited for it once, past deadlock_timeout").isEqualTo(1);
            assertThat((System.nanoTime() - start) / 1e6).isBetween(550.0, 1500.0);
            assertThat(appWrite.join()).as("ms the application's INSERT waited").isLessThan(250.0);
            leaves.join();
        }
    }

    @Test
    void theBackoffBetweenAttemptsOnlyGrows() {
        LockRetry retry = new LockRetry(tx, sql, Duration.ofMillis(200), 20);
        for (int run = 0; run < 200; run++) {
            long previous = 0;
            for (int attempt = 1; attempt <= 12; attempt++) {
                long b = retry.backoffMillis(attempt);
                assertThat(b).as("attempt %d", attempt).isGreaterThanOrEqualTo(previous)
                        .isGreaterThanOrEqualTo(Math.min(10_000, 200L << (attempt - 1))).isLessThanOrEqualTo(10_000);
                previous = b;
            }
        }
    }

    @Test
    void aTransactionThatLocksTheWholeTableHasItsStatementsBoundedAndNoneMayIdle() {
        LockRetry retry = new LockRetry(tx, sql, Duration.ofMillis(200), 3);
        String[] onParent = retry.run("x", List.of("parted"), t -> new String[] {
                jdbc.queryForObject("SHOW statement_timeout", String.class),
                jdbc.queryForObject("SHOW idle_in_transaction_session_timeout", String.class),
                jdbc.queryForObject("SHOW lock_timeout", String.class)}).value();
        assertThat(onParent).containsExactly("10200ms", "2s", "200ms");
        String onTable = retry.run("x", List.of("t"), t -> jdbc.queryForObject("SHOW statement_timeout", String.class)).value();
        assertThat(onTable).isEqualTo("0"); // an index build on P__rw may take as long as it takes
        assertThat(jdbc.queryForObject("SHOW idle_in_transaction_session_timeout", String.class)).as("local to the transaction")
                .isEqualTo("0");
    }

    @Test
    void aLockOperationThatNobodyIsInTheWayOfAsksTheDatabaseOneThingBesidesItsWork() {
        // Every partition's capture, copy, index, swap and retire is such an operation: once it planned a
        // query over pg_locks and the partition tree and asked whether a relation was partitioned, for nothing;
        // then it asked whether autovacuum was at work in a statement of its own. Now one statement sets the
        // limits and answers both.
        StatementLog log = new StatementLog(db.dataSource());
        JdbcTemplate counted = new JdbcTemplate(log.dataSource());
        TransactionTemplate countedTx = new TransactionTemplate(new DataSourceTransactionManager(log.dataSource()));
        LockRetry retry = new LockRetry(countedTx, SqlRunner.live(counted), Duration.ofMillis(200), 3);
        for (String table : List.of("t", "parted")) {
            List<String> expected = List.of(StatementLog.fold(LockRetry.SET_LIMITS),
                    "LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
            // The server's own autovacuum may be at work on a catalog of this fresh database just then, and is
            // then looked for on our table: asked again a moment later, it is gone.
            List<String> asked = List.of();
            for (int i = 0; i < 20 && !asked.equals(expected); i++) {
                sleep(i == 0 ? 0 : 250);
                log.clear();
                retry.run("lock " + table, List.of(table), t -> counted.update("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE"));
                asked = log.statements();
            }
            assertThat(asked).as("lock %s", table).containsExactlyElementsOf(expected);
        }
    }

    @Test
    void theDetectionQueriesRunAsTheOwnerRole() throws Exception {
        // Their errors are only logged (a failed look must not fail the DDL): prove here that they run.
        try (Holder h = new Holder()) {
            String[] tree = {"parted", "t"};
            String[] plain = {"t", "no_such_table"};
            assertThat(jdbc.queryForObject("SELECT " + LockRetry.AUTOVACUUM_AT_WORK_EXPRESSION, Boolean.class, true, tree, true, tree)).isFalse();
            assertThat(jdbc.queryForObject("SELECT " + LockRetry.AUTOVACUUM_AT_WORK_EXPRESSION, Boolean.class, true, plain, false, plain)).isFalse();
            assertThat(jdbc.queryForList(LockRetry.AUTOVACUUM_ON, tree, tree, true)).isEmpty();
            assertThat(jdbc.queryForList(LockRetry.AUTOVACUUM_ON, plain, plain, false)).isEmpty();
            assertThat(jdbc.queryForList(LockRetry.LOCK_HOLDERS, plain, plain))
                    .extracting(r -> ((Number) r.get("pid")).intValue()).contains(h.pid);
            assertThat(jdbc.queryForList(LockRetry.BLOCKERS, h.pid, h.pid)).isEmpty(); // it waits for nobody
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
