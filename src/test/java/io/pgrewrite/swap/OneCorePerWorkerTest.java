package io.pgrewrite.swap;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;

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
 * A DBA runs pgrewrite with {@code workers: 1} on a server whose planner scans and builds in parallel
 * (here: parallel plans made free, so that PostgreSQL picks them even for a small table). The job still
 * takes one core: verify's two checksum scans and the index phase's builds each read their table in the
 * job's own backend alone, with no parallel worker beside it. Seen in the table's scan counter, which
 * every participant of a scan (leader and each parallel worker) increments.
 */
class OneCorePerWorkerTest {

    @Test
    void verifyAndTheIndexBuildsReadEachTableInOneBackend() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("onecore");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 20_000);
            st.execute("ALTER DATABASE " + db.name() + " SET parallel_setup_cost = 0");
            st.execute("ALTER DATABASE " + db.name() + " SET parallel_tuple_cost = 0");
            st.execute("ALTER DATABASE " + db.name() + " SET min_parallel_table_scan_size = 0");
            st.execute("ALTER DATABASE " + db.name() + " SET maintenance_work_mem = '256MB'");
        }
        CliRun.makeSchema(db);
        var ds = db.dataSource(); // a connection per use: a closed one's backend reports its scans as it exits
        JdbcTemplate jdbc = new JdbcTemplate(ds);
        TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(ds));
        SqlRunner sql = SqlRunner.live(jdbc);
        var def = JobDefinitions.parse("name: v\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n", null);
        jdbc.execute("ALTER TABLE ev ADD COLUMN massa__pgrewrite integer"); // as after expand
        PartitionWork w = PartitionWork.load(new Catalog(jdbc), def, "ev_20240301");
        LockRetry lockRetry = new LockRetry(tx, sql, Duration.ofMillis(200), 3);
        new Capture(sql, lockRetry).install(w.names(), w.table());
        jdbc.execute("CREATE TABLE ev_20240301__rw (LIKE ev)"); // as the copy creates it: NOT NULL as on the parent
        jdbc.execute("INSERT INTO ev_20240301__rw SELECT id, at, massa, label, extra, massa::integer FROM ev_20240301");
        assertThat(jdbc.queryForList("EXPLAIN SELECT count(*) FROM ONLY ev_20240301", String.class))
                .as("the planner on its own would scan in parallel").anyMatch(line -> line.contains("Gather"));

        long source = settledScans(db, "ev_20240301");
        long copy = settledScans(db, "ev_20240301__rw");
        new IndexBuild(sql, lockRetry, ds, Statistics.AFTER_SWAP).build(w);
        // the primary key's build and the bound CHECK's validation, each one scan
        assertThat(settledScans(db, "ev_20240301__rw") - copy).as("scans of the copy by the index phase").isEqualTo(2);

        copy = settledScans(db, "ev_20240301__rw");
        assertThat(new Verify(sql, tx, 0).verify(w).ok()).isTrue();
        assertThat(settledScans(db, "ev_20240301") - source).as("scans of the partition by verify").isEqualTo(1);
        assertThat(settledScans(db, "ev_20240301__rw") - copy).as("scans of the copy by verify").isEqualTo(1);
    }

    /** The table's seq_scan once the backends that scanned it have exited and reported (unchanged for 1 s). */
    private static long settledScans(TestDatabase.Database db, String table) throws Exception {
        long last = -1;
        long since = System.nanoTime();
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < deadline) {
            long now;
            try (Connection c = db.connect(); Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT seq_scan FROM pg_stat_user_tables WHERE relid = to_regclass('" + table + "')")) {
                now = rs.next() ? rs.getLong(1) : 0;
            }
            if (now != last) {
                last = now;
                since = System.nanoTime();
            } else if (System.nanoTime() - since > Duration.ofSeconds(1).toNanos()) {
                return now;
            }
            Thread.sleep(50);
        }
        return last;
    }
}
