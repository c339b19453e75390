package io.pgrewrite.control;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import javax.sql.DataSource;

import io.pgrewrite.definition.RuntimeSettings;
import io.pgrewrite.plan.ConnectionBudget;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.core.JacksonException;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * The operator's controls of a running execution, stored in {@code pgrewrite.job_control} so that every
 * process working on it obeys, on any host: pause / resume (copies stop at their next chunk boundary and
 * go on from there), postpone / allow the swaps (copying and verifying go on), and {@link #set} for the
 * job keys that can change while it runs ({@link RuntimeSettings#KEYS}). The CLI commands and the
 * dashboard are thin wrappers over this class. Every method refuses, with a {@link ControlException}
 * saying what to do instead, an id that is not a rewrite execution, or one that no longer runs.
 */
public final class JobControls {

    /** The execution's status and job key; no lock taken. */
    static final String EXECUTION = """
            SELECT e.status, p.parameter_value AS job_key
              FROM pgrewrite.batch_job_execution e
              JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
              LEFT JOIN pgrewrite.batch_job_execution_params p
                     ON p.job_execution_id = e.job_execution_id AND p.parameter_name = 'job.key'
             WHERE e.job_execution_id = ? AND i.job_name = 'rewrite'
            """;

    /**
     * Sets one control, creating the row on first use; a row lock on this execution's row only, held for
     * the statement (two operators at once: the later one wins, each sees its own result).
     */
    static final String UPSERT_FLAG = """
            INSERT INTO pgrewrite.job_control (job_execution_id, job_key, %1$s, updated_by)
            VALUES (?, ?, ?, current_user || '@' || coalesce(host(inet_client_addr()), 'local'))
            ON CONFLICT (job_execution_id) DO UPDATE
               SET %1$s = EXCLUDED.%1$s, updated_at = now(), updated_by = EXCLUDED.updated_by
            """;

    /** Merges settings into the row's (a null value removes the key: back to the definition). Row lock as above. */
    static final String UPSERT_SETTINGS = """
            INSERT INTO pgrewrite.job_control (job_execution_id, job_key, settings, updated_by)
            VALUES (?, ?, jsonb_strip_nulls(?::jsonb), current_user || '@' || coalesce(host(inet_client_addr()), 'local'))
            ON CONFLICT (job_execution_id) DO UPDATE
               SET settings = jsonb_strip_nulls(job_control.settings || EXCLUDED.settings || ?::jsonb),
                   updated_at = now(), updated_by = EXCLUDED.updated_by
            """;

    /** The sampler's verdict; {@code throttled_since} kept while the same signal stays over. Row lock as above. */
    static final String UPSERT_THROTTLE = """
            INSERT INTO pgrewrite.job_control (job_execution_id, job_key, throttle_signal, throttle_value,
                   throttle_threshold, throttle_unit, throttled_since, throttle_sampled_at)
            VALUES (?, ?, ?, ?, ?, ?, CASE WHEN ?::text IS NULL THEN NULL ELSE now() END, now())
            ON CONFLICT (job_execution_id) DO UPDATE
               SET throttle_signal = EXCLUDED.throttle_signal, throttle_value = EXCLUDED.throttle_value,
                   throttle_threshold = EXCLUDED.throttle_threshold, throttle_unit = EXCLUDED.throttle_unit,
                   throttled_since = CASE WHEN EXCLUDED.throttle_signal IS NULL THEN NULL
                                          ELSE coalesce(job_control.throttled_since, now()) END,
                   throttle_sampled_at = now()
            """;

    static final String SELECT = """
            SELECT job_execution_id, job_key, paused, swap_postponed, settings::text AS settings, updated_at, updated_by,
                   throttle_signal, throttle_value, throttle_threshold, throttle_unit, throttled_since, throttle_sampled_at
              FROM pgrewrite.job_control WHERE job_execution_id = ?
            """;

    /** The controls of the job key's latest execution, with its status: what a worker process polls. */
    static final String LATEST = """
            SELECT e.job_execution_id, e.status, c.job_execution_id AS has_controls, c.paused, c.swap_postponed,
                   c.settings::text AS settings, c.updated_at, c.updated_by, c.throttle_signal, c.throttle_value,
                   c.throttle_threshold, c.throttle_unit, c.throttled_since, c.throttle_sampled_at
              FROM pgrewrite.batch_job_execution e
              JOIN pgrewrite.batch_job_instance i ON i.job_instance_id = e.job_instance_id
              JOIN pgrewrite.batch_job_execution_params p ON p.job_execution_id = e.job_execution_id
              LEFT JOIN pgrewrite.job_control c ON c.job_execution_id = e.job_execution_id
             WHERE i.job_name = 'rewrite' AND p.parameter_name = 'job.key' AND p.parameter_value = ?
             ORDER BY e.job_execution_id DESC LIMIT 1
            """;

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final JdbcTemplate jdbc;

    public JobControls(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public JobControls(DataSource dataSource) {
        this(new JdbcTemplate(dataSource));
    }

    /** Copies stop at their next chunk boundary (the chunk in flight commits); the execution stays RUNNING. */
    public State pause(long executionId) {
        return flag(executionId, "paused", true);
    }

    /** Copies go on from where they stopped. */
    public State resume(long executionId) {
        return flag(executionId, "paused", false);
    }

    /** No swap starts (one under way finishes); copying, indexing and verifying go on. */
    public State postponeSwap(long executionId) {
        return flag(executionId, "swap_postponed", true);
    }

    /** Swaps may start again (within {@code swap.window}, when not throttled). */
    public State allowSwap(long executionId) {
        return flag(executionId, "swap_postponed", false);
    }

    /**
     * Changes job keys while the execution runs, all or none: each key must be one of
     * {@link RuntimeSettings#KEYS} and its value valid as in a job definition; {@code default} (or an
     * empty value) goes back to the definition's value.
     *
     * @throws ControlException naming the first key or value refused; nothing was changed
     */
    public State set(long executionId, Map<String, String> settings) {
        if (settings.isEmpty()) {
            throw new ControlException("Give at least one key=value; keys that can change while a job runs: "
                    + String.join(", ", RuntimeSettings.KEYS), true);
        }
        Map<String, String> checked = new TreeMap<>();
        Map<String, String> removed = new TreeMap<>();
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String v;
            try {
                v = RuntimeSettings.check(e.getKey(), e.getValue());
            } catch (IllegalArgumentException ex) {
                throw new ControlException("Execution " + executionId + ": " + ex.getMessage() + ". Nothing was changed.", true);
            }
            if (v == null) {
                removed.put(e.getKey(), null);
            } else {
                checked.put(e.getKey(), v);
            }
        }
        String jobKey = runningJobKey(executionId);
        SignalPrivileges.refuseUnseen(jdbc, executionId, jobKey, checked);
        if (checked.containsKey("workers")) {
            refuseWorkersWithoutConnections(executionId, currentWorkers(executionId), Integer.parseInt(checked.get("workers")));
        } else if (removed.containsKey("workers")) { // workers=default: back to the definition's, maybe more
            Integer definition = definitionWorkers(executionId);
            if (definition != null) {
                refuseWorkersWithoutConnections(executionId, currentWorkers(executionId), definition);
            }
        }
        // removed keys as JSON null: stripped by jsonb_strip_nulls after the merge
        jdbc.update(UPSERT_SETTINGS, executionId, jobKey, json(checked), json(removed));
        return state(executionId);
    }

    /**
     * {@code set workers=N} above the workers the job runs with: refused where the connections its process's pool
     * would add do not fit in what the server's sessions leave ({@link ConnectionBudget#raiseRefused}).
     */
    private void refuseWorkersWithoutConnections(long executionId, Integer current, int workers) {
        String refused = ConnectionBudget.raiseRefused(jdbc, current, workers);
        if (refused != null) {
            throw ControlException.precondition("Execution " + executionId + ": " + refused + " Nothing was changed.");
        }
    }

    /** The job's definition as its execution started with it, in the execution's context (RewriteJob.DEFINITION). */
    static final String EXECUTION_CONTEXT = """
            SELECT coalesce(serialized_context, short_context) FROM pgrewrite.batch_job_execution_context
             WHERE job_execution_id = ?
            """;

    /**
     * The workers the execution runs with now: an earlier {@code set}'s, else its definition's; null where neither can
     * be read.
     */
    Integer currentWorkers(long executionId) {
        String set = state(executionId).settings().get("workers");
        return set != null ? Integer.valueOf(set) : definitionWorkers(executionId);
    }

    /** The {@code workers} of the definition the execution started with; null where it cannot be read. */
    Integer definitionWorkers(long executionId) {
        List<String> context = jdbc.queryForList(EXECUTION_CONTEXT, String.class, executionId);
        if (context.isEmpty() || context.get(0) == null) {
            return null;
        }
        try {
            Map<String, Object> m = new org.springframework.batch.core.repository.dao.DefaultExecutionContextSerializer()
                    .deserialize(new java.io.ByteArrayInputStream(context.get(0).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            Object yaml = m.get(io.pgrewrite.job.RewriteJob.DEFINITION);
            return yaml == null ? null : io.pgrewrite.definition.JobDefinitions.parse(yaml.toString(), null).workers();
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    /** The controls and throttle state of an execution (all defaults when nothing was ever asked). */
    public State state(long executionId) {
        return state(executionId, jobKey(executionId));
    }

    /** The same, for a caller that knows the execution's job key (one query instead of two: the throttle sampler's poll). */
    public State state(long executionId, String jobKey) {
        List<State> s = jdbc.query(SELECT, (rs, n) -> state(rs, executionId, jobKey), executionId);
        return s.isEmpty() ? State.none(executionId, jobKey) : s.get(0);
    }

    /**
     * The latest execution of a job key with its status and controls, as the processes working on it poll
     * them; empty when the job key never ran.
     */
    public Optional<Latest> latest(String jobKey) {
        List<Latest> l = jdbc.query(LATEST, (rs, n) -> {
            long id = rs.getLong("job_execution_id");
            State s = rs.getObject("has_controls") == null ? State.none(id, jobKey) : state(rs, id, jobKey);
            return new Latest(rs.getString("status"), s);
        }, jobKey);
        return l.stream().findFirst();
    }

    /** Records the throttle sampler's verdict; {@code null}: not throttled. */
    public void recordThrottle(long executionId, String jobKey, Throttled t) {
        jdbc.update(UPSERT_THROTTLE, executionId, jobKey, t == null ? null : t.signal(), t == null ? null : t.value(),
                t == null ? null : t.threshold(), t == null ? null : t.unit(), t == null ? null : t.signal());
    }

    private State flag(long executionId, String column, boolean value) {
        String jobKey = runningJobKey(executionId);
        jdbc.update(UPSERT_FLAG.formatted(column), executionId, jobKey, value);
        return state(executionId);
    }

    /** The job key of a running rewrite execution, or a ControlException saying why not. */
    private String runningJobKey(long executionId) {
        Map<String, Object> e = execution(executionId);
        String status = (String) e.get("status");
        if (!List.of("STARTING", "STARTED", "STOPPING").contains(status)) {
            throw new ControlException("Execution " + executionId + " is " + status + ", not running: nothing to steer."
                    + " `pgrewrite status` lists the running ones; `pgrewrite restart " + executionId + "` continues it"
                    + " as a new execution.");
        }
        return (String) e.get("job_key");
    }

    private String jobKey(long executionId) {
        return (String) execution(executionId).get("job_key");
    }

    private Map<String, Object> execution(long executionId) {
        List<Map<String, Object>> rows = jdbc.queryForList(EXECUTION, executionId);
        if (rows.isEmpty()) {
            throw new ControlException("No pgrewrite execution " + executionId + ". `pgrewrite status` lists them.");
        }
        return rows.get(0);
    }

    private static State state(ResultSet rs, long executionId, String jobKey) throws SQLException {
        Throttled throttled = null;
        if (rs.getString("throttle_signal") != null) {
            throttled = new Throttled(rs.getString("throttle_signal"), rs.getDouble("throttle_value"),
                    rs.getDouble("throttle_threshold"), rs.getString("throttle_unit"), instant(rs.getTimestamp("throttled_since")));
        }
        return new State(executionId, jobKey, rs.getBoolean("paused"), rs.getBoolean("swap_postponed"),
                settings(rs.getString("settings")), throttled, instant(rs.getTimestamp("throttle_sampled_at")),
                instant(rs.getTimestamp("updated_at")), rs.getString("updated_by"));
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }

    private static Map<String, String> settings(String json) {
        if (json == null) {
            return Map.of();
        }
        try {
            Map<String, String> m = JSON.readValue(json, new TypeReference<TreeMap<String, String>>() { });
            return Collections.unmodifiableMap(m);
        } catch (JacksonException e) {
            throw new IllegalStateException("pgrewrite.job_control.settings is not a JSON object of strings: " + json, e);
        }
    }

    private static String json(Map<String, String> m) {
        try {
            return JSON.writeValueAsString(new LinkedHashMap<>(m));
        } catch (JacksonException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * An execution's controls.
     *
     * @param settings job keys changed while it runs (key → value as given); empty: the definition's values
     * @param throttled why it is throttled now; {@code null} when it is not (or nothing watches)
     * @param sampledAt when the throttle signals were last sampled; {@code null}: never
     * @param updatedAt when an operator last changed a control
     * @param updatedBy who did ({@code role@host}); {@code null}: nobody
     */
    public record State(long executionId, String jobKey, boolean paused, boolean swapPostponed,
            Map<String, String> settings, Throttled throttled, Instant sampledAt, Instant updatedAt, String updatedBy) {

        static State none(long executionId, String jobKey) {
            return new State(executionId, jobKey, false, false, Map.of(), null, null, null, null);
        }

        /** Copies hold at their chunk boundary: paused or throttled. */
        public boolean copyHeld() {
            return paused || throttled != null;
        }

        /** Why swaps do not start now, apart from {@code swap.window}; {@code null} when they may. */
        public String swapHeldBy() {
            if (swapPostponed) {
                return "swaps postponed by an operator (`pgrewrite allow-swap " + executionId + "`)";
            }
            return throttled == null ? null : "throttled: " + throttled.describe();
        }

        /** One line for {@code status} and the log; {@code null} when nothing holds the execution back. */
        public String describe() {
            StringBuilder b = new StringBuilder();
            if (paused) {
                b.append("paused by an operator (`pgrewrite resume ").append(executionId).append("` continues)");
            }
            if (throttled != null) {
                b.append(b.isEmpty() ? "" : "; ").append("throttled: ").append(throttled.describe());
            }
            if (swapPostponed) {
                b.append(b.isEmpty() ? "" : "; ").append("swaps postponed (`pgrewrite allow-swap ").append(executionId)
                        .append("`)");
            }
            if (!settings.isEmpty()) {
                b.append(b.isEmpty() ? "" : "; ").append("changed while running: ");
                settings.forEach((k, v) -> b.append(k).append('=').append(v).append(' '));
                b.setLength(b.length() - 1);
            }
            return b.isEmpty() ? null : b.toString();
        }
    }

    /** The latest execution of a job key: its status in the JobRepository and its controls. */
    public record Latest(String status, State controls) {
    }

    /**
     * Why the job is throttled.
     *
     * @param signal the throttle key's name, e.g. {@code replication-lag} or {@code query}
     * @param value the signal's value when last sampled
     * @param threshold its maximum ({@code throttle.<signal>})
     * @param unit {@code s}, {@code bytes}, {@code bytes/min}, {@code sessions} or empty
     * @param since since when this signal holds the job back
     */
    public record Throttled(String signal, double value, double threshold, String unit, Instant since) {

        /** {@code query = 100 (max 10, since 2026-12-01T09:12:03Z)}. */
        public String describe() {
            String u = unit == null || unit.isEmpty() ? "" : " " + unit;
            return signal + " = " + number(value) + u + " (max " + number(threshold) + u
                    + (since == null ? "" : ", since " + since.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)) + ")";
        }

        private static String number(double d) {
            return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf((long) d) : String.format(java.util.Locale.ROOT, "%.2f", d);
        }
    }

    /** A control that cannot be given; the message says why and what to do. */
    public static final class ControlException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final boolean badInput;
        private final boolean precondition;

        public ControlException(String message) {
            this(message, false);
        }

        /** @param badInput a key or value refused (the caller's mistake), not the execution's state */
        public ControlException(String message, boolean badInput) {
            this(message, badInput, false);
        }

        private ControlException(String message, boolean badInput, boolean precondition) {
            super(message);
            this.badInput = badInput;
            this.precondition = precondition;
        }

        /** A setting that is valid but that the job cannot obey as things are (a privilege missing): exit 4. */
        static ControlException precondition(String message) {
            return new ControlException(message, false, true);
        }

        public boolean badInput() {
            return badInput;
        }

        public boolean precondition() {
            return precondition;
        }
    }
}
