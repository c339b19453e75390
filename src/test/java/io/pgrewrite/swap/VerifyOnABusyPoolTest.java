package io.pgrewrite.swap;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

import com.zaxxer.hikari.HikariDataSource;
import io.pgrewrite.copy.Capture;
import io.pgrewrite.definition.JobDefinitions;
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
 * Every connection of the job's pool in use but verify's own (workers holding their locks, a retire, an ANALYZE): verify
 * reads the copy's side itself, after the partition's, in the same snapshot, at once, rather than waiting with its
 * snapshot open for a connection the pool does not have (Hikari would wait its connection timeout, here 20 s); and
 * finds a changed value all the same.
 */
class VerifyOnABusyPoolTest {

    @Test
    void verifyDoesNotWaitForAConnectionThePoolCannotSpare() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("busypool");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 5_000);
        }
        CliRun.makeSchema(db);
        try (HikariDataSource pool = db.pool(3, 20_000)) {
            JdbcTemplate jdbc = new JdbcTemplate(pool);
            TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(pool));
            SqlRunner sql = SqlRunner.live(jdbc);
            PartitionWork w = PartitionWork.load(new Catalog(jdbc), JobDefinitions.parse("name: v\ntable: ev\noperation: compact\n", null),
                    "ev_20240301");
            new Capture(sql, new LockRetry(tx, sql, Duration.ofMillis(500), 3)).install(w.names(), w.table());
            jdbc.execute("CREATE TABLE ev_20240301__rw (LIKE ev_20240301)");
            jdbc.execute("INSERT INTO ev_20240301__rw SELECT * FROM ev_20240301");

            List<Connection> held = new ArrayList<>();
            try {
                held.add(pool.getConnection());
                held.add(pool.getConnection()); // verify's transaction takes the third
                Verify verify = new Verify(sql, tx, 0); // the two sides at once from any size on
                long start = System.nanoTime();
                assertThat(verify.verify(w).ok()).as("the copy equals the partition").isTrue();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("verify's time").isLessThan(Duration.ofSeconds(10));

                try (var st = held.get(0).createStatement()) {
                    st.execute("UPDATE ev_20240301__rw SET label = 'changed' WHERE id = 42");
                }
                start = System.nanoTime();
                assertThat(verify.verify(w).ok()).as("a changed value").isFalse();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("verify's time").isLessThan(Duration.ofSeconds(10));
            } finally {
                for (Connection c : held) {
                    c.close();
                }
            }
        }
    }
}
