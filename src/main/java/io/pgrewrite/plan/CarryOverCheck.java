package io.pgrewrite.plan;

import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.definition.JobDefinition;
import io.pgrewrite.definition.Operation;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * plan's account of what the swap and contract carry over besides rows, indexes, constraints, triggers,
 * grants, owner and comment (what a blocking ALTER keeps: see swap.CarryOver and expand.ColumnFacts),
 * what they cannot, and the preconditions the carrying needs: refused before anything changes. Catalog
 * reads only.
 */
final class CarryOverCheck {

    /**
     * What the selected partitions carry, one row per kind with how many partitions have it. Comments are found by
     * joining pg_description, not by col_description / obj_description per row: those are SQL functions, one
     * lookup each for every column of every partition (and every index of the database, before the join); on 370
     * partitions of 49 columns they cost 420 of this query's 470 ms. Catalog reads only: no lock.
     */
    static final String CARRIED = """
            WITH p AS (SELECT unnest(?::oid[]) AS oid)
            SELECT 'publication membership', count(DISTINCT r.prrelid) FROM pg_publication_rel r JOIN p ON p.oid = r.prrelid
            UNION ALL SELECT 'row-level security', count(*) FROM pg_class c JOIN p USING (oid) WHERE c.relrowsecurity
            UNION ALL SELECT 'policies', count(DISTINCT polrelid) FROM pg_policy JOIN p ON p.oid = polrelid
            UNION ALL SELECT 'a tablespace of their own', count(*) FROM pg_class c JOIN p USING (oid) WHERE c.reltablespace <> 0
            UNION ALL SELECT 'indexes in a tablespace of their own', count(DISTINCT i.indrelid) FROM pg_index i JOIN p ON p.oid = i.indrelid
                      JOIN pg_class ic ON ic.oid = i.indexrelid WHERE ic.reltablespace <> 0
            UNION ALL SELECT 'triggers not simply enabled', count(DISTINCT t.tgrelid) FROM pg_trigger t JOIN p ON p.oid = t.tgrelid
                      WHERE NOT t.tgisinternal AND t.tgenabled <> 'O' AND t.tgname NOT LIKE 'pgrewrite%' AND t.tgname NOT LIKE '~pgrewrite%'
            UNION ALL SELECT 'column comments, grants, statistics targets or options', count(DISTINCT x.rel) FROM (
                      SELECT a.attrelid AS rel FROM pg_attribute a JOIN p ON p.oid = a.attrelid
                       WHERE a.attnum > 0 AND NOT a.attisdropped
                         AND (a.attacl IS NOT NULL OR a.attoptions IS NOT NULL OR a.attstattarget::int >= 0)
                      UNION ALL SELECT d.objoid FROM pg_description d JOIN p ON p.oid = d.objoid
                        JOIN pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid
                       WHERE d.classoid = 'pg_class'::regclass AND d.objsubid > 0 AND NOT a.attisdropped) x
            UNION ALL SELECT 'a CLUSTER mark', count(*) FROM pg_index i JOIN p ON p.oid = i.indrelid WHERE i.indisclustered
            UNION ALL SELECT 'DEFERRABLE unique or primary keys', count(DISTINCT con.conrelid) FROM pg_constraint con
                      JOIN p ON p.oid = con.conrelid WHERE con.condeferrable AND con.contype IN ('p', 'u')
            UNION ALL SELECT 'comments on indexes or constraints', count(DISTINCT x.rel) FROM (
                      SELECT i.indrelid AS rel FROM pg_index i JOIN p ON p.oid = i.indrelid JOIN pg_description d
                        ON d.objoid = i.indexrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
                      UNION ALL SELECT con.conrelid FROM pg_constraint con JOIN p ON p.oid = con.conrelid JOIN pg_description d
                        ON d.objoid = con.oid AND d.classoid = 'pg_constraint'::regclass AND d.objsubid = 0
                       WHERE con.contype IN ('p', 'u', 'x', 'c', 'f')) x
            UNION ALL SELECT 'extended statistics', count(DISTINCT s.stxrelid) FROM pg_statistic_ext s JOIN p ON p.oid = s.stxrelid
            """;

    /** Comments the swap cannot put back: on constraints whose name on the copy PostgreSQL chooses (NOT NULL, PostgreSQL 18). */
    static final String LOST_COMMENTS = """
            SELECT con.conrelid::regclass::text || ' ' || con.conname FROM pg_constraint con
              JOIN pg_description d ON d.objoid = con.oid AND d.classoid = 'pg_constraint'::regclass AND d.objsubid = 0
             WHERE con.conrelid = ANY (?::oid[]) AND con.contype NOT IN ('p', 'u', 'x', 'c', 'f')
             ORDER BY 1
            """;

    /** FORCE ROW LEVEL SECURITY filters the owner's own reads of the table: the copy would miss rows. */
    static final String FORCED_RLS = """
            SELECT c.oid::regclass::text FROM pg_class c
             WHERE (c.oid = ANY (?::oid[]) OR c.oid = ?::oid) AND c.relforcerowsecurity
               AND NOT (SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user)
             ORDER BY 1
            """;

    /** Tablespaces of the partitions and their indexes where pgrewrite's role may not create P__rw or an index. */
    static final String TABLESPACES = """
            SELECT DISTINCT t.spcname::text FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace
             WHERE (c.oid = ANY (?::oid[]) OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = ANY (?::oid[])))
               AND NOT has_tablespace_privilege(t.oid, 'CREATE')
             ORDER BY 1
            """;

    /** Publications and statistics objects of the partitions pgrewrite's role does not own (ALTER needs ownership). */
    static final String NOT_OWNED = """
            SELECT 'publication ' || p.pubname || ' (owner ' || pg_get_userbyid(p.pubowner) || ')'
              FROM pg_publication p WHERE NOT pg_has_role(p.pubowner, 'USAGE')
               AND EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prpubid = p.oid AND r.prrelid = ANY (?::oid[]))
            UNION ALL
            SELECT 'statistics ' || s.stxname || ' (owner ' || pg_get_userbyid(s.stxowner) || ')'
              FROM pg_statistic_ext s WHERE s.stxrelid = ANY (?::oid[]) AND NOT pg_has_role(s.stxowner, 'USAGE')
             ORDER BY 1
            """;

    private CarryOverCheck() {
    }

    static List<Plan.Check> checks(JdbcTemplate jdbc, JobDefinition def, Table table, List<Partition> selected) {
        List<Plan.Check> checks = new ArrayList<>();
        Long[] oids = selected.stream().map(Partition::oid).toArray(Long[]::new);
        List<String> carried = new ArrayList<>();
        jdbc.query(CARRIED, (org.springframework.jdbc.core.RowCallbackHandler) rs -> {
            if (rs.getLong(2) > 0) {
                carried.add(rs.getString(1) + " (" + rs.getLong(2) + " partition" + (rs.getLong(2) == 1 ? "" : "s") + ")");
            }
        }, (Object) oids);
        checks.add(new Plan.Check("carried over by the swap", true, "rows, indexes, constraints, triggers, grants, owner, comment,"
                + " storage parameters, replica identity" + (carried.isEmpty() ? "" : "; " + String.join(", ", carried))));
        if (def.operation() == Operation.ALTER_COLUMN_TYPE) {
            checks.add(new Plan.Check("carried over by contract", true, "the comment, column grants, statistics target and"
                    + " options of " + def.column() + " on " + table.name() + " and every partition, and the extended statistics that use it"
                    + " (rebuilt on the new column, as the blocking ALTER does)"));
        }
        List<String> lost = jdbc.queryForList(LOST_COMMENTS, String.class, (Object) oids);
        if (!lost.isEmpty()) {
            checks.add(new Plan.Check("not carried over", true, "warning: comments on " + lost
                    + " (their name on the rewritten partition is PostgreSQL's choice): comment them again after the job"));
        }
        if (def.operation().changesShape()) {
            checks.add(new Plan.Check("column position", true, "warning: " + def.column() + " becomes the last column of "
                    + table.name() + " (a shadow column replaces it): SELECT * lists it last, and a positional INSERT … VALUES"
                    + " or a COPY without a column list written for the old order breaks (name the columns); and while the job"
                    + " runs, SELECT *, RETURNING * and a trigger's NEW.* also see its column "
                    + (def.operation() == Operation.ALTER_COLUMN_TYPE ? Projection.shadowColumn(def.column()) : def.column())
                    + ", so code that copies whole rows by position into a table of the old shape (INSERT INTO t_hist SELECT"
                    + " NEW.*) fails until contract"));
        }
        List<String> forced = jdbc.queryForList(FORCED_RLS, String.class, oids, table.oid());
        if (!forced.isEmpty()) {
            checks.add(new Plan.Check("no FORCE ROW LEVEL SECURITY", false, forced + " force row-level security on their owner:"
                    + " the copy and its verification would see only the rows the policies show pgrewrite's role. Run pgrewrite"
                    + " as a role with BYPASSRLS, or NO FORCE ROW LEVEL SECURITY for the job's duration, then plan again."));
        }
        List<String> tablespaces = jdbc.queryForList(TABLESPACES, String.class, oids, oids);
        if (!tablespaces.isEmpty()) {
            checks.add(new Plan.Check("CREATE on tablespaces", false, "partitions or their indexes live in " + tablespaces
                    + ", where the rewritten copy goes too, and pgrewrite's role may not create there."
                    + " GRANT CREATE ON TABLESPACE … TO it, then plan again."));
        }
        List<String> notOwned = jdbc.queryForList(NOT_OWNED, String.class, oids, oids);
        if (!notOwned.isEmpty()) {
            checks.add(new Plan.Check("ownership of what the swap carries", false, notOwned + " must be owned by pgrewrite's role"
                    + " (or a role it is a member of) for the swap to add the rewritten partition to it. Change the owner"
                    + " (ALTER … OWNER TO), then plan again."));
        }
        return checks;
    }
}
