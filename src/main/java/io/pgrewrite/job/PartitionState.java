package io.pgrewrite.job;

import java.util.List;
import java.util.Map;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Bookkeeping in {@code pgrewrite.partition_state}: where each partition of a job stands, and the
 * figures the report prints. The swap's row is written inside the swap transaction, so "swapped"
 * is never recorded for a swap that rolled back, nor missing for one that committed.
 */
public final class PartitionState {

    public static final String CAPTURING = "capturing";
    public static final String COPYING = "copying";
    public static final String INDEXED = "indexed";
    public static final String VERIFIED = "verified";
    public static final String SWAPPED = "swapped";
    public static final String RETIRED = "retired";
    public static final String FAILED = "failed";
    /** Nothing to rewrite, not copied (see EmptyPartition); contract reads it again. */
    public static final String EMPTY = "empty";
    /** Dropped (or detached) by someone else while the job ran: skipped, nothing left to rewrite. */
    public static final String GONE = "gone";

    public static final String UPSERT_STATE = """
            INSERT INTO pgrewrite.partition_state (job_key, partition_name, state) VALUES (?, ?, ?)
            ON CONFLICT (job_key, partition_name) DO UPDATE SET state = EXCLUDED.state, updated_at = now()
            """;

    /** A state and one figure in one statement (one round trip and one commit instead of two). */
    static final String UPSERT_STATE_AND_FIGURE = """
            INSERT INTO pgrewrite.partition_state (job_key, partition_name, state, %1$s) VALUES (?, ?, ?, ?)
            ON CONFLICT (job_key, partition_name) DO UPDATE SET state = EXCLUDED.state, %1$s = EXCLUDED.%1$s, updated_at = now()
            """;

    /**
     * retire: the partition is retired, and what it takes now (as the catalog's total_bytes: the rewritten
     * partition with its indexes and TOAST), in one statement. Run in retire's transaction, under its
     * lock_timeout: the size takes ACCESS SHARE on P, which only a DDL of someone else's would make wait.
     */
    static final String RETIRED_NOW = """
            UPDATE pgrewrite.partition_state SET state = 'retired', bytes_after = pg_total_relation_size(to_regclass(?)),
                   updated_at = now()
             WHERE job_key = ? AND partition_name = ?
            """;

    /**
     * {@link #RETIRED_NOW} of a partition whose P__old retire dropped, in the drop's transaction: source_relid (which
     * named P__old since the swap) goes too, so that the dropped table's oid, which PostgreSQL may give a new table one
     * day, never makes that table the job's (PartitionNames.swappedOut).
     */
    static final String RETIRED_AND_DROPPED = """
            UPDATE pgrewrite.partition_state SET state = 'retired', bytes_after = pg_total_relation_size(to_regclass(?)),
                   source_relid = NULL, updated_at = now()
             WHERE job_key = ? AND partition_name = ?
            """;

    static final String SET_FIGURES = """
            UPDATE pgrewrite.partition_state SET %s = ?, updated_at = now() WHERE job_key = ? AND partition_name = ?
            """;

    /**
     * The copy starts: state copying, and when (phases.copy = [start, null]), in one statement, so status can
     * show the rate of a copy under way.
     */
    static final String START_COPY = """
            INSERT INTO pgrewrite.partition_state (job_key, partition_name, state, phases)
            VALUES (?, ?, 'copying', jsonb_build_object('copy', jsonb_build_array(round(extract(epoch FROM now()) * 1000), null)))
            ON CONFLICT (job_key, partition_name) DO UPDATE SET state = EXCLUDED.state,
                   phases = partition_state.phases || EXCLUDED.phases, updated_at = now()
            """;

    /** When the phases of a partition's run ran: {"capture": [start, end], ...} in epoch ms; merged over the older. */
    static final String SAVE_PHASES = """
            UPDATE pgrewrite.partition_state SET phases = phases || ?::jsonb WHERE job_key = ? AND partition_name = ?
            """;

    static final String SET_SEVERAL_FIGURES = """
            UPDATE pgrewrite.partition_state SET %s, updated_at = now() WHERE job_key = ? AND partition_name = ?
            """;

    static final String GET = "SELECT * FROM pgrewrite.partition_state WHERE job_key = ? AND partition_name = ?";
    static final String ALL = "SELECT * FROM pgrewrite.partition_state WHERE job_key = ? ORDER BY partition_name";

    /**
     * Reads only the catalog (no lock beyond what the caller holds). Called when a new working copy starts,
     * after capture is on: whatever happened to P before this moment, the copy reads; whatever happens
     * after it must go through the capture trigger, and {@link #SOURCE_CHANGED} tells when it did not.
     */
    static final String RECORD_SOURCE = """
            UPDATE pgrewrite.partition_state s
               SET source_relid = c.oid, source_filenode = pg_relation_filenode(c.oid), capture_trigger_xmin = t.xmin::text,
                   updated_at = now()
              FROM pg_class c LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgname = ?
             WHERE c.oid = to_regclass(?) AND s.job_key = ? AND s.partition_name = ?
            """;

    /**
     * Why P is no longer the table whose copy is ready, or NULL when it still is. Run by the swap under its
     * ACCESS EXCLUSIVE lock on P, so nothing can change the answer before the DETACH: TRUNCATE, VACUUM FULL
     * and CLUSTER give P a new relfilenode (TRUNCATE fires no row trigger); ALTER TABLE … DISABLE/ENABLE
     * TRIGGER rewrites the trigger's pg_trigger row (a new xmin), even when it is enabled again since.
     */
    public static final String SOURCE_CHANGED = """
            SELECT CASE
                     WHEN s.source_relid IS NULL THEN 'the identity of the table the copy was taken from was not recorded'
                     WHEN c.oid IS DISTINCT FROM s.source_relid THEN 'it is no longer the table that was copied (another table took its name)'
                     WHEN pg_relation_filenode(c.oid) IS DISTINCT FROM s.source_filenode
                       THEN 'its storage changed since the copy started (TRUNCATE, VACUUM FULL or CLUSTER), which no trigger records'
                     WHEN t.oid IS NULL THEN 'its capture trigger is gone'
                     WHEN t.tgenabled <> 'A' THEN 'its capture trigger is not enabled ALWAYS (tgenabled = ' || t.tgenabled::text || ')'
                     WHEN t.xmin::text IS DISTINCT FROM s.capture_trigger_xmin
                       THEN 'its capture trigger was disabled or altered since the copy started (writes made meanwhile were not logged)'
                   END
              FROM pgrewrite.partition_state s
              LEFT JOIN pg_class c ON c.oid = to_regclass(?)
              LEFT JOIN pg_trigger t ON t.tgrelid = c.oid AND t.tgname = ?
             WHERE s.job_key = ? AND s.partition_name = ?
            """;

    /**
     * The name the partition copied has now, when it is still a partition of the table under another name (a DBA renamed
     * it while the job ran). (the job, the partition's name in the job, the table)
     */
    static final String RENAMED_TO = """
            SELECT c.relname::text FROM pgrewrite.partition_state s
              JOIN pg_inherits i ON i.inhrelid = s.source_relid
              JOIN pg_class c ON c.oid = i.inhrelid
             WHERE s.job_key = ? AND s.partition_name = ? AND i.inhparent = to_regclass(?) AND c.relname <> s.partition_name
            """;

    private static final List<String> FIGURES = List.of("rows_copied", "rows_total", "bytes_before", "bytes_after",
            "copy_ms", "verify_result", "lock_wait_ms", "lock_hold_ms", "swap_attempts");

    private final JdbcTemplate jdbc;

    public PartitionState(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public void set(String jobKey, String partition, String state) {
        jdbc.update(UPSERT_STATE, jobKey, partition, state);
    }

    /** {@link #set} and {@link #figure} in one statement. */
    public void set(String jobKey, String partition, String state, String column, Object value) {
        if (!FIGURES.contains(column)) {
            throw new IllegalArgumentException("not a partition_state figure: " + column);
        }
        jdbc.update(String.format(UPSERT_STATE_AND_FIGURE, column), jobKey, partition, state, value);
    }

    /** Sets one of the report's figures; the column name is checked against a fixed list, never taken from input. */
    public void figure(String jobKey, String partition, String column, Object value) {
        if (!FIGURES.contains(column)) {
            throw new IllegalArgumentException("not a partition_state figure: " + column);
        }
        jdbc.update(String.format(SET_FIGURES, column), value, jobKey, partition);
    }

    /** Sets several of the report's figures in one statement: column, value, column, value, … (names checked as above). */
    public void figures(String jobKey, String partition, Object... columnsAndValues) {
        StringBuilder set = new StringBuilder();
        List<Object> args = new java.util.ArrayList<>();
        for (int i = 0; i < columnsAndValues.length; i += 2) {
            String column = (String) columnsAndValues[i];
            if (!FIGURES.contains(column)) {
                throw new IllegalArgumentException("not a partition_state figure: " + column);
            }
            set.append(column).append(" = ?, ");
            args.add(columnsAndValues[i + 1]);
        }
        args.add(jobKey);
        args.add(partition);
        jdbc.update(String.format(SET_SEVERAL_FIGURES, set.substring(0, set.length() - 2)), args.toArray());
    }

    /** Records P's identity and its capture trigger's row version: the copy starts from this table. */
    public void recordSource(String jobKey, String partition, String qualifiedPartition, String captureTrigger) {
        jdbc.update(RECORD_SOURCE, captureTrigger, qualifiedPartition, jobKey, partition);
    }

    /** {@link #recordSource(String, String, String, String)}, sent with the other statements of {@code writes}. */
    public static void recordSource(io.pgrewrite.pg.RoundTrip writes, String jobKey, String partition, String qualifiedPartition,
            String captureTrigger) {
        writes.update(RECORD_SOURCE, captureTrigger, qualifiedPartition, jobKey, partition);
    }

    /** Null when P is still the table the copy was taken from and capture saw every change since; else why not. */
    public String sourceChanged(String jobKey, String partition, String qualifiedPartition, String captureTrigger) {
        List<String> r = jdbc.queryForList(SOURCE_CHANGED, String.class, qualifiedPartition, captureTrigger, jobKey, partition);
        return r.isEmpty() ? "it has no partition_state row" : r.get(0);
    }

    /** {@link #RENAMED_TO}: null when the partition is not a partition of the table under another name. */
    public String renamedTo(String jobKey, String partition, String qualifiedParent) {
        return jdbc.queryForList(RENAMED_TO, String.class, jobKey, partition, qualifiedParent).stream().findFirst().orElse(null);
    }

    /** The copy starts (see {@link #START_COPY}). */
    public void copying(String jobKey, String partition) {
        jdbc.update(START_COPY, jobKey, partition);
    }

    Phases phases(String jobKey, String partition) {
        return new Phases(jobKey, partition);
    }

    /**
     * When each phase of one partition's run ran, kept in memory and written once when the run ends (one
     * statement, not one per phase); a phase that ran twice in one run (a copy taken again) counts its last.
     */
    final class Phases {
        private final String jobKey;
        private final String partition;
        private final Map<String, long[]> ran = new java.util.LinkedHashMap<>();

        private Phases(String jobKey, String partition) {
            this.jobKey = jobKey;
            this.partition = partition;
        }

        void ran(String phase, long startMs, long endMs) {
            ran.put(phase, new long[] {startMs, endMs});
        }

        /** Never fails the partition: the timings are for reading, not for restarting. */
        void save() {
            if (ran.isEmpty()) {
                return;
            }
            StringBuilder json = new StringBuilder("{");
            ran.forEach((phase, t) -> json.append(json.length() > 1 ? ", " : "").append('"').append(phase).append("\": [")
                    .append(t[0]).append(", ").append(t[1]).append(']'));
            try {
                jdbc.update(SAVE_PHASES, json.append('}').toString(), jobKey, partition);
            } catch (org.springframework.dao.DataAccessException e) {
                org.slf4j.LoggerFactory.getLogger(PartitionState.class).warn("{}: phase timings not recorded: {}", partition,
                        e.getMostSpecificCause().getMessage());
            }
            ran.clear();
        }
    }

    /** A partition's state (no row: not begun). */
    public static final String STATE = "SELECT state FROM pgrewrite.partition_state WHERE job_key = ? AND partition_name = ?";

    public String state(String jobKey, String partition) {
        List<String> s = jdbc.queryForList(STATE, String.class, jobKey, partition);
        return s.isEmpty() ? null : s.get(0);
    }

    public List<Map<String, Object>> all(String jobKey) {
        return jdbc.queryForList(ALL, jobKey);
    }
}
