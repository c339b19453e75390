package io.pgrewrite.plan;

import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.JobDefinition.Throttle;
import io.pgrewrite.pg.Identifiers;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * plan: the throttle signals that read other sessions' statistics need pgrewrite's role to see them.
 * Without the privileges of {@code pg_read_all_stats} (which {@code pg_monitor} includes) PostgreSQL does
 * not refuse the queries: {@code pg_stat_replication} still lists each standby but with every position and
 * lag NULL, {@code pg_stat_activity} hides other roles' {@code xact_start}, and {@code
 * pg_stat_progress_vacuum} hides autovacuum workers. The job would run unthrottled without a word, which is
 * what the operator asked it not to do: plan refuses, naming the keys and the GRANT.
 */
final class ThrottlePrivileges {

    /** The role's (inherited) privileges; a superuser has them all. Reads the catalog only. */
    static final String SEES_ALL_STATS = "SELECT pg_has_role(current_user, 'pg_read_all_stats', 'USAGE')";

    private ThrottlePrivileges() {
    }

    static void check(JdbcTemplate jdbc, JobDefinition def, List<Plan.Check> checks) {
        Throttle t = def.throttle();
        if (t == null) {
            return;
        }
        List<String> keys = new ArrayList<>();
        if (t.replicationLag() != null) {
            keys.add("throttle.replication-lag");
        }
        if (t.replicationLagBytes() != null) {
            keys.add("throttle.replication-lag-bytes");
        }
        if (t.oldestTransaction() != null) {
            keys.add("throttle.oldest-transaction");
        }
        if (t.antiWraparound()) {
            keys.add("throttle.anti-wraparound");
        }
        if (keys.isEmpty()) {
            return;
        }
        String name = "the role can read the throttle signals";
        if (Boolean.TRUE.equals(jdbc.queryForObject(SEES_ALL_STATS, Boolean.class))) {
            checks.add(new Plan.Check(name, true, "pg_read_all_stats: " + String.join(", ", keys)));
            return;
        }
        String role = jdbc.queryForObject("SELECT current_user", String.class);
        checks.add(new Plan.Check(name, false, String.join(", ", keys) + (keys.size() == 1 ? " needs" : " need") + " to see other sessions and standbys"
                + " (pg_stat_replication, pg_stat_activity, pg_stat_progress_vacuum), which role " + role
                + " cannot: without that these signals read 0 and the job would run unthrottled. Run `GRANT pg_monitor TO "
                + Identifiers.quote(role) + "` (or pg_read_all_stats) as a superuser, or remove the key from "
                + (def.file() == null ? "the definition" : def.file().toString()) + "."));
    }
}
