package io.pgrewrite.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import javax.sql.DataSource;

import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The Spring context's pool is sized for the job's workers (5 connections a worker, plan.ConnectionBudget), but
 * opens only the connections asked for: Hikari's minimum-idle, unless set, is the maximum, and the pool filled
 * itself to it as soon as it started and held that many for the whole job, idle or not, taking them from the
 * application. Here a pool of 26 (4 workers) is asked for one connection, and 3 s later holds at most 5 (3 seen:
 * the context's start used some). Without minimum-idle it held 26.
 */
class PoolOpensWhatIsUsedTest {

    static final String OURS = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgrewrite' AND datname = current_database()";

    @Test
    void aBigPoolOpensOnlyWhatIsAskedFor() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("pool_idle");
        ConnectionOptions conn = new ConnectionOptions();
        conn.url = db.url();
        conn.username = TestDatabase.OWNER;
        conn.password = TestDatabase.OWNER_PASSWORD;
        try (ConfigurableApplicationContext ctx = AppContext.open(conn, 26)) {
            DataSource ds = ctx.getBean(DataSource.class);
            try (Connection c = ds.getConnection()) {
                assertThat(c.isValid(1)).isTrue();
            }
            Thread.sleep(3000);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(Tables.one(st, OURS)).as("pgrewrite's sessions 3 s after one connection was used").isBetween(1L, 5L);
            }
        }
    }
}
