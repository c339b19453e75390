package io.pgrewrite.metrics;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Where a job stands, per partition, answered from the database alone (the JobRepository, {@code
 * pgrewrite.partition_state} and the catalog), so {@code status}, the progress bar of {@code run} and
 * the metrics of any process tell the same story, also after the process that ran the job is gone.
 *
 * <p>A partition is <b>pending</b> (not started), <b>copying</b> (capture, copy), <b>verifying</b> (index,
 * catch up, verify), <b>swapping</b> (verified, the swap not committed yet), <b>done</b> (swapped in),
 * <b>stopped</b> (stop or the end of a window interrupted it; restart continues it) or <b>failed</b>.
 * Rates and the ETA are of the copy, which is most of a partition's time: rows copied over the time its
 * copy steps ran (across restarts), and the remaining rows over the summed rate of the partitions copying.
 */
public final class JobProgress {

    // The words of Stage, the one vocabulary; kept as strings for the callers that compare them.
    public static final String PENDING = Stage.PENDING.word();
    public static final String COPYING = Stage.COPYING.word();
    public static final String VERIFYING = Stage.VERIFYING.word();
    public static final String SWAPPING = Stage.SWAPPING.word();
    public static final String DONE = Stage.DONE.word();
    public static final String STOPPED = Stage.STOPPED.word();
    public static final String FAILED = Stage.FAILED.word();
    public static final List<String> STATES = Stage.words();

    /** One execution of the rewrite job (not a partition's sub-execution) with its job key and instance. */
    static final String EXECUTION = """
            SELECT e.job_execution_id, e.job_instance_id, e.status, e.start_time, e.end_time, e.exit_message,
                   (SELECT p.parameter_value FROM pgrewrite.batch_job_execution_params p
                     WHERE p.job_execution_id = e.job_execution_id AND p.parameter_name = 'job.key') AS job_key,
                   (SELECT p.parameter_value FROM pgrewrite.batch_job_execution_params p
                     WHERE p.job_execution_id = e.job_execution_id AND p.parameter_name = 'file') AS file
              FROM pgrewrite.batch_job_execution e
              JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
             WHERE e.job_execution_id = ? AND i.job_name = 'rewrite'
            """;

    /** The worker steps {@code rewrite:P} of the instance up to this execution, the latest of each partition. */
    static final String WORKERS = """
            SELECT DISTINCT ON (s.step_name) substr(s.step_name, length('rewrite:') + 1) AS partition, s.status,
                   s.exit_message
              FROM pgrewrite.batch_step_execution s
              JOIN pgrewrite.batch_job_execution e ON e.job_execution_id = s.job_execution_id
             WHERE e.job_instance_id = ? AND e.job_execution_id <= ? AND s.step_name LIKE 'rewrite:%'
             ORDER BY s.step_name, s.step_execution_id DESC
            """;

    /**
     * Each partition's copy of the job: when it started and ended ({@code partition_state.phases}, end null while
     * it runs): how long each partition's copy ran.
     */
    static final String COPY_STEPS = """
            SELECT s.partition_name AS partition, to_timestamp((s.phases->'copy'->>0)::float8 / 1000) AS start_time,
                   to_timestamp((s.phases->'copy'->>1)::float8 / 1000) AS end_time,
                   CASE WHEN s.phases->'copy'->>1 IS NULL AND s.state = 'copying' THEN 'STARTED' ELSE 'COMPLETED' END AS status
              FROM pgrewrite.partition_state s
             WHERE s.job_key = ? AND s.phases->'copy' IS NOT NULL
            """;

    static final String STATE = "SELECT * FROM pgrewrite.partition_state WHERE job_key = ?";

    /**
     * The parent's partitions with their row estimates and heap sizes; the parent named as in the job key. Both
     * figures are the statistics' (VACUUM / ANALYZE set them together), read from pg_class without touching a
     * file: pg_relation_size of each of 3 000 partitions took most of a dashboard update's time. The parent is
     * found by name through pg_class's (relname, relnamespace) index: the candidates are what follows each dot of
     * {@code schema.table} (either may contain a dot), the full name then picks the one; matching the concatenation
     * alone scanned all of pg_class (13 of 28 ms at 3 000 partitions).
     */
    static final String CATALOG = """
            SELECT c.relname, c.reltuples::bigint AS rows, c.relpages::bigint * current_setting('block_size')::bigint AS heap
              FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
              JOIN pg_class parent ON parent.oid = h.inhparent
              JOIN pg_namespace n ON n.oid = parent.relnamespace
             WHERE parent.relname = ANY (?) AND n.nspname || '.' || parent.relname = ?
            """;

    /** The names a {@code schema.table} may end with: what follows each of its dots. */
    static String[] relnames(String table) {
        List<String> names = new ArrayList<>();
        for (int i = table.indexOf('.'); i >= 0; i = table.indexOf('.', i + 1)) {
            names.add(table.substring(i + 1));
        }
        return names.toArray(String[]::new);
    }

    /**
     * One partition.
     *
     * @param rowsTotal reltuples of the partition (an estimate), or the rows copied once it is done; -1 unknown
     * @param rowsPerSecond rows copied over the time its copy ran; 0 before it copied
     * @param reason why it failed or stopped, in the words of the failure (no stack trace); null otherwise
     */
    public record Partition(String name, String state, long rowsDone, long rowsTotal, double rowsPerSecond,
            double bytesPerSecond, double bytesDone, Long bytesBefore, Long bytesAfter, Double lockWaitMs, Double lockHoldMs,
            Integer swapAttempts, String verify, String reason) {
    }

    /**
     * One execution.
     *
     * @param rowsPerSecond the summed copy rate of the partitions copying now (0 when none is)
     * @param eta remaining rows at that rate; null when nothing is copying
     */
    public record Execution(long id, String jobKey, String file, String status, LocalDateTime started,
            LocalDateTime ended, String exitMessage, List<Partition> partitions, Map<String, Integer> counts,
            long rowsDone, long rowsTotal, double rowsPerSecond, double bytesPerSecond, Duration eta) {

        /** No execution yet. */
        public static final Execution EMPTY = new Execution(0, "-@-", null, "NONE", null, null, null, List.of(),
                Map.of(), 0, 0, 0, 0, null);

        public String jobName() {
            return jobKey.substring(0, jobKey.indexOf('@'));
        }

        public String table() {
            return jobKey.substring(jobKey.indexOf('@') + 1);
        }
    }

    /** The latest execution of a job key. */
    static final String LATEST = """
            SELECT max(e.job_execution_id) FROM pgrewrite.batch_job_execution e
              JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
              JOIN pgrewrite.batch_job_execution_params p ON p.job_execution_id = e.job_execution_id
                   AND p.parameter_name = 'job.key'
             WHERE i.job_name = 'rewrite' AND p.parameter_value = ?
            """;

    private final JdbcTemplate jdbc;

    public JobProgress(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** The id of the job's latest execution, or null. */
    public Long latest(String jobKey) {
        return jdbc.queryForObject(LATEST, Long.class, jobKey);
    }

    /** The execution, or null when there is none of that id. */
    public Execution of(long executionId) {
        List<Map<String, Object>> ex = jdbc.queryForList(EXECUTION, executionId);
        if (ex.isEmpty() || ex.get(0).get("job_key") == null) {
            return null;
        }
        Map<String, Object> e = ex.get(0);
        String jobKey = (String) e.get("job_key");
        String status = (String) e.get("status");
        boolean running = status.equals("STARTING") || status.equals("STARTED") || status.equals("STOPPING");

        Map<String, String> workers = new LinkedHashMap<>();
        Map<String, String> reasons = new HashMap<>();
        jdbc.query(WORKERS, rs -> {
            workers.put(rs.getString("partition"), rs.getString("status"));
            reasons.put(rs.getString("partition"), reason(rs.getString("exit_message")));
        }, ((Number) e.get("job_instance_id")).longValue(), executionId);
        Map<String, Map<String, Object>> states = new HashMap<>();
        for (Map<String, Object> r : jdbc.queryForList(STATE, jobKey)) {
            states.put((String) r.get("partition_name"), r);
        }
        Map<String, double[]> catalog = new HashMap<>();
        String table = jobKey.substring(jobKey.indexOf('@') + 1);
        jdbc.query(con -> {
            java.sql.PreparedStatement ps = con.prepareStatement(CATALOG);
            ps.setArray(1, con.createArrayOf("text", relnames(table)));
            ps.setString(2, table);
            return ps;
        }, rs -> {
            catalog.put(rs.getString(1), new double[] {rs.getLong(2), rs.getLong(3)});
        });
        Map<String, Double> copySeconds = new HashMap<>();
        Map<String, Boolean> copyRunning = new HashMap<>();
        LocalDateTime now = LocalDateTime.now();
        jdbc.query(COPY_STEPS, rs -> {
            Timestamp start = rs.getTimestamp("start_time");
            if (start == null) {
                return;
            }
            Timestamp end = rs.getTimestamp("end_time");
            boolean open = end == null && rs.getString("status").equals("STARTED");
            LocalDateTime to = end != null ? end.toLocalDateTime() : now;
            double s = Math.max(0, Duration.between(start.toLocalDateTime(), to).toMillis() / 1000.0);
            copySeconds.merge(rs.getString("partition"), s, Double::sum);
            copyRunning.merge(rs.getString("partition"), open, Boolean::logicalOr);
        }, jobKey);

        List<Partition> partitions = new ArrayList<>();
        Map<String, Integer> counts = new LinkedHashMap<>();
        STATES.forEach(s -> counts.put(s, 0));
        long done = 0;
        long total = 0;
        long remaining = 0;
        double rate = 0;
        double byteRate = 0;
        for (Map.Entry<String, String> w : workers.entrySet()) {
            String name = w.getKey();
            Map<String, Object> st = states.get(name);
            String state = state(st == null ? null : (String) st.get("state"), w.getValue());
            long rows = st == null ? 0 : num(st.get("rows_copied"));
            double[] cat = catalog.get(name);
            long rowsTotal = state.equals(DONE) ? rows : cat == null || cat[0] < 0 ? -1 : Math.max((long) cat[0], rows);
            double bytesPerRow = bytesPerRow(st, cat);
            double seconds = copySeconds.getOrDefault(name, 0.0);
            // a copy under way is given half a second before its rate means anything; a finished one's is exact
            double r = seconds > (state.equals(DONE) ? 0 : 0.5) ? rows / seconds : 0;
            double br = r * bytesPerRow;
            if (running && state.equals(COPYING) && copyRunning.getOrDefault(name, false)) {
                rate += r;
                byteRate += br;
            }
            done += rows;
            total += Math.max(rowsTotal, rows);
            if (!state.equals(DONE)) {
                remaining += Math.max(0, rowsTotal - rows);
            }
            counts.merge(state, 1, Integer::sum);
            partitions.add(new Partition(name, state, rows, rowsTotal, r, br, rows * bytesPerRow, st == null ? null : nullableLong(st.get("bytes_before")),
                    st == null ? null : nullableLong(st.get("bytes_after")), st == null ? null : nullableDouble(st.get("lock_wait_ms")),
                    st == null ? null : nullableDouble(st.get("lock_hold_ms")),
                    st == null || st.get("swap_attempts") == null ? null : ((Number) st.get("swap_attempts")).intValue(),
                    st == null ? null : (String) st.get("verify_result"),
                    state.equals(FAILED) || state.equals(STOPPED) ? reasons.get(name) : null));
        }
        Duration eta = rate > 0 ? Duration.ofSeconds(Math.round(remaining / rate)) : null;
        return new Execution(executionId, jobKey, (String) e.get("file"), status, local(e.get("start_time")),
                local(e.get("end_time")), (String) e.get("exit_message"), partitions, counts, done, total, rate, byteRate, eta);
    }

    /** pgrewrite's own state names, and the worker step's status, as the operator's words. */
    static String state(String recorded, String workerStatus) {
        return Stage.of(recorded, workerStatus).word();
    }

    /**
     * The operator's sentence in a step's exit message: its first line without the exception's class name
     * (the rest is the stack trace Spring Batch stores with it).
     */
    public static String reason(String exitMessage) {
        if (exitMessage == null || exitMessage.isBlank()) {
            return null;
        }
        String first = exitMessage.strip();
        int nl = first.indexOf('\n');
        first = (nl < 0 ? first : first.substring(0, nl)).strip();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(?:[a-zA-Z_$][\\w$]*\\.)+[\\w$]+(?:Exception|Error): ").matcher(first);
        return m.find() ? first.substring(m.end()) : first;
    }

    private static double bytesPerRow(Map<String, Object> st, double[] cat) {
        if (cat == null || cat[0] <= 0) {
            return 0;
        }
        return cat[1] / cat[0];
    }

    private static long num(Object o) {
        return o == null ? 0 : ((Number) o).longValue();
    }

    private static Long nullableLong(Object o) {
        return o == null ? null : ((Number) o).longValue();
    }

    private static Double nullableDouble(Object o) {
        return o == null ? null : ((Number) o).doubleValue();
    }

    private static LocalDateTime local(Object o) {
        return o == null ? null : ((Timestamp) o).toLocalDateTime();
    }
}
