package io.pgrewrite.metrics;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * {@code /actuator/health} part "rewrite": the executions running on this database, with partitions by
 * state. Always UP while the JobRepository answers (the database part says when it does not): a failed
 * job is the operator's to act on, not a reason to restart this process.
 */
@Component("rewrite")
@ConditionalOnProperty(name = "pgrewrite.http.enabled", havingValue = "true")
public class JobsHealth implements HealthIndicator {

    static final String RUNNING = """
            SELECT e.job_execution_id FROM pgrewrite.batch_job_execution e
              JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
             WHERE i.job_name = 'rewrite' AND e.status IN ('STARTING', 'STARTED', 'STOPPING')
             ORDER BY e.job_execution_id
            """;

    private final JdbcTemplate jdbc;

    public JobsHealth(DataSource dataSource) {
        this.jdbc = new JdbcTemplate(dataSource);
    }

    @Override
    public Health health() {
        List<Long> ids = jdbc.queryForList(RUNNING, Long.class);
        Map<String, Object> running = new LinkedHashMap<>();
        JobProgress progress = new JobProgress(jdbc);
        for (Long id : ids) {
            JobProgress.Execution e = progress.of(id);
            if (e != null) {
                running.put(e.jobKey(), Map.of("execution", id, "partitions", e.counts(), "rowsDone", e.rowsDone(),
                        "etaSeconds", e.eta() == null ? -1 : e.eta().toSeconds()));
            }
        }
        return Health.up().withDetail("running", running).build();
    }
}
