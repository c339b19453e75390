package io.pgrewrite.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;

import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.CountingDataSource;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * {@code run} from cron (no terminal) logs its progress every few seconds. It reads the database when a
 * line is due, not every half second in between: a look is six queries, and the rewrite shares the cores
 * with them.
 */
class QuietProgressTest {

    @Test
    void readsTheDatabaseWhenALineIsDue() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("quietprogress");
        CliRun.makeSchema(db);
        CountingDataSource counting = new CountingDataSource(db.dataSource());
        System.setProperty("pgrewrite.progress.every", "2");
        try (RunProgress progress = RunProgress.start(counting.dataSource(), "p@public.ev", 1)) {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                // the execution this run started, copying its one partition
                st.execute("INSERT INTO pgrewrite.batch_job_instance VALUES (1, 0, 'rewrite', 'k1')");
                st.execute("INSERT INTO pgrewrite.batch_job_execution (job_execution_id, version, job_instance_id, create_time,"
                        + " start_time, status) VALUES (10, 0, 1, now(), now(), 'STARTED')");
                st.execute("INSERT INTO pgrewrite.batch_job_execution_params VALUES (10, 'job.key', 'java.lang.String', 'p@public.ev', 'Y')");
                st.execute("INSERT INTO pgrewrite.batch_step_execution (step_execution_id, version, step_name, job_execution_id,"
                        + " create_time, start_time, status) VALUES (100, 0, 'rewrite:ev_1', 10, now(), now(), 'STARTED')");
                st.execute("INSERT INTO pgrewrite.partition_state (job_key, partition_name, state, rows_copied)"
                        + " VALUES ('p@public.ev', 'ev_1', 'copying', 500)");
            }
            Thread.sleep(1000);
            counting.reset();
            Thread.sleep(5000);
            int queries = counting.reset();
            // a line every 2 s: two or three looks of six queries; a look every 500 ms would be sixty queries
            assertThat(queries).as("queries in 5 s with a line every 2 s").isBetween(6, 24);
        } finally {
            System.clearProperty("pgrewrite.progress.every");
        }
    }
}
