package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import io.pgrewrite.control.JobControls;
import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.CountingDataSource;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * A job runs without throttle signals, on two cores it shares with the database. Its throttle sampler
 * still follows the operator's {@code set workers=3} within about a second, and meanwhile asks the
 * database once a second, not twice every 250 ms: every query it saves is CPU the copy keeps.
 */
class QuietThrottleSamplerTest {

    @Test
    void followsSetWorkersWithOneQueryASecond() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("quiet");
        CliRun.makeSchema(db);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("INSERT INTO pgrewrite.batch_job_instance VALUES (1, 0, 'rewrite', 'k1')");
            st.execute("INSERT INTO pgrewrite.batch_job_execution (job_execution_id, version, job_instance_id, create_time, status)"
                    + " VALUES (10, 0, 1, now(), 'STARTED')");
            st.execute("INSERT INTO pgrewrite.batch_job_execution_params VALUES (10, 'job.key', 'java.lang.String', 'q@public.ev', 'Y')");
        }
        JobDefinition def = JobDefinitions.parse("name: q\ntable: ev\noperation: compact\nworkers: 1\n", Path.of("q.yaml"));
        CountingDataSource counting = new CountingDataSource(db.dataSource());
        AtomicInteger workers = new AtomicInteger(1);
        try (ThrottleSampler sampler = new ThrottleSampler(new JdbcTemplate(counting.dataSource()), counting.dataSource(), def, 10,
                workers::set).start()) {
            Thread.sleep(500);
            counting.reset();
            Thread.sleep(4000);
            int queries = counting.reset();
            assertThat(queries).as("queries in 4 s without throttle signals").isBetween(3, 5);

            new JobControls(db.dataSource()).set(10, Map.of("workers", "3"));
            long asked = System.nanoTime();
            while (workers.get() != 3 && System.nanoTime() - asked < 5_000_000_000L) {
                Thread.sleep(50);
            }
            assertThat(workers.get()).isEqualTo(3);
            assertThat((System.nanoTime() - asked) / 1e9).as("seconds until the sampler followed").isLessThan(1.5);
        }
    }
}
