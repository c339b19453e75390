package io.pgrewrite.control;

import java.util.List;
import java.util.Map;

import io.pgrewrite.control.JobControls.ControlException;
import io.pgrewrite.pg.Identifiers;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * set: the throttle keys that read other sessions' statistics ({@code pg_read_all_stats}, which
 * {@code pg_monitor} includes), refused for a job whose role cannot see them, as plan refuses them in a job
 * definition (see {@code plan.ThrottlePrivileges}: PostgreSQL hides the values instead of refusing the query,
 * so the job would run unthrottled and the sampler could only log it).
 */
final class SignalPrivileges {

    /** The keys whose signal needs the privilege; {@code throttle.anti-wraparound} only when true. */
    static final List<String> KEYS = List.of("throttle.replication-lag", "throttle.replication-lag-bytes",
            "throttle.oldest-transaction", "throttle.anti-wraparound");

    /**
     * The role of the process running the execution (its throttle sampler reads the signals) and whether it has
     * the privilege: that process holds the job's session advisory lock ({@code JobRunner.TRY_LOCK}, a bigint key:
     * high half in classid, low half in objid). pg_locks and pg_stat_activity's usesysid are visible to every role.
     * Reads the lock table and the catalog; no lock taken.
     */
    static final String RUNNER_ROLE = """
            SELECT r.rolname::text AS role, pg_has_role(r.oid, 'pg_read_all_stats', 'USAGE') AS sees
              FROM (SELECT hashtextextended(?, 0) AS k) h
              JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                             AND l.classid = ((h.k >> 32) & 4294967295)::oid AND l.objid = (h.k & 4294967295)::oid
              JOIN pg_database d ON d.oid = l.database AND d.datname = current_database()
              JOIN pg_stat_activity a ON a.pid = l.pid
              JOIN pg_roles r ON r.oid = a.usesysid
             LIMIT 1
            """;
    /** When no live process holds the lock (it is starting, or died): this session's role, as plan checks it. */
    static final String OWN_ROLE = "SELECT current_user::text AS role, pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS sees";

    private SignalPrivileges() {
    }

    /** Throws, changing nothing, when a checked setting turns on a signal that the job's role cannot read. */
    static void refuseUnseen(JdbcTemplate jdbc, long executionId, String jobKey, Map<String, String> checked) {
        List<String> keys = checked.entrySet().stream()
                .filter(e -> KEYS.contains(e.getKey()) && (!e.getKey().equals("throttle.anti-wraparound") || e.getValue().equals("true")))
                .map(Map.Entry::getKey).toList();
        if (keys.isEmpty()) {
            return;
        }
        List<Map<String, Object>> runner = jdbc.queryForList(RUNNER_ROLE, "pgrewrite:" + jobKey);
        Map<String, Object> r = runner.isEmpty() ? jdbc.queryForMap(OWN_ROLE) : runner.get(0);
        if (Boolean.TRUE.equals(r.get("sees"))) {
            return;
        }
        String role = (String) r.get("role");
        throw ControlException.precondition("Execution " + executionId + ": " + String.join(", ", keys)
                + (keys.size() == 1 ? " needs" : " need") + " to see other sessions and standbys (pg_stat_replication,"
                + " pg_stat_activity, pg_stat_progress_vacuum), which role " + role + (runner.isEmpty() ? "" : ", running the job,")
                + " cannot: without that the signal reads 0 and the job would run unthrottled. Run `GRANT pg_monitor TO "
                + Identifiers.quote(role) + "` (or pg_read_all_stats) as a superuser, then set it again. Nothing was changed.");
    }
}
