package io.pgrewrite.swap;

import java.util.List;
import java.util.function.Supplier;

import io.pgrewrite.pg.RoundTrip;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;

/**
 * What a partition carries besides its rows, read from the catalog so the rewritten copy can carry
 * the same: indexes (and the constraints they back), local CHECKs, triggers, grants, owner, comment,
 * replica identity.
 */
final class PartitionCatalog {

    /**
     * {@code definition_tail} is pg_get_indexdef from " USING " ({@link io.pgrewrite.pg.IndexDefinitions}): the part that does not name the index or table
     * (it never names the tablespace: {@link io.pgrewrite.pg.IndexDefinitions#withTablespace} puts it in). The comments come as literals.
     */
    static final String INDEXES = ("""
            SELECT i.indexrelid AS oid, ic.relname AS name, i.indisunique,
                   %s AS definition_tail,
                   coalesce(con.contype::text, '') AS contype, con.conname,
                   coalesce(t.spcname, '') AS tablespace, pg_get_expr(i.indpred, i.indrelid) AS predicate,
                   coalesce(con.condeferrable, false) AS deferrable, coalesce(con.condeferred, false) AS deferred,
                   i.indisclustered, quote_literal(obj_description(i.indexrelid, 'pg_class')) AS comment,
                   quote_literal(obj_description(con.oid, 'pg_constraint')) AS constraint_comment,
                   (ic.relpages::bigint + hc.relpages) AS pages
              FROM pg_index i
              JOIN pg_class ic ON ic.oid = i.indexrelid
              JOIN pg_class hc ON hc.oid = i.indrelid
              LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
              LEFT JOIN pg_tablespace t ON t.oid = ic.reltablespace
             WHERE i.indrelid = to_regclass(?)
             ORDER BY ic.relname
            """).formatted(io.pgrewrite.pg.IndexDefinitions.tail("i.indexrelid"));

    /** CHECK constraints P has of its own (inherited ones come with LIKE parent). */
    static final String LOCAL_CHECKS = """
            SELECT conname, pg_get_constraintdef(oid) AS def
              FROM pg_constraint
             WHERE conrelid = to_regclass(?) AND contype = 'c' AND coninhcount = 0 AND conname <> ?
            """;

    /** Triggers P has of its own: not cloned from the parent, not internal, not ours. */
    static final String LOCAL_TRIGGERS = """
            SELECT tgname, pg_get_triggerdef(oid) AS def
              FROM pg_trigger
             WHERE tgrelid = to_regclass(?) AND NOT tgisinternal AND tgparentid = 0 AND tgname <> ?
            """;

    static final String GRANTS = """
            SELECT a.privilege_type, a.is_grantable,
                   CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee
              FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
             WHERE c.oid = to_regclass(?) AND a.grantee <> c.relowner
            """;

    /** The comment as a literal; {@code other_owner}: P is not owned by the role pgrewrite runs as (the copy is). */
    static final String TABLE_FACTS = """
            SELECT pg_get_userbyid(c.relowner) AS owner, quote_literal(obj_description(c.oid, 'pg_class')) AS comment,
                   pg_get_userbyid(c.relowner) <> current_user AS other_owner, c.relreplident::text AS replident,
                   (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                     WHERE i.indrelid = c.oid AND i.indisreplident) AS replident_index
              FROM pg_class c WHERE c.oid = to_regclass(?)
            """;

    /**
     * @param definitionTail what follows {@code CREATE INDEX name ON table}, P's tablespace included
     * @param deferrable what follows {@code ADD CONSTRAINT … USING INDEX …}: "" or " DEFERRABLE [INITIALLY DEFERRED]"
     *        (ATTACH would otherwise make a DEFERRABLE constraint of the parent NOT DEFERRABLE on the partition)
     * @param comment the index's comment as a literal, or null; {@code constraintComment} that of its constraint
     * @param pages what its build reads and writes: the table's pages and the index's, as their last VACUUM or ANALYZE
     *        counted them (catalog only: no lock), to share the builds between two connections
     */
    record Index(long oid, String name, boolean unique, String definitionTail, String contype, String conname,
            String deferrable, boolean clustered, String comment, String constraintComment, long pages) {
        /** The temporary name of its copy on {@code P__rw}, unique per source index. */
        String rwName() {
            return "pgrw_" + oid;
        }

        String oldName() {
            return "pgrwold_" + oid;
        }
    }

    record Check(String name, String definition) {
    }

    record Trigger(String name, String definition) {
    }

    record Grant(String privilege, boolean grantable, String grantee) {
    }

    /** @param comment as a literal, or null */
    record Facts(String owner, String comment, boolean otherOwner, char replicaIdentity, String replicaIdentityIndex) {
    }

    private final JdbcTemplate jdbc;

    PartitionCatalog(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    static final RowMapper<Index> INDEX = (rs, i) -> new Index(rs.getLong("oid"), rs.getString("name"), rs.getBoolean("indisunique"),
            io.pgrewrite.pg.IndexDefinitions.withTablespace(io.pgrewrite.pg.IndexDefinitions.require(rs.getString("definition_tail"), rs.getString("name")),
                    rs.getString("predicate"), rs.getString("tablespace")),
            rs.getString("contype"), rs.getString("conname"),
            rs.getBoolean("deferrable") ? rs.getBoolean("deferred") ? " DEFERRABLE INITIALLY DEFERRED" : " DEFERRABLE" : "",
            rs.getBoolean("indisclustered"), rs.getString("comment"), rs.getString("constraint_comment"),
            rs.getLong("pages"));
    static final RowMapper<Trigger> TRIGGER = (rs, i) -> new Trigger(rs.getString(1), rs.getString(2));
    static final RowMapper<Grant> GRANT = (rs, i) -> new Grant(rs.getString(1), rs.getBoolean(2), rs.getString(3));
    static final RowMapper<Facts> FACTS = (rs, i) -> new Facts(rs.getString("owner"), rs.getString("comment"),
            rs.getBoolean("other_owner"), rs.getString("replident").charAt(0), rs.getString("replident_index"));

    List<Index> indexes(String qualified) {
        return jdbc.query(INDEXES, INDEX, qualified);
    }

    /** The same reads, registered to go in one round trip with others (see {@link RoundTrip}). */
    static Supplier<List<Index>> indexes(RoundTrip reads, String qualified) {
        return reads.list(INDEXES, INDEX, qualified);
    }

    static Supplier<List<Trigger>> localTriggers(RoundTrip reads, String qualified, String except) {
        return reads.list(LOCAL_TRIGGERS, TRIGGER, qualified, except);
    }

    static Supplier<List<Grant>> grants(RoundTrip reads, String qualified) {
        return reads.list(GRANTS, GRANT, qualified);
    }

    static Supplier<Facts> facts(RoundTrip reads, String qualified) {
        Supplier<List<Facts>> rows = reads.list(TABLE_FACTS, FACTS, qualified);
        return () -> rows.get().get(0);
    }

    List<Check> localChecks(String qualified, String except) {
        return jdbc.query(LOCAL_CHECKS, (rs, i) -> new Check(rs.getString(1), rs.getString(2)), qualified, except);
    }

    List<Trigger> localTriggers(String qualified, String except) {
        return jdbc.query(LOCAL_TRIGGERS, TRIGGER, qualified, except);
    }

    List<Grant> grants(String qualified) {
        return jdbc.query(GRANTS, GRANT, qualified);
    }

    Facts facts(String qualified) {
        return jdbc.queryForObject(TABLE_FACTS, FACTS, qualified);
    }
}
