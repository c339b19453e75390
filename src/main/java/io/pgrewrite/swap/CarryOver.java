package io.pgrewrite.swap;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.pg.RoundTrip;
import io.pgrewrite.plan.PartitionNames;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * What P carries besides its rows, indexes, constraints, triggers, grants, owner and comment, which a
 * blocking ALTER keeps and the swap must put on the new P: trigger enable states, publication membership,
 * row-level security and policies, per-column comments, column grants, statistics targets and attoptions,
 * comments on indexes and constraints, the CLUSTER mark, extended statistics. Read before the swap's
 * lock ({@link #read}); the statements ({@link Facts#statements}) run in the swap's transaction after
 * ATTACH, on tables it already holds in ACCESS EXCLUSIVE mode, so they wait for nothing (except ALTER
 * PUBLICATION, which also locks the publication: bounded by the same lock_timeout), and the new P is
 * never visible without them: no change made to it after the commit escapes a publication, a policy or a
 * disabled trigger. Catalog work only: milliseconds. (Tablespaces: {@code CopyTarget} creates
 * {@code P__rw} in P's tablespace, {@link PartitionCatalog#indexes} builds each index in its own.)
 */
final class CarryOver {

    static final String SERVER_VERSION = "SELECT current_setting('server_version_num')::int";

    /**
     * P's triggers with their enable state (O origin, D disabled, R replica, A always) and, for one cloned
     * from the parent, the parent's: ATTACH clones the parent's trigger onto the new P in the parent's state
     * (local ones come back from pg_get_triggerdef enabled), so a partition-level DISABLE is carried here.
     */
    static final String TRIGGER_STATES = """
            SELECT t.tgname, t.tgenabled::text AS state, t.tgparentid <> 0 AS cloned, coalesce(pt.tgenabled::text, 'O') AS parent_state
              FROM pg_trigger t LEFT JOIN pg_trigger pt ON pt.oid = t.tgparentid
             WHERE t.tgrelid = to_regclass(?) AND NOT t.tgisinternal AND t.tgname <> ?
             ORDER BY t.tgname
            """;

    /** Publications P itself is a member of (not through its parent or FOR ALL TABLES), with row filter and columns (15+). */
    static final String PUBLICATIONS = """
            SELECT p.pubname, pg_get_expr(r.prqual, r.prrelid) AS row_filter,
                   (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
                     WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs)) AS columns
              FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
             WHERE r.prrelid = to_regclass(?) ORDER BY p.pubname
            """;
    static final String PUBLICATIONS_14 = """
            SELECT p.pubname, NULL AS row_filter, NULL::text[] AS columns
              FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
             WHERE r.prrelid = to_regclass(?) ORDER BY p.pubname
            """;

    static final String ROW_SECURITY = "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = to_regclass(?)";

    /** Roles as names (0 is PUBLIC), expressions as pg_get_expr prints them. */
    static final String POLICIES = """
            SELECT polname, polcmd::text AS cmd, polpermissive,
                   ARRAY(SELECT CASE WHEN r = 0 THEN '' ELSE pg_get_userbyid(r)::text END FROM unnest(polroles) r ORDER BY 1) AS roles,
                   pg_get_expr(polqual, polrelid) AS qual, pg_get_expr(polwithcheck, polrelid) AS with_check
              FROM pg_policy WHERE polrelid = to_regclass(?) ORDER BY polname
            """;

    /** Per column of P: its comment (a literal), attoptions and statistics target (NULL or -1: the default). */
    static final String COLUMNS = """
            SELECT attname, quote_literal(col_description(attrelid, attnum)) AS comment, attoptions::text[] AS options,
                   CASE WHEN attstattarget::int >= 0 THEN attstattarget::int END AS stattarget
              FROM pg_attribute
             WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped
               AND (col_description(attrelid, attnum) IS NOT NULL OR attoptions IS NOT NULL OR attstattarget::int >= 0)
             ORDER BY attnum
            """;

    /** Column-level grants on P (the owner's own rights are implicit). */
    static final String COLUMN_GRANTS = """
            SELECT a.attname, x.privilege_type, x.is_grantable,
                   CASE WHEN x.grantee = 0 THEN NULL ELSE pg_get_userbyid(x.grantee) END AS grantee
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid CROSS JOIN LATERAL aclexplode(a.attacl) x
             WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped AND x.grantee <> c.relowner
             ORDER BY 1, 2, 4
            """;

    /**
     * Comments on P's CHECK constraints and foreign keys: both keep their names on the copy (CopyTarget, ForeignKeyCopy;
     * index-backed ones come with the indexes).
     */
    static final String CHECK_COMMENTS = """
            SELECT conname, quote_literal(obj_description(oid, 'pg_constraint')) AS comment
              FROM pg_constraint
             WHERE conrelid = to_regclass(?) AND contype IN ('c', 'f') AND conname <> ? AND obj_description(oid, 'pg_constraint') IS NOT NULL
            """;

    /** Extended statistics on P (with their comments, as literals); their names are unique per schema, so the old object is renamed out of the way. */
    static final String STATISTICS = """
            SELECT s.oid, n.nspname, s.stxname, pg_get_statisticsobjdef(s.oid) AS def,
                   CASE WHEN s.stxstattarget::int >= 0 THEN s.stxstattarget::int END AS stattarget,
                   quote_literal(obj_description(s.oid, 'pg_statistic_ext')) AS comment
              FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
             WHERE s.stxrelid = to_regclass(?) ORDER BY s.stxname
            """;

    static final String SET_TRIGGER_STATE = "ALTER TABLE %s %s TRIGGER %s";
    /** SHARE UPDATE EXCLUSIVE on the new P (held already) and a lock on the publication, bounded by lock_timeout. */
    static final String ADD_TO_PUBLICATION = "ALTER PUBLICATION %s ADD TABLE %s%s%s";
    static final String ROW_LEVEL_SECURITY = "ALTER TABLE %s %s ROW LEVEL SECURITY";
    static final String CREATE_POLICY = "CREATE POLICY %s ON %s AS %s FOR %s TO %s%s%s";
    static final String COLUMN_COMMENT = "COMMENT ON COLUMN %s.%s IS %s";
    static final String COLUMN_GRANT = "GRANT %s (%s) ON TABLE %s TO %s%s";
    static final String COLUMN_OPTIONS = "ALTER TABLE %s ALTER COLUMN %s SET (%s)";
    static final String COLUMN_STATISTICS = "ALTER TABLE %s ALTER COLUMN %s SET STATISTICS %d";
    static final String CLUSTER_ON = "ALTER TABLE %s CLUSTER ON %s";
    static final String INDEX_COMMENT = "COMMENT ON INDEX %s IS %s";
    static final String CONSTRAINT_COMMENT = "COMMENT ON CONSTRAINT %s ON %s IS %s";
    static final String RENAME_STATISTICS = "ALTER STATISTICS %s RENAME TO %s";
    static final String STATISTICS_TARGET = "ALTER STATISTICS %s SET STATISTICS %d";
    static final String STATISTICS_COMMENT = "COMMENT ON STATISTICS %s IS %s";

    private static final java.util.Set<String> COLUMN_PRIVILEGES = java.util.Set.of("SELECT", "INSERT", "UPDATE", "REFERENCES");

    record TriggerState(String name, String state, boolean cloned, String parentState) {
    }

    record Publication(String name, String rowFilter, List<String> columns) {
    }

    record Policy(String name, String cmd, boolean permissive, List<String> roles, String qual, String withCheck) {
    }

    record Column(String name, String comment, List<String> options, Integer statisticsTarget) {
    }

    record ColumnGrant(String column, String privilege, boolean grantable, String grantee) {
    }

    record Named(String name, String comment) {
    }

    record Statistics(long oid, String schema, String name, String definition, Integer target, String comment) {
    }

    /** Everything read from P before the lock. */
    record Facts(List<TriggerState> triggers, List<Publication> publications, boolean rowSecurity, boolean forceRowSecurity,
            List<Policy> policies, List<Column> columns, List<ColumnGrant> columnGrants, List<PartitionCatalog.Index> indexes,
            List<Named> checkComments, List<Statistics> statistics) {

        /** The statements that give the new P (the copy, renamed and attached) what P had; after ATTACH. */
        List<String> statements(PartitionNames n) {
            String p = n.qPartition();
            List<String> ddl = new ArrayList<>();
            for (TriggerState t : triggers) {
                boolean differs = t.cloned() ? !t.state().equals("O") || !t.parentState().equals("O") : !t.state().equals("O");
                if (differs) {
                    ddl.add(String.format(SET_TRIGGER_STATE, p, switch (t.state()) {
                        case "D" -> "DISABLE";
                        case "R" -> "ENABLE REPLICA";
                        case "A" -> "ENABLE ALWAYS";
                        default -> "ENABLE";
                    }, Identifiers.quote(t.name())));
                }
            }
            for (Publication pub : publications) {
                ddl.add(String.format(ADD_TO_PUBLICATION, Identifiers.quote(pub.name()), p,
                        pub.columns() == null || pub.columns().isEmpty() ? "" : " (" + Identifiers.list(pub.columns()) + ")",
                        pub.rowFilter() == null ? "" : " WHERE (" + pub.rowFilter() + ")"));
            }
            if (rowSecurity) {
                ddl.add(String.format(ROW_LEVEL_SECURITY, p, "ENABLE"));
            }
            if (forceRowSecurity) {
                ddl.add(String.format(ROW_LEVEL_SECURITY, p, "FORCE"));
            }
            for (Policy pol : policies) {
                ddl.add(String.format(CREATE_POLICY, Identifiers.quote(pol.name()), p, pol.permissive() ? "PERMISSIVE" : "RESTRICTIVE",
                        switch (pol.cmd()) {
                            case "r" -> "SELECT";
                            case "a" -> "INSERT";
                            case "w" -> "UPDATE";
                            case "d" -> "DELETE";
                            default -> "ALL";
                        },
                        String.join(", ", pol.roles().stream().map(r -> r.isEmpty() ? "PUBLIC" : Identifiers.quote(r)).toList()),
                        pol.qual() == null ? "" : " USING (" + pol.qual() + ")",
                        pol.withCheck() == null ? "" : " WITH CHECK (" + pol.withCheck() + ")"));
            }
            for (Column c : columns) {
                String col = Identifiers.quote(c.name());
                if (c.comment() != null) {
                    ddl.add(String.format(COLUMN_COMMENT, p, col, c.comment()));
                }
                if (c.options() != null && !c.options().isEmpty()) {
                    ddl.add(String.format(COLUMN_OPTIONS, p, col, io.pgrewrite.pg.ColumnOptions.setList(c.options())));
                }
                if (c.statisticsTarget() != null) {
                    ddl.add(String.format(COLUMN_STATISTICS, p, col, c.statisticsTarget()));
                }
            }
            for (ColumnGrant g : columnGrants) {
                if (!COLUMN_PRIVILEGES.contains(g.privilege())) {
                    throw new IllegalStateException("unexpected column privilege " + g.privilege() + " on " + n.partition());
                }
                ddl.add(String.format(COLUMN_GRANT, g.privilege(), Identifiers.quote(g.column()), p,
                        g.grantee() == null ? "PUBLIC" : Identifiers.quote(g.grantee()), g.grantable() ? " WITH GRANT OPTION" : ""));
            }
            // After the renames each index (and the constraint it backs) has P's index name again.
            for (PartitionCatalog.Index idx : indexes) {
                if (idx.clustered()) {
                    ddl.add(String.format(CLUSTER_ON, p, Identifiers.quote(idx.name())));
                }
                if (idx.comment() != null) {
                    ddl.add(String.format(INDEX_COMMENT, Identifiers.qualified(n.schema(), idx.name()), idx.comment()));
                }
                if (idx.constraintComment() != null) {
                    ddl.add(String.format(CONSTRAINT_COMMENT, Identifiers.quote(idx.name()), p, idx.constraintComment()));
                }
            }
            for (Named c : checkComments) {
                ddl.add(String.format(CONSTRAINT_COMMENT, Identifiers.quote(c.name()), p, c.comment()));
            }
            for (Statistics s : statistics) {
                // pg_get_statisticsobjdef names P by name: after the renames, the new P.
                ddl.add(String.format(RENAME_STATISTICS, Identifiers.qualified(s.schema(), s.name()), Identifiers.quote("pgrwold_" + s.oid())));
                ddl.add(s.definition());
                if (s.target() != null) {
                    ddl.add(String.format(STATISTICS_TARGET, Identifiers.qualified(s.schema(), s.name()), s.target()));
                }
                if (s.comment() != null) {
                    ddl.add(String.format(STATISTICS_COMMENT, Identifiers.qualified(s.schema(), s.name()), s.comment()));
                }
            }
            return ddl;
        }
    }

    private final JdbcTemplate jdbc;
    /** server_version_num, read once: it picks the publication query. */
    private Integer version;

    CarryOver(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * Catalog reads of P, no lock beyond AccessShare for the moment of each read: registered on {@code reads}, so
     * that they go to the server in one round trip with the swap's other reads; the facts are there after
     * {@link RoundTrip#run}. Every kind is read every time, whether the table had any of it before or not: an object
     * added to P while the job ran is carried like one it always had.
     */
    Supplier<Facts> read(RoundTrip reads, String partition, Supplier<List<PartitionCatalog.Index>> indexes) {
        if (version == null) {
            version = jdbc.queryForObject(SERVER_VERSION, Integer.class);
        }
        Supplier<List<TriggerState>> triggers = reads.list(TRIGGER_STATES, (rs, i) -> new TriggerState(rs.getString(1), rs.getString(2),
                rs.getBoolean(3), rs.getString(4)), partition, PartitionNames.CAPTURE_TRIGGER);
        Supplier<List<Publication>> pubs = reads.list(version >= 150000 ? PUBLICATIONS : PUBLICATIONS_14, (rs, i) -> new Publication(
                rs.getString(1), rs.getString(2), strings(rs.getArray(3))), partition);
        Supplier<List<boolean[]>> rls = reads.list(ROW_SECURITY, (rs, i) -> new boolean[] {rs.getBoolean(1), rs.getBoolean(2)}, partition);
        Supplier<List<Policy>> policies = reads.list(POLICIES, (rs, i) -> new Policy(rs.getString(1), rs.getString(2), rs.getBoolean(3),
                strings(rs.getArray(4)), rs.getString(5), rs.getString(6)), partition);
        Supplier<List<Column>> columns = reads.list(COLUMNS, (rs, i) -> new Column(rs.getString(1), rs.getString(2),
                strings(rs.getArray(3)), (Integer) rs.getObject(4)), partition);
        Supplier<List<ColumnGrant>> grants = reads.list(COLUMN_GRANTS, (rs, i) -> new ColumnGrant(rs.getString(1), rs.getString(2),
                rs.getBoolean(3), rs.getString(4)), partition);
        Supplier<List<Named>> checks = reads.list(CHECK_COMMENTS, (rs, i) -> new Named(rs.getString(1), rs.getString(2)), partition,
                PartitionNames.BOUND_CHECK);
        Supplier<List<Statistics>> stats = reads.list(STATISTICS, (rs, i) -> new Statistics(rs.getLong(1), rs.getString(2),
                rs.getString(3), rs.getString(4), (Integer) rs.getObject(5), rs.getString(6)), partition);
        return () -> new Facts(triggers.get(), pubs.get(), rls.get().get(0)[0], rls.get().get(0)[1], policies.get(), columns.get(),
                grants.get(), indexes.get(), checks.get(), stats.get());
    }

    private static List<String> strings(java.sql.Array a) throws java.sql.SQLException {
        return a == null ? null : List.of((String[]) a.getArray());
    }
}
