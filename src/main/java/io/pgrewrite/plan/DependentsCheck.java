package io.pgrewrite.plan;

import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.Operation;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowCallbackHandler;

/**
 * plan's account of what outside the partitions would not follow the rewrite: refused before anything changes.
 * The swap puts each partition's copy, a new table, in its place and renames the partition to {@code P__old}, so
 * whatever refers to the partition itself (not to the table) stays with {@code P__old}; and {@code alter-column-type}
 * replaces a column of the table's row type, which rows of that type stored elsewhere do not get. Catalog reads only:
 * no lock, one round trip.
 */
final class DependentsCheck {

    /**
     * What uses the row type of the selected partitions (?1) and, when its row type changes (?3), of the table (?2):
     * as PostgreSQL's find_composite_type_dependencies walks it, through arrays, domains and ranges over the type and
     * through the row types of composite types, views and foreign tables that have a column of it, to the columns of
     * relations with storage (tables, materialized views, indexes) that hold values of it. For a partition also
     * whatever else refers to its row type or one of those types directly (a composite type's or a view's column, a
     * function's argument): all of them keep the row type of {@code P__old}, and retire could not drop it. The
     * internal dependents (the type's own array type, a composite type's pg_class row) are the type's own.
     * <p>
     * Then what depends on a selected partition's pg_class row (?5) other than what the swap carries or builds on the
     * copy: its own indexes, constraints (a foreign key referencing it is Planner.FOREIGN_KEYS' refusal), triggers,
     * policies, column defaults, extended statistics, publication membership, and its TOAST table and row type
     * (internal). What is left stays with {@code P__old}: a view or materialized view (its {@code _RETURN} rule, named
     * by the view) or a rule on another table reading it, a rule on it, a {@code BEGIN ATOMIC} function, another
     * table's policy or constraint trigger naming it, a sequence {@code OWNED BY} one of its columns.
     */
    static final String DEPENDENTS = """
            WITH RECURSIVE used(typ, root, via_class, via_obj, via_sub, direct) AS (
                SELECT c.reltype, c.oid, 0::oid, 0::oid, 0, true FROM pg_class c
                 WHERE c.oid = ANY (?::oid[]) OR c.oid = ?::oid AND ?
              UNION
                SELECT CASE WHEN d.classid = 'pg_type'::regclass THEN d.objid ELSE k.reltype END, u.root,
                       CASE WHEN u.via_class = 0 THEN d.classid ELSE u.via_class END,
                       CASE WHEN u.via_class = 0 THEN d.objid ELSE u.via_obj END,
                       CASE WHEN u.via_class = 0 THEN d.objsubid ELSE u.via_sub END,
                       u.direct AND d.classid = 'pg_type'::regclass
                  FROM used u JOIN pg_depend d ON d.refclassid = 'pg_type'::regclass AND d.refobjid = u.typ
                  LEFT JOIN pg_class k ON d.classid = 'pg_class'::regclass AND k.oid = d.objid
                 WHERE d.classid = 'pg_type'::regclass OR k.relkind IN ('c', 'v', 'f')
            )
            SELECT DISTINCT 'row type' AS kind, u.root::bigint AS root_oid, u.root::regclass::text AS root, pg_describe_object(d.classid, d.objid, d.objsubid)
                   || CASE WHEN u.via_class = 0 OR (u.via_class, u.via_obj, u.via_sub) = (d.classid, d.objid, d.objsubid) THEN ''
                           ELSE ' (through ' || pg_describe_object(u.via_class, u.via_obj, u.via_sub) || ')' END AS what
              FROM used u JOIN pg_depend d ON d.refclassid = 'pg_type'::regclass AND d.refobjid = u.typ AND d.deptype <> 'i'
              LEFT JOIN pg_class k ON d.classid = 'pg_class'::regclass AND k.oid = d.objid
             WHERE k.relkind IN ('r', 'm', 't', 'p', 'i', 'I')
                   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = k.oid AND a.atttypid = u.typ AND NOT a.attisdropped
                                AND (d.objsubid = 0 OR a.attnum = d.objsubid))
                OR u.direct AND u.root <> ?::oid
            UNION ALL
            SELECT DISTINCT 'depends', d.refobjid::bigint, d.refobjid::regclass::text,
                   coalesce((SELECT pg_describe_object('pg_class'::regclass, r.ev_class, 0) FROM pg_rewrite r
                              WHERE d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid AND r.rulename = '_RETURN'),
                            pg_describe_object(d.classid, d.objid, 0))
              FROM pg_depend d
             WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = ANY (?::oid[]) AND d.deptype <> 'i'
               AND d.classid NOT IN ('pg_attrdef'::regclass, 'pg_statistic_ext'::regclass, 'pg_publication_rel'::regclass)
               AND NOT (d.classid = 'pg_class'::regclass
                        AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indexrelid = d.objid AND i.indrelid = d.refobjid))
               AND NOT (d.classid = 'pg_constraint'::regclass AND EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = d.objid
                          AND (c.conrelid = d.refobjid OR c.contype = 'f')))
               AND NOT (d.classid = 'pg_trigger'::regclass
                        AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.oid = d.objid AND t.tgrelid = d.refobjid))
               AND NOT (d.classid = 'pg_policy'::regclass
                        AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.oid = d.objid AND p.polrelid = d.refobjid))
             ORDER BY 1, 3, 4
            """;

    private DependentsCheck() {
    }

    static List<Plan.Check> checks(JdbcTemplate jdbc, JobDefinition def, Table table, List<Partition> selected) {
        Long[] oids = selected.stream().map(Partition::oid).toArray(Long[]::new);
        // Of the column changes only alter-column-type loses values stored in the table's row type: add-column and
        // drop-column leave them as PostgreSQL's own ADD and DROP COLUMN do (the new field NULL, the dropped one gone).
        boolean retype = def.operation() == Operation.ALTER_COLUMN_TYPE;
        List<String> storedRows = new ArrayList<>();
        List<String> partitionRows = new ArrayList<>();
        List<String> dependents = new ArrayList<>();
        jdbc.query(DEPENDENTS, (RowCallbackHandler) rs -> {
            String what = rs.getString("what");
            if (rs.getString("kind").equals("depends")) {
                dependents.add(what + " (on " + rs.getString("root") + ")");
            } else if (rs.getLong("root_oid") == table.oid()) {
                storedRows.add(what);
            } else {
                partitionRows.add(what + " (" + rs.getString("root") + ")");
            }
        }, oids, table.oid(), retype, table.oid(), oids);
        List<Plan.Check> checks = new ArrayList<>();
        if (retype) {
            checks.add(new Plan.Check("no column stores " + table.name() + "'s row type", storedRows.isEmpty(), storedRows.isEmpty()
                    ? "none" : storedRows + " hold rows of " + table.name() + " as values (its row type): alter-column-type"
                            + " replaces " + def.column() + " by a new column, and the values stored there would lose theirs"
                            + " (their " + def.column() + " would read NULL in every one). PostgreSQL's blocking ALTER refuses for the same reason."
                            + " Drop that column, or change it to another type (e.g. ALTER TABLE … ALTER COLUMN … TYPE jsonb"
                            + " USING to_jsonb(…)), first, then plan again."));
        }
        checks.add(new Plan.Check("nothing uses a partition's row type", partitionRows.isEmpty(), partitionRows.isEmpty()
                ? "none" : partitionRows + " use the row type of the partition named: the swap puts the partition's copy,"
                        + " a new table with a row type of its own, in its place, and these would keep the old one's, renamed"
                        + " with it to <partition>__old (a column of it would hold rows of a table no longer in "
                        + table.name() + "), which retire then could not drop. Drop them, or make them use " + table.name()
                        + "'s row type (the same columns) instead, first, then plan again."));
        checks.add(new Plan.Check("nothing else depends on a partition", dependents.isEmpty(), dependents.isEmpty() ? "none"
                : dependents + " depend on the partition named itself, not on " + table.name() + ": the swap renames the"
                        + " partition to <partition>__old and puts its copy, a new table, in its place, and these stay with"
                        + " the old one: a view, a rule on another table, a policy or a function would read rows no longer in "
                        + table.name() + ", which the application's writes no longer reach, and retire could not drop the old"
                        + " partition; a rule on the partition, or a sequence OWNED BY one of its columns, would be dropped with"
                        + " it at retire. Make them use " + table.name() + " instead (its partition key selects"
                        + " the same rows), or drop them for the job and create them again after (ALTER SEQUENCE … OWNED BY"
                        + " NONE for a sequence), or rewrite the blocking way (ALTER TABLE, VACUUM FULL), then plan again."));
        return checks;
    }
}
