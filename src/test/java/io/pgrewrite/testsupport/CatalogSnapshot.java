package io.pgrewrite.testsupport;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What a table looks like in the catalog, as sorted lines of text, so two tables (or one table before
 * and after) can be compared with a plain equals: columns by name with type, NOT NULL and default;
 * indexes and constraints of the parent and every partition; grants, owners and comments.
 */
public final class CatalogSnapshot {

    private CatalogSnapshot() {
    }

    public static List<String> of(Connection c, String table) throws SQLException {
        List<String> lines = new ArrayList<>();
        String rels = "(SELECT '" + table + "'::regclass AS oid UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = '"
                + table + "'::regclass)";
        query(c, lines, "SELECT 'column ' || attrelid::regclass || '.' || attname || ' ' || format_type(atttypid, atttypmod)"
                + " || CASE WHEN attnotnull THEN ' not null' ELSE '' END || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')"
                + " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
                + " WHERE attrelid IN " + rels + " AND attnum > 0 AND NOT attisdropped");
        query(c, lines, "SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid IN " + rels);
        query(c, lines, "SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)"
                + " FROM pg_constraint WHERE conrelid IN " + rels);
        query(c, lines, "SELECT 'table ' || oid::regclass || ' owner ' || pg_get_userbyid(relowner) || ' acl ' || coalesce(relacl::text, '-')"
                + " || ' comment ' || coalesce(obj_description(oid, 'pg_class'), '-') || ' options ' || coalesce(reloptions::text, '-')"
                + " || ' replident ' || relreplident::text FROM pg_class WHERE oid IN " + rels);
        query(c, lines, "SELECT 'bound ' || oid::regclass || ' ' || pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid IN " + rels
                + " AND relpartbound IS NOT NULL");
        query(c, lines, "SELECT 'trigger ' || tgrelid::regclass || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN " + rels);
        Collections.sort(lines);
        return lines;
    }

    /**
     * Everything a blocking ALTER keeps, as sorted lines (issue 10, item 8): {@link #of} plus per column its
     * comment, column ACL, statistics target, attoptions and identity; per index its tablespace, comment,
     * CLUSTER mark and replica-identity mark; per constraint its comment and validity (DEFERRABLE is in its
     * definition); per table its tablespace and row-level security flags; policies; triggers with their
     * enable state; publication membership; extended statistics; and the type, bounds and position of
     * every sequence a column of the parent owns. Names PostgreSQL generates are left out: NOT NULL
     * constraints (PostgreSQL 18 names them itself) appear by column only. Column order is not compared.
     * Column statistics are compared apart ({@link #statistics}): sampled values differ by nature.
     */
    public static List<String> full(Connection c, String table) throws SQLException {
        List<String> lines = new ArrayList<>(of(c, table));
        String rels = "(SELECT '" + table + "'::regclass AS oid UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = '"
                + table + "'::regclass)";
        query(c, lines, "SELECT 'column-meta ' || attrelid::regclass || '.' || attname"
                + " || ' comment ' || coalesce(col_description(attrelid, attnum), '-')"
                + " || ' acl ' || coalesce(attacl::text, '-')"
                + " || ' stattarget ' || coalesce(attstattarget::int, -1)"
                + " || ' options ' || coalesce(attoptions::text, '-')"
                + " || ' identity ' || CASE WHEN attidentity = '' THEN '-' ELSE attidentity::text END"
                + " FROM pg_attribute WHERE attrelid IN " + rels + " AND attnum > 0 AND NOT attisdropped");
        query(c, lines, "SELECT 'index-meta ' || pg_get_indexdef(i.indexrelid)"
                + " || ' tablespace ' || coalesce((SELECT spcname FROM pg_tablespace WHERE oid = ic.reltablespace), '-')"
                + " || ' comment ' || coalesce(obj_description(i.indexrelid, 'pg_class'), '-')"
                + " || ' clustered ' || i.indisclustered || ' replident ' || i.indisreplident || ' valid ' || i.indisvalid"
                + " FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid IN " + rels);
        query(c, lines, "SELECT 'constraint-meta ' || conrelid::regclass || ' '"
                + " || CASE WHEN contype = 'n' THEN 'not-null' ELSE conname || ' ' || pg_get_constraintdef(oid) END"
                + " || ' validated ' || convalidated || ' comment ' || coalesce(obj_description(oid, 'pg_constraint'), '-')"
                + " FROM pg_constraint WHERE conrelid IN " + rels + " AND (contype <> 'n' OR obj_description(oid, 'pg_constraint') IS NOT NULL)");
        query(c, lines, "SELECT 'table-meta ' || oid::regclass"
                + " || ' tablespace ' || coalesce((SELECT spcname FROM pg_tablespace t WHERE t.oid = reltablespace), '-')"
                + " || ' rls ' || relrowsecurity || ' force-rls ' || relforcerowsecurity"
                + " FROM pg_class WHERE oid IN " + rels);
        query(c, lines, "SELECT 'policy ' || polrelid::regclass || ' ' || polname || ' ' || polcmd::text || ' ' || polpermissive"
                + " || ' roles ' || polroles::regrole[]::text || ' using ' || coalesce(pg_get_expr(polqual, polrelid), '-')"
                + " || ' check ' || coalesce(pg_get_expr(polwithcheck, polrelid), '-')"
                + " FROM pg_policy WHERE polrelid IN " + rels);
        query(c, lines, "SELECT 'trigger-state ' || tgrelid::regclass || ' ' || tgname || ' ' || tgenabled::text"
                + " FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN " + rels);
        query(c, lines, "SELECT 'publication ' || p.pubname || ' ' || r.prrelid::regclass"
                + " FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid WHERE r.prrelid IN " + rels);
        // Name, kinds, columns as a set (the definition lists them in column order, which a retyped column changes),
        // expressions, statistics target, comment.
        query(c, lines, "SELECT 'statistics-object ' || stxrelid::regclass || ' ' || stxnamespace::regnamespace || '.' || stxname"
                + " || ' ' || stxkind::text || ' ' || coalesce((SELECT string_agg(attname, ',' ORDER BY attname) FROM pg_attribute"
                + " WHERE attrelid = stxrelid AND attnum = ANY (stxkeys)), '-') || ' ' || coalesce(pg_get_expr(stxexprs, stxrelid), '-')"
                + " || ' target ' || coalesce(stxstattarget::int, -1) || ' comment ' || coalesce(obj_description(oid, 'pg_statistic_ext'), '-')"
                + " FROM pg_statistic_ext WHERE stxrelid IN " + rels);
        query(c, lines, "SELECT 'sequence of ' || a.attname || ' ' || format_type(s.seqtypid, NULL) || ' min ' || s.seqmin"
                + " || ' max ' || s.seqmax || ' increment ' || s.seqincrement || ' last ' || coalesce(ps.last_value::text, '-')"
                + " FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
                + " JOIN pg_sequence s ON s.seqrelid = d.objid JOIN pg_class sc ON sc.oid = s.seqrelid"
                + " JOIN pg_namespace sn ON sn.oid = sc.relnamespace"
                + " LEFT JOIN pg_sequences ps ON ps.schemaname = sn.nspname AND ps.sequencename = sc.relname"
                + " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass"
                + " AND d.refobjid = '" + table + "'::regclass AND d.deptype IN ('a', 'i')");
        Collections.sort(lines);
        return lines;
    }

    /**
     * Which columns of the table and its partitions have statistics ({@code pg_stats}, not inherited), as
     * sorted lines: a rewrite must leave statistics wherever the blocking statement left them (compare with
     * containsAll: ANALYZE may add some where the blocking ALTER dropped them).
     */
    public static List<String> statistics(Connection c, String table) throws SQLException {
        List<String> lines = new ArrayList<>();
        query(c, lines, "SELECT 'stats ' || s.tablename || '.' || s.attname FROM pg_stats s"
                + " JOIN pg_class k ON k.relname = s.tablename JOIN pg_namespace n ON n.oid = k.relnamespace AND n.nspname = s.schemaname"
                + " WHERE NOT s.inherited AND k.oid IN (SELECT '" + table + "'::regclass UNION ALL"
                + " SELECT inhrelid FROM pg_inherits WHERE inhparent = '" + table + "'::regclass)");
        Collections.sort(lines);
        return lines;
    }

    /** One md5 per row over the columns in name order, sorted: equal lists mean equal multisets of rows. */
    public static List<String> rows(Connection c, String table) throws SQLException {
        List<String> cols = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT quote_ident(attname) FROM pg_attribute"
                + " WHERE attrelid = '" + table + "'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attname")) {
            while (rs.next()) {
                cols.add(rs.getString(1));
            }
        }
        List<String> rows = new ArrayList<>();
        query(c, rows, "SELECT md5(ROW(" + String.join(", ", cols) + ")::text) FROM " + table);
        Collections.sort(rows);
        return rows;
    }

    private static void query(Connection c, List<String> into, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                into.add(rs.getString(1));
            }
        }
    }
}
