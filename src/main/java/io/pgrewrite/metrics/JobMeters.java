package io.pgrewrite.metrics;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

import javax.sql.DataSource;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.pgrewrite.job.DiskSampler;
import io.pgrewrite.job.Ticker;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

/**
 * The job's meters, all named {@code pgrewrite.*} and tagged with {@code job} and {@code table} only
 * (the partition is in logs and step names, never in tags). They are read from the database (the
 * JobRepository, {@code pgrewrite.partition_state}, {@code pgrewrite.disk_reservation}), not counted
 * in memory, so any pgrewrite process that serves HTTP — the scheduler, a worker, a run with
 * {@code pgrewrite.http.enabled} — reports the same figures for every job active on the database,
 * whichever process runs it. Jobs running, or ended within a day, are metered; the list is refreshed
 * every few seconds.
 */
@Component
@ConditionalOnProperty(name = "pgrewrite.http.enabled", havingValue = "true")
public class JobMeters implements MeterBinder, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(JobMeters.class);

    /** Job keys with an execution running or ended within a day, and their latest execution. */
    static final String ACTIVE = """
            SELECT p.parameter_value AS job_key, max(e.job_execution_id) AS id
              FROM pgrewrite.batch_job_execution e
              JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
              JOIN pgrewrite.batch_job_execution_params p ON p.job_execution_id = e.job_execution_id
                   AND p.parameter_name = 'job.key'
             WHERE i.job_name = 'rewrite'
               AND (e.status IN ('STARTING', 'STARTED', 'STOPPING') OR e.end_time > localtimestamp - interval '1 day')
             GROUP BY p.parameter_value
            """;


    /** Swap figures of the job's partitions, recorded by the swap step. */
    static final String SWAPS = """
            SELECT count(lock_wait_ms) AS swaps, coalesce(sum(lock_wait_ms), 0) AS wait_ms,
                   coalesce(sum(lock_hold_ms), 0) AS hold_ms, coalesce(sum(greatest(swap_attempts - 1, 0)), 0) AS retries
              FROM pgrewrite.partition_state WHERE job_key = ?
            """;

    static final String IN_FLIGHT = "SELECT coalesce(sum(bytes), 0) FROM pgrewrite.disk_reservation WHERE job_key = ?";

    private final JdbcTemplate jdbc;
    private final JobProgress progress;
    private final Map<String, Figures> jobs = new ConcurrentHashMap<>();
    private final Ticker timer = new Ticker("pgrewrite-meters");
    private MeterRegistry registry;

    public JobMeters(DataSource dataSource) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.progress = new JobProgress(jdbc);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        this.registry = registry;
        timer.every(java.time.Duration.ZERO, java.time.Duration.ofSeconds(5), this::refresh);
    }

    /** Registers the meters of jobs that became active since the last look. */
    public void refresh() {
        try {
            for (Map<String, Object> r : jdbc.queryForList(ACTIVE)) {
                String key = (String) r.get("job_key");
                if (key != null && key.contains("@")) {
                    jobs.computeIfAbsent(key, this::register);
                }
            }
        } catch (RuntimeException e) {
            log.debug("metrics refresh failed: {}", e.getMessage());
        }
    }

    Set<String> jobKeys() {
        return Set.copyOf(jobs.keySet());
    }

    private Figures register(String jobKey) {
        Figures f = new Figures(jobKey);
        Tags tags = Tags.of("job", jobKey.substring(0, jobKey.indexOf('@')), "table", jobKey.substring(jobKey.indexOf('@') + 1));
        FunctionCounter.builder("pgrewrite.rows.copied", f, x -> x.get().progress.rowsDone()).tags(tags)
                .description("Rows copied into rewritten partitions").register(registry);
        FunctionCounter.builder("pgrewrite.bytes.copied", f, x -> x.get().bytesCopied).tags(tags).baseUnit("bytes")
                .description("Heap bytes copied (rows copied times the partition's bytes per row)").register(registry);
        gauge("pgrewrite.copy.rate", f, x -> x.get().progress.rowsPerSecond(), tags, "rows.per.second", "Rows copied per second now");
        gauge("pgrewrite.copy.eta", f, x -> x.get().progress.eta() == null ? Double.NaN : x.get().progress.eta().toSeconds(),
                tags, "seconds", "Time left to copy the remaining rows at the current rate");
        for (String state : JobProgress.STATES) {
            gauge("pgrewrite.partitions." + state, f, x -> x.get().progress.counts().getOrDefault(state, 0), tags, null,
                    "Partitions that are " + state);
        }
        FunctionTimer.builder("pgrewrite.swap.lock.wait", f, x -> (long) x.get().swaps, x -> x.get().waitMs, TimeUnit.MILLISECONDS)
                .tags(tags).description("Time the swaps waited for their locks").register(registry);
        FunctionTimer.builder("pgrewrite.swap.lock.hold", f, x -> (long) x.get().swaps, x -> x.get().holdMs, TimeUnit.MILLISECONDS)
                .tags(tags).description("Time the swaps held their locks").register(registry);
        FunctionCounter.builder("pgrewrite.swap.lock.retries", f, x -> x.get().retries).tags(tags)
                .description("Swap attempts that timed out on a lock and were retried").register(registry);
        gauge("pgrewrite.disk.extra.inflight", f, x -> x.get().inFlight, tags, "bytes",
                "Extra disk reserved by partitions in flight");
        gauge("pgrewrite.disk.extra.peak", f, x -> x.get().peak, tags, "bytes", "Peak extra disk of the latest execution");
        gauge("pgrewrite.throttled", f, x -> x.get().throttled, tags, null,
                "1 while the latest execution is throttled by a throttle.* signal (status and the log say which), else 0");
        gauge("pgrewrite.paused", f, x -> x.get().paused, tags, null, "1 while an operator has paused the latest execution, else 0");
        for (String signal : THROTTLE_SIGNALS) {
            gauge("pgrewrite.throttle.value", f, x -> signal.equals(x.get().throttleSignal) ? x.get().throttleValue : Double.NaN,
                    tags.and("signal", signal), null, "The value of the throttle.* signal that holds the latest execution back"
                            + " (its unit as in status: s, bytes, bytes/min, sessions, or the query's number); NaN for the other signals");
        }
        log.info("metering {}", jobKey);
        return f;
    }

    private void gauge(String name, Figures f, ToDoubleFunction<Figures> value, Tags tags, String unit, String description) {
        Gauge.builder(name, f, value).tags(tags).baseUnit(unit).description(description).register(registry);
    }

    @Override
    public void close() {
        timer.close();
    }

    /** A job's figures, read at most every two seconds however often it is scraped. */
    final class Figures {
        private final String jobKey;
        private volatile Snapshot last;
        private volatile long readAt;

        Figures(String jobKey) {
            this.jobKey = jobKey;
        }

        Snapshot get() {
            if (last == null || System.nanoTime() - readAt > 2_000_000_000L) {
                synchronized (this) {
                    if (last == null || System.nanoTime() - readAt > 2_000_000_000L) {
                        last = read();
                        readAt = System.nanoTime();
                    }
                }
            }
            return last;
        }

        private Snapshot read() {
            Long id = progress.latest(jobKey);
            JobProgress.Execution e = id == null ? null : progress.of(id);
            Map<String, Object> s = jdbc.queryForMap(SWAPS, jobKey);
            boolean running = e != null && List.of("STARTING", "STARTED", "STOPPING").contains(e.status());
            io.pgrewrite.control.JobControls.State controls = running ? new io.pgrewrite.control.JobControls(jdbc).state(id) : null;
            double bytes = e == null ? 0 : e.partitions().stream().mapToDouble(JobProgress.Partition::bytesDone).sum();
            return new Snapshot(e == null ? JobProgress.Execution.EMPTY : e, bytes, ((Number) s.get("swaps")).doubleValue(),
                    ((Number) s.get("wait_ms")).doubleValue(), ((Number) s.get("hold_ms")).doubleValue(),
                    ((Number) s.get("retries")).doubleValue(), jdbc.queryForObject(IN_FLIGHT, Long.class, jobKey),
                    id == null ? 0 : DiskSampler.recordedPeak(jdbc, id),
                    controls != null && controls.throttled() != null ? 1 : 0, controls != null && controls.paused() ? 1 : 0,
                    controls != null && controls.throttled() != null ? controls.throttled().signal() : null,
                    controls != null && controls.throttled() != null ? controls.throttled().value() : Double.NaN);
        }
    }

    record Snapshot(JobProgress.Execution progress, double bytesCopied, double swaps, double waitMs, double holdMs,
            double retries, double inFlight, double peak, double throttled, double paused, String throttleSignal, double throttleValue) {
    }

    /** The signals a job's throttle.* keys name, as the sampler reports them: one pgrewrite.throttle.value gauge each. */
    static final List<String> THROTTLE_SIGNALS = List.of("replication-lag", "replication-lag-bytes", "wal-per-minute",
            "lock-waiters", "oldest-transaction", "anti-wraparound", "query");

    static List<String> names() {
        return List.of("pgrewrite.rows.copied", "pgrewrite.bytes.copied", "pgrewrite.copy.rate", "pgrewrite.copy.eta",
                "pgrewrite.swap.lock.wait", "pgrewrite.swap.lock.hold", "pgrewrite.swap.lock.retries",
                "pgrewrite.disk.extra.inflight", "pgrewrite.disk.extra.peak", "pgrewrite.throttled", "pgrewrite.paused");
    }
}
