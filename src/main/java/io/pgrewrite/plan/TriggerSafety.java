package io.pgrewrite.plan;

import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.definition.JobDefinition;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Two preconditions of the sync trigger (expand.ShapeChange) and of the expressions pgrewrite evaluates as its
 * own role, checked by plan and again by expand right before it creates the trigger. Catalog reads only.
 * <ul>
 *   <li><b>No schema on pgrewrite's search_path in which another role can create objects.</b> The sync trigger
 *       function is SECURITY DEFINER with search_path = pg_catalog, those schemas, pg_temp, and the copy evaluates
 *       the same expression as pgrewrite's role. pg_catalog first does not protect a call that pg_catalog matches
 *       only through an implicit cast: {@code lower(label)} on a varchar column resolves to an exact-type
 *       {@code public.lower(varchar)} before {@code pg_catalog.lower(text)} (CVE-2018-1058). Whoever can create
 *       that function then runs code as pgrewrite's role, for every row the application writes. PostgreSQL 14
 *       grants CREATE on {@code public} to PUBLIC, so by default every role can.</li>
 *   <li><b>No BEFORE row trigger that sorts after the sync trigger.</b> PostgreSQL fires the BEFORE row triggers
 *       of a table in the byte order of their names (pg_trigger's index on (tgrelid, tgname), name compares with
 *       strncmp): a trigger whose name sorts after {@code ~pgrewrite_sync} fires after it, so a change it makes
 *       to the column never reaches the new column.</li>
 * </ul>
 */
public final class TriggerSafety {

    /**
     * Each schema of this session's search_path (pg_catalog and temporary schemas aside: nobody but a superuser
     * creates in pg_catalog, and functions and operators are never looked up in pg_temp) with the roles that can
     * create in it and that pgrewrite's role does not trust: PUBLIC when it is granted CREATE, otherwise every role,
     * not a superuser and not one pgrewrite's role is a member of, that is a member of (or is) a role with CREATE
     * there, its owner included (pg_database_owner, public's owner from PostgreSQL 15 on, stands for the database's
     * owner, which is checked as itself). A superuser is a member of every role by pg_has_role: for one, only superusers
     * are trusted. Catalog only.
     */
    static final String CREATORS_ON_PATH = """
            SELECT s.nspname, w.creators
              FROM unnest(current_schemas(false)) WITH ORDINALITY AS u(name, o)
              JOIN pg_namespace s ON s.nspname = u.name
             CROSS JOIN LATERAL (
                   SELECT CASE WHEN EXISTS (SELECT 1 FROM aclexplode(s.nspacl) a WHERE a.grantee = 0 AND a.privilege_type = 'CREATE')
                               THEN 'PUBLIC (every role)'
                               ELSE (SELECT string_agg(r.rolname::text, ', ' ORDER BY r.rolname)
                                       FROM pg_roles r
                                      WHERE NOT r.rolsuper AND r.rolname <> current_user AND r.rolname <> 'pg_database_owner'
                                        AND NOT (pg_has_role(current_user, r.oid, 'MEMBER')
                                                 AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))
                                        AND EXISTS (SELECT 1 FROM pg_roles g
                                                     WHERE has_schema_privilege(g.oid, s.oid, 'CREATE')
                                                       AND pg_has_role(r.oid, g.oid, 'MEMBER'))) END AS creators) w
             WHERE u.name <> 'pg_catalog' AND u.name NOT LIKE 'pg\\_temp\\_%' AND w.creators IS NOT NULL
             ORDER BY u.o
            """;

    /** The name of the sync trigger; see expand.ShapeChange.SYNC_TRIGGER_NAME. */
    public static final String SYNC_TRIGGER_NAME = "~pgrewrite_sync";

    /**
     * BEFORE row triggers on INSERT or UPDATE (tgtype: ROW 1, BEFORE 2, INSERT 4, UPDATE 16) on the table or any of
     * its partitions whose name sorts after the sync trigger's in the order PostgreSQL fires them (bytes: COLLATE
     * "C"). Internal triggers aside, but not the partitions' clones of the parent's (PostgreSQL 14 marks those
     * internal). Catalog only.
     */
    static final String TRIGGERS_AFTER_SYNC = """
            SELECT quote_ident(t.tgname) || ' on ' || t.tgrelid::regclass::text
              FROM pg_trigger t
             WHERE t.tgrelid IN (SELECT relid FROM pg_partition_tree(?::regclass))
               AND (NOT t.tgisinternal OR t.tgparentid <> 0) AND t.tgtype::int & 3 = 3 AND t.tgtype::int & 20 <> 0
               AND t.tgname::text COLLATE "C" > ?::text COLLATE "C"
             ORDER BY 1
            """;

    private TriggerSafety() {
    }

    /**
     * The checks for plan. The search_path one for every operation: besides the job's expressions, pgrewrite's own
     * statements call functions by name in its session (verify's hash functions take an integer seed where
     * pg_catalog's take a bigint, so an exact-type overload on the path would win there too).
     */
    static List<Plan.Check> checks(JdbcTemplate jdbc, JobDefinition def, Table table) {
        List<Plan.Check> checks = new ArrayList<>();
        String path = searchPathProblem(jdbc);
        checks.add(new Plan.Check("no other role can create objects on pgrewrite's search_path", path == null,
                path == null ? "ok" : path + ", then plan again."));
        if (def.operation().changesShape()) {
            String order = triggerOrderProblem(jdbc, table.qualified());
            checks.add(new Plan.Check("no BEFORE trigger fires after the sync trigger", order == null,
                    order == null ? "ok (" + SYNC_TRIGGER_NAME + " sorts after every BEFORE trigger on the table)" : order + ", then plan again."));
        }
        return checks;
    }

    /** What is wrong with this session's search_path for a SECURITY DEFINER function, or null. */
    public static String searchPathProblem(JdbcTemplate jdbc) {
        List<String> found = jdbc.query(CREATORS_ON_PATH, (rs, i) -> "schema " + rs.getString(1) + " (CREATE granted to "
                + rs.getString(2) + ")");
        if (found.isEmpty()) {
            return null;
        }
        String user = jdbc.queryForObject("SELECT current_user::text", String.class);
        return String.join(", ", found) + " is on the search_path of " + user + ", pgrewrite's role, which the sync trigger"
                + " function (SECURITY DEFINER, run for every row the application writes), the copy and verify use to resolve"
                + " function names: such a role could create a function there that matches a call better than pg_catalog's"
                + " (an exact-type overload) and so run its code as " + user + ". Take CREATE away"
                + " (`REVOKE CREATE ON SCHEMA public FROM PUBLIC`, PostgreSQL 14's default grant; or from the roles named),"
                + " or take the schema off " + user + "'s search_path (`ALTER ROLE " + user + " SET search_path = …`,"
                + " writing the expression's own functions schema-qualified)";
    }

    /** The BEFORE triggers on {@code qualifiedTable} or its partitions that would fire after the sync trigger, or null. */
    public static String triggerOrderProblem(JdbcTemplate jdbc, String qualifiedTable) {
        List<String> after = jdbc.queryForList(TRIGGERS_AFTER_SYNC, String.class, qualifiedTable, SYNC_TRIGGER_NAME);
        if (after.isEmpty()) {
            return null;
        }
        return "trigger(s) " + String.join(", ", after) + " sort after " + SYNC_TRIGGER_NAME + ", pgrewrite's sync trigger:"
                + " PostgreSQL fires BEFORE row triggers in the byte order of their names, so they would fire after it and a"
                + " change they make to the column would not reach its new value. Rename them to sort before it (a name that"
                + " starts with an ASCII letter or digit does: `ALTER TRIGGER … ON … RENAME TO …`; PostgreSQL 14 renames"
                + " only the table's own, so rename each partition's clone of the parent's trigger too)";
    }
}
