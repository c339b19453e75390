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
