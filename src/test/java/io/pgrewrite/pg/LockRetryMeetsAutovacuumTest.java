package io.pgrewrite.pg;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.pgrewrite.testsupport.OwnServer;
import io.pgrewrite.testsupport.StatementLog;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * A real autovacuum worker, not a stand-in: on a server of the test's own with a 1 s autovacuum naptime, a
 * table with dead rows and a vacuum slowed to a page per 100 ms. The worker holds SHARE UPDATE EXCLUSIVE on
 * it for many seconds. The lock operation's first statement sees it at work, the attempt rolls back before
 * its body, autovacuum is cancelled (as a superuser may), and the one attempt gets its lock: no attempt
 * runs into the worker's lock and waits out its lock_timeout. Autovacuum at work on another table does not
 * stop a lock operation on ours.
 */
class LockRetryMeetsAutovacuumTest {

    @Test
    void autovacuumAtWorkOnTheTableIsClearedBeforeTheAttemptAndStopsNone() throws Exception {
        try (OwnServer server = OwnServer.start(Map.of("autovacuum_naptime", "1s"))) {
            TestDatabase.Database db = server.newDatabase("av");
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id int, pad text) WITH (autovacuum_vacuum_threshold = 0,"
                        + " autovacuum_vacuum_scale_factor = 0, autovacuum_analyze_threshold = 1000000000,"
                        + " autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1)");
                st.execute("INSERT INTO t SELECT i, repeat('x', 200) FROM generate_series(1, 20000) i");
                st.execute("DELETE FROM t");
            }
            String held = """
                    SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                     WHERE a.backend_type = 'autovacuum worker' AND l.relation = 't'::regclass AND l.granted""";
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE u (id int) WITH (autovacuum_enabled = false)");
            }
            StatementLog statements = new StatementLog(db.superuserDataSource());
            JdbcTemplate jdbc = new JdbcTemplate(statements.dataSource());
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (jdbc.queryForObject(held, Long.class) == 0) {
                assertThat(System.nanoTime()).as("an autovacuum worker holds a lock on t within 60 s").isLessThan(deadline);
                Thread.sleep(100);
            }
            try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
                // The worker holds t now; the launcher sends no other until the test is done, so that none can take
                // t again in the moment between the cancel and the attempt (which would stop one attempt).
                st.execute("ALTER SYSTEM SET autovacuum_naptime = '1h'");
                st.execute("SELECT pg_reload_conf()");
            }
            TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(jdbc.getDataSource()));
            LockRetry retry = new LockRetry(tx, SqlRunner.live(jdbc), Duration.ofMillis(200), 1);

            // Autovacuum at work on another table: the lock operation on u asks nothing more, and its transaction
            // holds no lock on a shared catalog (pg_database, pg_authid: a VACUUM FULL of one, and every login
            // after it, would queue behind the transaction).
            statements.clear();
            List<String> sharedCatalogs = retry.run("lock u", List.of("u"), t -> {
                jdbc.update("LOCK TABLE u IN ACCESS EXCLUSIVE MODE");
                return jdbc.queryForList("SELECT l.relation::regclass::text FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
                        + " WHERE l.pid = pg_backend_pid() AND c.relisshared", String.class);
            }).value();
            assertThat(sharedCatalogs).as("shared catalogs locked by the attempt").isEmpty();
            assertThat(statements.statements()).as("statements of the lock operation on u").hasSize(3)
                    .startsWith(StatementLog.fold(LockRetry.SET_LIMITS), "LOCK TABLE u IN ACCESS EXCLUSIVE MODE");
            assertThat(jdbc.queryForObject(held, Long.class)).as("autovacuum still at work on t").isPositive();

            long[] mark = LockRetry.AUTOVACUUM_IN_THE_WAY.mark();
            var outcome = retry.run("lock t", List.of("t"), LockRetry.Scope.ONLY, () -> { },
                    t -> jdbc.update("LOCK TABLE t IN ACCESS EXCLUSIVE MODE"));

            assertThat(outcome.attempts()).as("attempts that took locks").isEqualTo(1);
            assertThat(LockRetry.AUTOVACUUM_IN_THE_WAY.summarySince(mark)).as("the report's autovacuum line")
                    .matches("autovacuum: in the way of 1 lock operation\\(s\\) of this run, cancelled [1-9]\\d* time\\(s\\),"
                            + " 0 attempt\\(s\\) retried because of it alone .*");
        }
    }
}
