package io.pgrewrite.expand;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.plan.Table;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * What a blocking {@code ALTER COLUMN … TYPE} keeps of the column and contract must move from the old
 * column to the new one before dropping the old: its comment, its column-level grants, its statistics
 * target and its attoptions (n_distinct), on the parent and on every partition (each may have its own).
 * Read and applied inside contract's transaction, which holds the parent and every partition in ACCESS
 * EXCLUSIVE mode already: catalog work, and what it reads cannot change before the commit.
 */
final class ColumnFacts {

    /** Per table (the parent first, then its partitions) the column's facts; comments as literals. Catalog only. */
    static final String FACTS = """
            SELECT n.nspname, c.relname, c.oid = ?::oid AS is_parent,
                   quote_literal(col_description(a.attrelid, a.attnum)) AS comment, a.attoptions::text[] AS options,
                   CASE WHEN a.attstattarget::int >= 0 THEN a.attstattarget::int END AS stattarget
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE a.attname = ? AND NOT a.attisdropped
               AND a.attrelid IN (SELECT ?::oid UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = ?::oid)
             ORDER BY c.oid <> ?::oid, c.relname
            """;

    /** Column-level grants of the column on the parent and its partitions (the owner's own rights are implicit). */
    static final String GRANTS = """
            SELECT n.nspname, c.relname, x.privilege_type, x.is_grantable,
                   CASE WHEN x.grantee = 0 THEN NULL ELSE pg_get_userbyid(x.grantee) END AS grantee
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             CROSS JOIN LATERAL aclexplode(a.attacl) x
             WHERE a.attname = ? AND NOT a.attisdropped AND x.grantee <> c.relowner
               AND a.attrelid IN (SELECT ?::oid UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = ?::oid)
             ORDER BY 1, 2, 3, 5
            """;

    /**
     * Extended statistics, on the parent or a partition, that use the column (in their column list or an
     * expression; PostgreSQL records both in pg_depend): DROP COLUMN drops such an object (or, when three
     * columns or more remain, keeps it without the column), where a blocking ALTER rebuilds it on the retyped
     * column from its definition: name, kinds and comment kept, statistics target back to the default
     * (seen on PostgreSQL 14, 15, 17 and 18). Catalog only. The definition
     * is the server's own text, every name quoted; once the converted column is renamed into place it names
     * that column.
     */
    static final String EXTENDED_STATISTICS = """
            SELECT quote_ident(n.nspname) || '.' || quote_ident(s.stxname) AS name, pg_get_statisticsobjdef(s.oid) AS def,
                   quote_literal(obj_description(s.oid, 'pg_statistic_ext')) AS comment
              FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
             WHERE s.oid IN (SELECT d.objid FROM pg_depend d
                               JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                              WHERE d.classid = 'pg_statistic_ext'::regclass AND d.refclassid = 'pg_class'::regclass
                                AND a.attname = ? AND NOT a.attisdropped
                                AND d.refobjid IN (SELECT ?::oid UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = ?::oid))
             ORDER BY 1
            """;

    /** Inside contract's transaction (ACCESS EXCLUSIVE on the table held): catalog only. */
    static final String DROP_STATISTICS = "DROP STATISTICS IF EXISTS %s";
    static final String STATISTICS_COMMENT = "COMMENT ON STATISTICS %s IS %s";

    static final String COMMENT = "COMMENT ON COLUMN %s.%s IS %s";
    static final String GRANT = "GRANT %s (%s) ON TABLE %s TO %s%s";
    /** On the parent without ONLY it recurses to every partition: one statement for the usual case. */
    static final String SET_STATISTICS = "ALTER TABLE %s%s ALTER COLUMN %s SET STATISTICS %d";
    static final String SET_OPTIONS = "ALTER TABLE %s%s ALTER COLUMN %s SET (%s)";

    private static final java.util.Set<String> COLUMN_PRIVILEGES = java.util.Set.of("SELECT", "INSERT", "UPDATE", "REFERENCES");

    private record Fact(String qualified, boolean parent, String comment, List<String> options, Integer target) {
    }

    /** Extended statistics to rebuild: {@code drops} before the old column is dropped, {@code creates} after the rename. */
    record Rebuild(List<String> drops, List<String> creates) {
    }

    private ColumnFacts() {
    }

    /**
     * The extended statistics that use {@code column} now, dropped before the old column goes (so none is
     * left behind narrowed to the other columns) and created again from their definition once the converted
     * column has its name, owned by pgrewrite's role (the table's owner): as the blocking ALTER rebuilds them.
     * Their sampled data is gone both ways until the next ANALYZE.
     */
    static Rebuild extendedStatistics(JdbcTemplate jdbc, Table table, String column) {
        long oid = table.oid();
        List<String> drops = new ArrayList<>();
        List<String> creates = new ArrayList<>();
        jdbc.query(EXTENDED_STATISTICS, (org.springframework.jdbc.core.RowCallbackHandler) rs -> {
            String name = rs.getString(1);
            drops.add(String.format(DROP_STATISTICS, name));
            creates.add(rs.getString(2));
            if (rs.getString(3) != null) {
                creates.add(String.format(STATISTICS_COMMENT, name, rs.getString(3)));
            }
        }, column, oid, oid);
        return new Rebuild(drops, creates);
    }

    /**
     * The statements that give {@code column} (the converted column, once renamed into place) what
     * {@code oldColumn} has now. Run them after the rename; read before the old column is dropped.
     */
    static List<String> carry(JdbcTemplate jdbc, Table table, String oldColumn, String column) {
        long oid = table.oid();
        List<Fact> facts = jdbc.query(FACTS, (rs, i) -> new Fact(Identifiers.qualified(rs.getString(1), rs.getString(2)),
                rs.getBoolean(3), rs.getString(4), rs.getArray(5) == null ? null : List.of((String[]) rs.getArray(5).getArray()),
                (Integer) rs.getObject(6)), oid, oldColumn, oid, oid, oid);
        String col = Identifiers.quote(column);
        List<String> ddl = new ArrayList<>();
        Integer parentTarget = facts.stream().filter(Fact::parent).map(Fact::target).filter(Objects::nonNull).findFirst().orElse(null);
        for (Fact f : facts) {
            if (f.comment() != null) {
                ddl.add(String.format(COMMENT, f.qualified(), col, f.comment()));
            }
            if (f.options() != null && !f.options().isEmpty()) {
                ddl.add(String.format(SET_OPTIONS, f.parent() ? "ONLY " : "", f.qualified(), col, io.pgrewrite.pg.ColumnOptions.setList(f.options())));
            }
            if (f.parent() && parentTarget != null) {
                ddl.add(String.format(SET_STATISTICS, "", f.qualified(), col, parentTarget));
            } else if (!f.parent() && !Objects.equals(f.target(), parentTarget)) {
                ddl.add(String.format(SET_STATISTICS, "", f.qualified(), col, f.target() == null ? -1 : f.target()));
            }
        }
        jdbc.query(GRANTS, (org.springframework.jdbc.core.RowCallbackHandler) rs -> {
            String privilege = rs.getString(3);
            if (!COLUMN_PRIVILEGES.contains(privilege)) {
                throw new IllegalStateException("unexpected column privilege " + privilege + " on " + rs.getString(2) + "." + oldColumn);
            }
            String grantee = rs.getString(5);
            ddl.add(String.format(GRANT, privilege, col, Identifiers.qualified(rs.getString(1), rs.getString(2)),
                    grantee == null ? "PUBLIC" : Identifiers.quote(grantee), rs.getBoolean(4) ? " WITH GRANT OPTION" : ""));
        }, oldColumn, oid, oid);
        return ddl;
    }
}
