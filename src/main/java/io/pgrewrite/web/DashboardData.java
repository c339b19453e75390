package io.pgrewrite.web;

import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import io.pgrewrite.cli.ExecutionActions;
import io.pgrewrite.control.JobControls;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.job.RewriteJob;
import io.pgrewrite.metrics.JobProgress;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * What the dashboard shows, read from the database alone like {@code status} (the JobRepository, {@code
 * pgrewrite.partition_state}, {@code disk_sample}, {@code disk_reservation}), so any process that serves HTTP
 * shows every job, whichever process runs it. Per partition and overall it is {@link JobProgress}, the same
 * figures as {@code status} and the meters; this class adds what only a page needs: each partition's copy time,
 * failure reason and straggler mark, and the series behind the charts.
 */
final class DashboardData {

    /** Executions of the rewrite job, newest first, with their job key: status's list. */
    static final String LIST = """
            SELECT e.job_execution_id AS id, e.status, e.start_time, e.end_time,
                   (SELECT p.parameter_value FROM pgrewrite.batch_job_execution_params p
                     WHERE p.job_execution_id = e.job_execution_id AND p.parameter_name = 'job.key') AS job_key
              FROM pgrewrite.batch_job_execution e
              JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
             WHERE i.job_name = 'rewrite' ORDER BY e.job_execution_id DESC LIMIT ?
            """;

    /**
     * The phases of the job's partitions that the page charts: each copy (when it ran) and each swap (when it
     * committed), from {@code partition_state.phases}. Why a partition failed is its worker step's message. The two
     * keys are taken by name: jsonb_each of every partition's phases cost 28 ms at 3 000 partitions.
     */
    static final String PARTITION_STEPS = """
            SELECT s.partition_name AS partition, p.key AS step_name,
                   CASE WHEN p.key = 'swap' AND s.state NOT IN ('swapped', 'retired') THEN 'FAILED'
                        WHEN p.value->>1 IS NULL AND s.state = 'copying' THEN 'STARTED' ELSE 'COMPLETED' END AS status,
                   to_timestamp((p.value->>0)::float8 / 1000) AS start_time, to_timestamp((p.value->>1)::float8 / 1000) AS end_time,
                   NULL::text AS failure
              FROM pgrewrite.partition_state s
             CROSS JOIN LATERAL (VALUES ('copy', s.phases->'copy'), ('swap', s.phases->'swap')) p (key, value)
             WHERE s.job_key = ? AND p.value IS NOT NULL
             ORDER BY start_time
            """;

    /** The message of the worker step {@code rewrite:P} when it failed: the partition's own failure, down to the row. */
    static final String WORKER_FAILURES = """
            SELECT DISTINCT ON (s.step_name) substr(s.step_name, length('rewrite:') + 1) AS partition, s.exit_message
              FROM pgrewrite.batch_step_execution s
             WHERE s.job_execution_id = ? AND s.step_name LIKE 'rewrite:%' AND s.status = 'FAILED'
             ORDER BY s.step_name, s.step_execution_id DESC
            """;

    static final String COPY_MS = "SELECT partition_name, copy_ms FROM pgrewrite.partition_state WHERE job_key = ?";

    /** Extra disk over time: the execution's samples, at most ~240 points (averaged per bucket), minus the first. */
    static final String DISK = """
            WITH s AS (SELECT at, database_bytes FROM pgrewrite.disk_sample WHERE job_execution_id = ?),
                 r AS (SELECT min(at) AS t0, greatest(extract(epoch FROM max(at) - min(at)), 1) AS span FROM s),
                 b AS (SELECT (array_agg(database_bytes ORDER BY at))[1] AS base FROM s)
            SELECT extract(epoch FROM min(s.at)) * 1000 AS t, max(s.database_bytes) - b.base AS extra
              FROM s, r, b
             GROUP BY floor(extract(epoch FROM s.at - r.t0) / r.span * 240), b.base
             ORDER BY 1
            """;

    static final String IN_FLIGHT = "SELECT coalesce(sum(bytes), 0) FROM pgrewrite.disk_reservation WHERE job_key = ?";

    private static final int BUCKETS = 120;

    private final JdbcTemplate jdbc;
    private final DataSource dataSource;
    private final JobRepository repository;
    private final JobProgress progress;
    private final JobControls controls;
    private final Map<Long, Long> budgets = new ConcurrentHashMap<>();
    private final Map<Long, Object[]> disks = new ConcurrentHashMap<>();

    DashboardData(DataSource dataSource, JobRepository repository) {
        this.dataSource = dataSource;
        this.jdbc = new JdbcTemplate(dataSource);
        this.repository = repository;
        this.progress = new JobProgress(jdbc);
        this.controls = new JobControls(jdbc);
    }

    List<Map<String, Object>> executions(int limit) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (Map<String, Object> r : jdbc.queryForList(LIST, limit)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", r.get("id"));
            m.put("jobKey", r.get("job_key"));
            m.put("status", r.get("status"));
            m.put("started", iso(r.get("start_time")));
            m.put("ended", iso(r.get("end_time")));
            list.add(m);
        }
        return list;
    }

    /** One execution as the page shows it, or null when there is none of that id. */
    Map<String, Object> execution(long id) throws Exception {
        Map<String, Double> timings = new LinkedHashMap<>();
        long t = System.nanoTime();
        JobProgress.Execution e = progress.of(id);
        if (e == null) {
            return null;
        }
        t = lap(timings, "progress", t);
        long now = System.currentTimeMillis();
        Map<String, Long> copyMs = new HashMap<>();
        jdbc.query(COPY_MS, rs -> {
            long v = rs.getLong(2);
            if (!rs.wasNull()) {
                copyMs.put(rs.getString(1), v);
            }
        }, e.jobKey());
        Map<String, String> failures = new HashMap<>();
        Map<String, Long> copyStarted = new HashMap<>();
        List<long[]> copies = new ArrayList<>(); // partition index, start, end
        List<Object[]> swaps = new ArrayList<>(); // partition, at
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < e.partitions().size(); i++) {
            index.put(e.partitions().get(i).name(), i);
        }
        jdbc.query(PARTITION_STEPS, rs -> {
            String partition = rs.getString("partition");
            Timestamp start = rs.getTimestamp("start_time");
            Timestamp end = rs.getTimestamp("end_time");
            String failure = rs.getString("failure");
            if (failure != null) {
                failures.put(partition, rs.getString("step_name") + ": " + reason(failure));
            }
            Integer i = index.get(partition);
            if (i == null || start == null) {
                return;
            }
            if (rs.getString("step_name").equals("copy")) {
                long to = end != null ? millis(end) : rs.getString("status").equals("STARTED") ? now : millis(start);
                copies.add(new long[] {i, millis(start), to});
                if (end == null) {
                    copyStarted.put(partition, millis(start));
                }
            } else if (rs.getString("step_name").equals("swap") && end != null && rs.getString("status").equals("COMPLETED")) {
                swaps.add(new Object[] {partition, millis(end)});
            }
        }, e.jobKey());
        jdbc.query(WORKER_FAILURES, rs -> {
            failures.putIfAbsent(rs.getString(1), reason(rs.getString(2)));
        }, id);
        t = lap(timings, "steps", t);

        // Stragglers: copying for more than twice the median copy time of the partitions done so far.
        List<Long> doneCopy = new ArrayList<>();
        for (JobProgress.Partition p : e.partitions()) {
            if (p.state().equals(JobProgress.DONE) && copyMs.containsKey(p.name())) {
                doneCopy.add(copyMs.get(p.name()));
            }
        }
        doneCopy.sort(null);
        long median = doneCopy.isEmpty() ? 0 : doneCopy.get(doneCopy.size() / 2);

        List<List<Object>> parts = new ArrayList<>();
        int stragglers = 0;
        for (JobProgress.Partition p : e.partitions()) {
            Long ms = copyMs.get(p.name());
            Long started = copyStarted.get(p.name());
            if (ms == null && started != null) {
                ms = now - started;
            }
            boolean straggler = p.state().equals(JobProgress.COPYING) && median > 0 && started != null
                    && now - started > 2 * Math.max(median, 1000);
            stragglers += straggler ? 1 : 0;
            List<Object> row = new ArrayList<>(COLUMNS.size());
            row.add(p.name());
            row.add(p.state());
            row.add(p.rowsDone());
            row.add(p.rowsTotal());
            row.add(p.bytesBefore());
            row.add(p.bytesAfter());
            row.add(ms);
            row.add(round(p.lockWaitMs()));
            row.add(round(p.lockHoldMs()));
            row.add(p.swapAttempts());
            row.add(p.verify());
            row.add(Math.round(p.rowsPerSecond()));
            row.add(straggler ? 1 : 0);
            row.add(p.state().equals(JobProgress.FAILED) || p.state().equals(JobProgress.STOPPED) ? failures.get(p.name()) : null);
            parts.add(row);
        }

        Map<String, Object> m = new LinkedHashMap<>();
        m.put("timings", timings);
        m.put("id", e.id());
        m.put("jobKey", e.jobKey());
        m.put("job", e.jobName());
        m.put("table", e.table());
        m.put("status", e.status());
        m.put("running", ExecutionActions.running(dataSource, e.jobKey()));
        m.put("started", iso(e.started()));
        m.put("ended", iso(e.ended()));
        m.put("failure", e.exitMessage() == null || e.exitMessage().isBlank() || !e.status().equals("FAILED") ? null
                : reason(e.exitMessage()));
        m.put("controls", Controls.state(controls, id));
        m.put("counts", e.counts());
        m.put("stragglers", stragglers);
        m.put("rowsDone", e.rowsDone());
        m.put("rowsTotal", e.rowsTotal());
        // Now: the partitions copying (as status says); between two copies, the last ten seconds of the chart.
        List<List<Object>> series = throughput(e, copies);
        double rate = e.rowsPerSecond();
        double byteRate = e.bytesPerSecond();
        boolean live = e.status().equals("STARTED") || e.status().equals("STARTING");
        if (rate <= 0 && live && !series.isEmpty()) {
            List<Object> last = series.get(series.size() - 1);
            if (now - (long) last.get(0) < 10_000 + (series.size() > 1 ? (long) last.get(0) - (long) series.get(series.size() - 2).get(0) : 0)) {
                rate = ((Number) last.get(1)).doubleValue();
                byteRate = ((Number) last.get(2)).doubleValue();
            }
        }
        long remaining = 0;
        for (JobProgress.Partition p : e.partitions()) {
            remaining += p.state().equals(JobProgress.DONE) ? 0 : Math.max(0, p.rowsTotal() - p.rowsDone());
        }
        m.put("rowsPerSecond", Math.round(rate));
        m.put("bytesPerSecond", Math.round(byteRate));
        m.put("etaSeconds", e.eta() != null ? (Long) e.eta().toSeconds() : live && rate > 0 ? (Long) Math.round(remaining / rate) : null);
        m.put("diskInFlight", jdbc.queryForObject(IN_FLIGHT, Long.class, e.jobKey()));
        List<List<Object>> disk = diskSeries(id);
        // The peak as DiskSampler.recordedPeak has it (largest sample minus the first): the series keeps each bucket's largest.
        m.put("diskPeak", disk.stream().mapToLong(p -> (Long) p.get(1)).max().orElse(0));
        m.put("diskBudget", budget(id));
        t = lap(timings, "controls", t);
        m.put("columns", COLUMNS);
        m.put("partitions", parts);
        Map<String, Object> charts = new LinkedHashMap<>();
        charts.put("throughput", series);
        charts.put("disk", disk);
        t = lap(timings, "disk", t);
        List<List<Object>> holds = new ArrayList<>();
        swaps.sort((a, b) -> Long.compare((long) a[1], (long) b[1]));
        for (Object[] s : swaps) {
            JobProgress.Partition p = e.partitions().get(index.get((String) s[0]));
            if (p.lockHoldMs() != null) {
                holds.add(List.of(s[1], round(p.lockHoldMs()), p.lockWaitMs() == null ? 0 : round(p.lockWaitMs()), p.name()));
            }
        }
        charts.put("swaps", holds);
        m.put("charts", charts);
        return m;
    }

    static final List<String> COLUMNS = List.of("name", "state", "rowsDone", "rowsTotal", "bytesBefore", "bytesAfter",
            "copyMs", "lockWaitMs", "lockHoldMs", "attempts", "verify", "rowsPerSecond", "straggler", "reason");

    /**
     * Rows/s and MB/s over time, from the database alone: each partition's copied rows spread evenly over the time
     * its copy steps ran (across restarts), summed per time bucket. A night's job and a minute's look alike.
     */
    private static List<List<Object>> throughput(JobProgress.Execution e, List<long[]> copies) {
        if (copies.isEmpty()) {
            return List.of();
        }
        long t0 = Long.MAX_VALUE;
        long t1 = Long.MIN_VALUE;
        Map<Long, Long> spent = new HashMap<>();
        for (long[] c : copies) {
            t0 = Math.min(t0, c[1]);
            t1 = Math.max(t1, c[2]);
            spent.merge(c[0], Math.max(0, c[2] - c[1]), Long::sum);
        }
        long width = Math.max(1000, (t1 - t0 + BUCKETS - 1) / BUCKETS);
        int n = (int) Math.max(1, (t1 - t0 + width - 1) / width);
        double[] rows = new double[n];
        double[] bytes = new double[n];
        for (long[] c : copies) {
            JobProgress.Partition p = e.partitions().get((int) c[0]);
            long total = spent.get(c[0]);
            if (total <= 0 || c[2] <= c[1]) {
                continue;
            }
            double rowsPerMs = (double) p.rowsDone() / total;
            double bytesPerMs = p.bytesDone() / total;
            for (int b = (int) ((c[1] - t0) / width); b < n && t0 + b * width < c[2]; b++) {
                long from = Math.max(c[1], t0 + b * width);
                long to = Math.min(c[2], t0 + (b + 1) * width);
                if (to > from) {
                    rows[b] += rowsPerMs * (to - from);
                    bytes[b] += bytesPerMs * (to - from);
                }
            }
        }
        List<List<Object>> series = new ArrayList<>(n);
        for (int b = 0; b < n; b++) {
            double seconds = width / 1000.0;
            series.add(List.of(t0 + b * width, Math.round(rows[b] / seconds), Math.round(bytes[b] / seconds)));
        }
        return series;
    }

    /** Extra disk over time; read again at most every 5 s (a sample a second, thousands of them in a night). */
    private List<List<Object>> diskSeries(long id) {
        Object[] cached = disks.get(id);
        if (cached != null && System.nanoTime() - (long) cached[0] < 5_000_000_000L) {
            @SuppressWarnings("unchecked")
            List<List<Object>> series = (List<List<Object>>) cached[1];
            return series;
        }
        List<List<Object>> series = new ArrayList<>();
        jdbc.query(DISK, rs -> {
            series.add(List.of(rs.getLong(1), rs.getLong(2)));
        }, id);
        disks.put(id, new Object[] {System.nanoTime(), series});
        return series;
    }

    /** {@code disk.max-extra} of the execution's definition, as kept in its ExecutionContext; null for no limit. */
    private Long budget(long id) {
        Long b = budgets.computeIfAbsent(id, x -> {
            try {
                JobExecution je = repository.getJobExecution(x);
                String yaml = je == null ? null : je.getExecutionContext().getString(RewriteJob.DEFINITION, null);
                if (yaml == null) {
                    return -1L;
                }
                Long max = JobDefinitions.parse(yaml, Path.of(String.valueOf(je.getJobParameters().getString(RewriteJob.FILE)))).disk()
                        .maxExtraBytes();
                return max == null ? -1L : max;
            } catch (RuntimeException ex) {
                return -1L;
            }
        });
        return b < 0 ? null : b;
    }

    /**
     * The operator's line of a step's exit message (Spring Batch keeps the stack trace there): the message of
     * pgrewrite's own exception in the chain ("what, which object, what next"), else the innermost cause's.
     */
    static String reason(String exitMessage) {
        String ours = null;
        String innermost = null;
        boolean first = true;
        for (String line : exitMessage.split("\n")) {
            String l = line.strip();
            if (l.isEmpty() || l.startsWith("at ") || l.startsWith("...") || !first && !l.startsWith("Caused by: ")) {
                continue;
            }
            first = false;
            l = l.startsWith("Caused by: ") ? l.substring("Caused by: ".length()) : l;
            int colon = l.indexOf(": ");
            String type = colon > 0 && l.substring(0, colon).matches("[\\w.$]+") ? l.substring(0, colon) : "";
            String message = type.isEmpty() ? l : l.substring(colon + 2);
            if (ours == null && type.startsWith("io.pgrewrite")) {
                ours = message;
            }
            innermost = message;
        }
        return ours != null ? ours : innermost != null ? innermost : exitMessage.strip();
    }

    /** Milliseconds since {@code t} under {@code name} (the page's Server-Timing); returns now. */
    private static long lap(Map<String, Double> timings, String name, long t) {
        long now = System.nanoTime();
        timings.put(name, Math.round((now - t) / 1e5) / 10.0);
        return now;
    }

    private static Double round(Double v) {
        return v == null ? null : Math.round(v * 10) / 10.0;
    }

    private static long millis(Timestamp t) {
        return t.toLocalDateTime().atZone(ZoneId.systemDefault()).toInstant().toEpochMilli();
    }

    private static String iso(Object t) {
        if (t == null) {
            return null;
        }
        LocalDateTime l = t instanceof Timestamp ts ? ts.toLocalDateTime() : (LocalDateTime) t;
        return l.atZone(ZoneId.systemDefault()).toOffsetDateTime().toString();
    }
}
