package io.pgrewrite.job;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.time.Duration;
import java.util.function.IntConsumer;

import javax.sql.DataSource;

import io.pgrewrite.control.JobControls;
import io.pgrewrite.control.JobControls.Throttled;
import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinition.Throttle;
import io.pgrewrite.definition.RuntimeSettings;
import io.pgrewrite.pg.Identifiers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * throttle: samples the database's health signals ({@code throttle.*}) for one running execution, in the
 * one process that runs it (not per partition), and stores the verdict in {@code pgrewrite.job_control},
 * where every process working on the execution reads it ({@link Steering}). Throttled when a signal is
 * above its maximum; no longer throttled once every signal is below {@code resume-below} of its maximum.
 * It also follows {@code workers} changed at runtime ({@code onWorkers}: the local thread pool).
 */
final class ThrottleSampler implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ThrottleSampler.class);

    /** The name pgrewrite's sessions go by (AppContext sets it on the pool), to tell its locks and transactions from others'. */
    static final String APPLICATION = "pgrewrite%";

    /**
     * Each standby's replay lag; pg_stat_replication reads shared memory, no lock. No standby: no rows. A
     * role without pg_read_all_stats sees each standby's row with everything but the pid NULL (state too):
     * {@code hidden}, which must not read as "no lag" (plan refuses such a role; this catches a grant revoked
     * while the job runs). replay_lag is NULL once a standby has caught up and is idle: no lag.
     */
    static final String REPLICATION = """
            SELECT application_name, coalesce(extract(epoch FROM replay_lag), 0)::float8 AS lag_s,
                   coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::float8 AS lag_bytes,
                   state IS NULL AS hidden
              FROM pg_stat_replication
            """;

    /** Bytes of WAL generated so far (the insert position: the write position lags with asynchronous commits); no lock. */
    static final String WAL_POSITION = "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::float8";

    /**
     * Other sessions waiting for a lock that a pgrewrite session holds. pg_blocking_pids reads the lock
     * manager's shared state briefly; it is called only for sessions waiting on a lock (or whose wait is not
     * visible to this role).
     */
    static final String LOCK_WAITERS = """
            SELECT count(*)::float8 FROM pg_stat_activity w
             WHERE w.pid <> pg_backend_pid() AND w.application_name NOT LIKE ?
               AND (w.wait_event_type = 'Lock' OR w.wait_event_type IS NULL)
               AND EXISTS (SELECT 1 FROM pg_stat_activity b
                            WHERE b.pid = ANY (pg_blocking_pids(w.pid)) AND b.application_name LIKE ?)
            """;

    /** Seconds the oldest transaction of another client has been open (xact_start needs pg_monitor for other roles). */
    static final String OLDEST_TRANSACTION = """
            SELECT coalesce(extract(epoch FROM max(clock_timestamp() - xact_start)), 0)::float8 FROM pg_stat_activity
             WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'
               AND application_name NOT LIKE ?
            """;

    /** Anti-wraparound autovacuums on the table or its partitions (their query text needs pg_read_all_stats). */
    static final String ANTI_WRAPAROUND = """
            SELECT count(*)::float8 FROM pg_stat_activity a
              JOIN pg_stat_progress_vacuum v ON v.pid = a.pid
             WHERE a.backend_type = 'autovacuum worker' AND a.query LIKE '%(to prevent wraparound)%'
               AND (v.relid = to_regclass(?) OR v.relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(?)))
            """;

    /**
     * The operator's query, as a scalar subquery: it can only be one query returning one value (a second
     * statement would leave the parenthesis open; data-modifying WITH is refused in a subquery), and it runs
     * in a read-only transaction with a statement timeout. Takes whatever locks the query's reads take.
     */
    /** Exactly the text plan proved one command (OneExpression). */
    static final String QUERY = io.pgrewrite.plan.Planner.THROTTLE_QUERY;
    static final String QUERY_TIMEOUT = "SET LOCAL statement_timeout = '10s'";

    /**
     * The operator's settings ({@code pgrewrite set}: workers, throttle.*) are read at most once a second,
     * one query by the execution's id; the signals every {@code throttle.check-every}. Without signals to
     * watch this costs one query a second (it was two every 250 ms).
     */
    static final Duration SETTINGS_EVERY = Duration.ofSeconds(1);

    private final JdbcTemplate jdbc;
    private final DataSource dataSource;
    private final JobDefinition definition;
    private final long executionId;
    private final JobControls controls;
    private final IntConsumer onWorkers;
    private final Ticker timer = new Ticker("throttle-sampler");
    private final Set<String> failures = new HashSet<>();
    private long sampledAt;
    private Double walBytes;
    private long walAt;
    private Throttled throttled;
    private int workers;
    /** The definition with the operator's settings over it, as last read, and when. */
    private JobDefinition now;
    private long settingsAt;

    ThrottleSampler(JdbcTemplate jdbc, DataSource dataSource, JobDefinition definition, long executionId, IntConsumer onWorkers) {
        this.jdbc = jdbc;
        this.dataSource = dataSource;
        this.definition = definition;
        this.executionId = executionId;
        this.controls = new JobControls(jdbc);
        this.onWorkers = onWorkers;
        this.workers = definition.workers();
    }

    ThrottleSampler start() {
        timer.after(Duration.ZERO, this::tick);
        return this;
    }

    private void tick() {
        Duration next = SETTINGS_EVERY;
        try {
            if (now == null || System.nanoTime() - settingsAt >= SETTINGS_EVERY.toNanos()) {
                settingsAt = System.nanoTime();
                now = RuntimeSettings.apply(definition, controls.state(executionId, definition.jobKey()).settings());
                if (now.workers() != workers) {
                    log.info("{}: workers {} (was {})", definition.jobKey(), now.workers(), workers);
                    workers = now.workers();
                    onWorkers.accept(workers);
                }
            }
            Throttle t = now.throttle();
            if (t.any()) {
                long due = sampledAt == 0 ? 0 : t.checkEvery().toNanos() - (System.nanoTime() - sampledAt);
                if (due <= 0) {
                    sampledAt = System.nanoTime();
                    decide(t, sample(now));
                    due = t.checkEvery().toNanos();
                }
                next = Duration.ofNanos(Math.min(due, SETTINGS_EVERY.toNanos()));
            } else if (throttled != null) {
                decide(t, List.of());
            }
        } catch (RuntimeException e) {
            log.debug("throttle sample failed: {}", e.getMessage());
        } finally {
            timer.after(next, this::tick);
        }
    }

    /** Over its maximum: throttled. Throttled: stays so while any signal is at resume-below of its maximum or more. */
    private void decide(Throttle t, List<Throttled> values) {
        double limit = throttled == null ? 1.0 : t.resumeBelowPercent() / 100.0;
        Throttled worst = null;
        for (Throttled v : values) {
            boolean over = throttled == null ? v.value() > v.threshold() : v.value() > 0 && v.value() >= v.threshold() * limit;
            if (over) {
                if (worst == null || ratio(v) > ratio(worst)) {
                    worst = v;
                }
            }
        }
        if (worst != null && throttled == null) {
            log.warn("{}: throttled: {}; copies hold at their next chunk boundary and no swap starts until every signal"
                    + " is below {}% of its maximum", definition.jobKey(), worst.describe(), t.resumeBelowPercent());
        } else if (worst == null && throttled != null) {
            log.info("{}: no longer throttled (every signal below {}% of its maximum); the job goes on", definition.jobKey(),
                    t.resumeBelowPercent());
        }
        throttled = worst;
        controls.recordThrottle(executionId, definition.jobKey(), worst);
    }

    private static double ratio(Throttled v) {
        return v.threshold() == 0 ? Double.MAX_VALUE : v.value() / v.threshold();
    }

    /** The watched signals now; one that cannot be read is logged (once per distinct reason) and left out. */
    List<Throttled> sample(JobDefinition def) {
        Throttle t = def.throttle();
        List<Throttled> out = new ArrayList<>();
        if (t.replicationLag() != null || t.replicationLagBytes() != null) {
            read("replication-lag", () -> {
                double lag = 0;
                double bytes = 0;
                for (Map<String, Object> r : jdbc.queryForList(REPLICATION)) {
                    if (Boolean.TRUE.equals(r.get("hidden"))) {
                        throw new IllegalStateException("pg_stat_replication hides the standbys' positions from this role:"
                                + " GRANT pg_monitor (or pg_read_all_stats) to it");
                    }
                    lag = Math.max(lag, ((Number) r.get("lag_s")).doubleValue());
                    bytes = Math.max(bytes, ((Number) r.get("lag_bytes")).doubleValue());
                }
                if (t.replicationLag() != null) {
                    out.add(signal("replication-lag", lag, t.replicationLag().toMillis() / 1000.0, "s"));
                }
                if (t.replicationLagBytes() != null) {
                    out.add(signal("replication-lag-bytes", bytes, t.replicationLagBytes(), "bytes"));
                }
            });
        }
        if (t.walPerMinute() != null) {
            read("wal-per-minute", () -> {
                double position = jdbc.queryForObject(WAL_POSITION, Double.class);
                long at = System.nanoTime();
                if (walBytes != null && at > walAt) {
                    double perMinute = (position - walBytes) * 60e9 / (at - walAt);
                    out.add(signal("wal-per-minute", perMinute, t.walPerMinute(), "bytes/min"));
                }
                walBytes = position;
                walAt = at;
            });
        }
        if (t.lockWaiters() != null) {
            read("lock-waiters", () -> out.add(signal("lock-waiters",
                    jdbc.queryForObject(LOCK_WAITERS, Double.class, APPLICATION, APPLICATION), t.lockWaiters(), "sessions")));
        }
        if (t.oldestTransaction() != null) {
            read("oldest-transaction", () -> out.add(signal("oldest-transaction",
                    jdbc.queryForObject(OLDEST_TRANSACTION, Double.class, APPLICATION), t.oldestTransaction().toMillis() / 1000.0, "s")));
        }
        if (t.antiWraparound()) {
            String table = Identifiers.quote(def.schema()) + "." + Identifiers.quote(def.table());
            read("anti-wraparound", () -> out.add(signal("anti-wraparound",
                    jdbc.queryForObject(ANTI_WRAPAROUND, Double.class, table, table), 0, "autovacuums")));
        }
        if (t.query() != null) {
            read("query", () -> out.add(signal("query", query(t.query()), t.queryMax(), "")));
        }
        return out;
    }

    private double query(String sql) {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            c.setReadOnly(true);
            try (Statement st = c.createStatement()) {
                st.execute(QUERY_TIMEOUT);
            }
            try (PreparedStatement ps = c.prepareStatement(QUERY.formatted(sql)); ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return 0;
                }
                double v = rs.getDouble(1);
                return rs.wasNull() ? 0 : v;
            } finally {
                c.rollback();
                c.setReadOnly(false);
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static Throttled signal(String name, double value, double max, String unit) {
        return new Throttled(name, value, max, unit, null);
    }

    private void read(String signal, Runnable r) {
        try {
            r.run();
            failures.remove(signal);
        } catch (RuntimeException e) {
            if (failures.add(signal)) {
                log.warn("{}: throttle signal {} cannot be read, so it holds nothing back: {}", definition.jobKey(), signal,
                        io.pgrewrite.job.Failures.message(e));
            }
        }
    }

    @Override
    public void close() {
        timer.close();
        if (throttled != null) {
            try {
                controls.recordThrottle(executionId, definition.jobKey(), null); // the execution is over: nothing holds it
            } catch (RuntimeException e) {
                log.debug("clearing the throttle verdict failed: {}", e.getMessage());
            }
        }
    }
}
