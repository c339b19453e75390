package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

import io.pgrewrite.control.JobControls.Throttled;
import io.pgrewrite.definition.DefinitionException;
import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Each throttle signal's SQL, read as pgrewrite's own (non-superuser) role on a real server. A standby
 * cannot be had here: with none, pg_stat_replication has no rows and the lag signals read 0 (not
 * throttled) — the SQL runs, its figures from a real standby are not tested. The others are produced:
 * a session waiting for a lock a pgrewrite session holds, a transaction left open, WAL written. The
 * custom query is one query only: a second statement is refused when the definition is read, and what
 * would write fails in the read-only transaction it runs in, leaving the table as it was.
 */
class ThrottleSignalsTest {

    static TestDatabase.Database db;
    static JdbcTemplate jdbc;

    @BeforeAll
    static void table() throws Exception {
        db = TestDatabase.newDatabase("signals");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 100);
            Tables.grantApp(c, "public.ev");
            c.createStatement().execute("CREATE SEQUENCE app_seq");
        }
        jdbc = new JdbcTemplate(db.dataSource());
    }

    static JobDefinition job(String throttle) {
        return JobDefinitions.parse("name: s\ntable: ev\noperation: compact\nthrottle: {" + throttle + "}\n", Path.of("s.yaml"));
    }

    static Map<String, Throttled> sample(JobDefinition def) {
        ThrottleSampler s = new ThrottleSampler(jdbc, db.dataSource(), def, 0, n -> { });
        return s.sample(def).stream().collect(Collectors.toMap(Throttled::signal, t -> t));
    }

    @Test
    void noStandbyNoLag() {
        assertThat(jdbc.queryForList(ThrottleSampler.REPLICATION)).isEmpty();
        Map<String, Throttled> s = sample(job("replication-lag: 1ms, replication-lag-bytes: 1"));
        assertThat(s.get("replication-lag").value()).isZero();
        assertThat(s.get("replication-lag-bytes").value()).isZero();
        assertThat(s.get("replication-lag").threshold()).isEqualTo(0.001);
    }

    @Test
    void aSessionWaitingForPgrewritesLock() throws Exception {
        Properties p = new Properties();
        p.setProperty("user", TestDatabase.OWNER);
        p.setProperty("password", TestDatabase.OWNER_PASSWORD);
        p.setProperty("ApplicationName", "pgrewrite");
        try (Connection pgrewrite = DriverManager.getConnection(db.url(), p); Statement st = pgrewrite.createStatement()) {
            pgrewrite.setAutoCommit(false);
            st.execute("LOCK TABLE ev_20240301 IN ACCESS EXCLUSIVE MODE");
            CompletableFuture<Void> app = CompletableFuture.runAsync(() -> {
                try (Connection c = db.connectAsApp(); Statement a = c.createStatement()) {
                    a.execute("SELECT count(*) FROM ev_20240301");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            double waiters = 0;
            for (int i = 0; i < 50 && waiters == 0; i++) {
                Thread.sleep(100);
                waiters = sample(job("lock-waiters: 0")).get("lock-waiters").value();
            }
            assertThat(waiters).isEqualTo(1);
            pgrewrite.rollback();
            app.get();
        }
        assertThat(sample(job("lock-waiters: 0")).get("lock-waiters").value()).isZero();
    }

    @Test
    void aTransactionLeftOpen() throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute("SELECT 1");
            Thread.sleep(1200);
            assertThat(sample(job("oldest-transaction: 1s")).get("oldest-transaction").value()).isGreaterThan(1.0);
            c.rollback();
        }
    }

    @Test
    void walWrittenPerMinuteAndNoAntiWraparound() {
        JobDefinition def = job("wal-per-minute: 1GB, anti-wraparound: true");
        ThrottleSampler s = new ThrottleSampler(jdbc, db.dataSource(), def, 0, n -> { });
        assertThat(s.sample(def)).extracting(Throttled::signal).containsExactly("anti-wraparound"); // no rate after one look
        jdbc.execute("CREATE TABLE wal_maker (g int)");
        jdbc.execute("INSERT INTO wal_maker SELECT g FROM generate_series(1, 20000) g");
        List<Throttled> second = s.sample(def);
        assertThat(second).extracting(Throttled::signal).containsExactly("wal-per-minute", "anti-wraparound");
        assertThat(second.get(0).value()).isGreaterThan(0);
        assertThat(second.get(1).value()).isZero();
    }

    @Test
    void theQueryIsOneQueryAndReadsOnly() {
        assertThat(sample(job("query: \"SELECT count(*) FROM ev\", query-max: 1")).get("query").value()).isEqualTo(100);
        assertThatThrownBy(() -> job("query: \"SELECT 1; DELETE FROM ev\", query-max: 1"))
                .isInstanceOf(DefinitionException.class).hasMessageContaining("'throttle.query' is 'SELECT 1; DELETE FROM ev';"
                        + " give a single SQL query: the ';' at position 9 is outside quotes");
        assertThatThrownBy(() -> job("query: \"SELECT 1\"")).hasMessageContaining("'throttle.query' and 'throttle.query-max' go together");
        // would write: refused by the server (a data-modifying WITH in a subquery), then by the read-only transaction
        assertThat(sample(job("query: \"WITH d AS (DELETE FROM ev RETURNING 1) SELECT count(*) FROM d\", query-max: 1"))).isEmpty();
        assertThat(sample(job("query: \"SELECT nextval('app_seq')\", query-max: 1")))
                .isEmpty();
        assertThat(jdbc.queryForObject("SELECT count(*) FROM ev", Long.class)).isEqualTo(100);
        assertThat(jdbc.queryForObject("SELECT last_value FROM app_seq", Long.class)).isEqualTo(1); // never called
        assertThat(jdbc.queryForObject("SELECT is_called FROM app_seq", Boolean.class)).isFalse();
    }
}
