package io.pgrewrite.plan;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import io.pgrewrite.pg.Identifiers;

/**
 * The names of everything pgrewrite creates for one partition P. They are derived from P's name
 * alone, so that after a crash the catalog tells what exists: {@code P__rw} (the rewritten copy being
 * built), {@code P__old} (the original, swapped out, not yet dropped), and in schema {@code pgrewrite}
 * the change log and its trigger function.
 */
public record PartitionNames(String schema, String partition, String parentSchema, String parent) {

    public static final String TOOL_SCHEMA = "pgrewrite";
    public static final String CAPTURE_TRIGGER = "pgrewrite_capture";
    public static final String BOUND_CHECK = "pgrewrite_bound";

    public static PartitionNames of(Table table, Partition p) {
        return new PartitionNames(p.schema(), p.name(), table.schema(), table.name());
    }

    /**
     * The schema of a partition the job knows by name only: the schema of the table it copied (partition_state's
     * source_relid: a partition detached or renamed since, or swapped, whose original is P__old), exact; else (dropped,
     * or not yet recorded) the first of {@code schemas} (the table's first) in which no relation of the partition's name
     * exists, as a dropped partition's does not, and the job's capture function (or else copy) of that name does, so
     * that another table's live partition of the same name, and its own job's objects, are never taken for this one's;
     * else the table's. One round trip. (job, partition, schemas, the candidates' partitions, capture functions, copies,
     * the table's schema)
     */
    static final String WHERE_RECORDED = """
            SELECT coalesce(
                     (SELECT n.nspname::text FROM pgrewrite.partition_state s JOIN pg_class c ON c.oid = s.source_relid
                        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE s.job_key = ? AND s.partition_name = ?),
                     (SELECT x.nsp FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS x(nsp, rel, fn, rw, o)
                       WHERE to_regclass(x.rel) IS NULL AND to_regproc(x.fn) IS NOT NULL ORDER BY x.o LIMIT 1),
                     (SELECT x.nsp FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS x(nsp, rel, fn, rw, o)
                       WHERE to_regclass(x.rel) IS NULL AND to_regclass(x.rw) IS NOT NULL ORDER BY x.o LIMIT 1),
                     ?)
            """;
    static final String SCHEMAS = "SELECT nspname::text FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'"
            + " AND nspname <> '" + TOOL_SCHEMA + "' ORDER BY nspname <> ? , nspname";

    /**
     * The names of what the job made for a partition it knows by name only (no partition of the table has that name now:
     * dropped, detached, renamed). A partition need not be in its table's schema, and its copy, capture function and
     * log are named after its own ({@link #WHERE_RECORDED} says which).
     */
    public static PartitionNames recorded(org.springframework.jdbc.core.JdbcTemplate jdbc, String jobKey, String partition,
            String parentSchema, String parent) {
        java.util.List<PartitionNames> candidates = jdbc.queryForList(SCHEMAS, String.class, parentSchema).stream()
                .map(s -> new PartitionNames(s, partition, parentSchema, parent)).toList();
        String[] schemas = candidates.stream().map(PartitionNames::schema).toArray(String[]::new);
        String[] relations = candidates.stream().map(PartitionNames::qPartition).toArray(String[]::new);
        String[] functions = candidates.stream().map(PartitionNames::qCaptureFunction).toArray(String[]::new);
        String[] copies = candidates.stream().map(PartitionNames::qRw).toArray(String[]::new);
        String schema = jdbc.queryForObject(WHERE_RECORDED, String.class, jobKey, partition, schemas, relations, functions, copies,
                schemas, relations, functions, copies, parentSchema);
        return new PartitionNames(schema, partition, parentSchema, parent);
    }

    /**
     * The job's P__old of a partition it swapped, wherever it is now: the table the job copied (partition_state's
     * source_relid), which the swap detached and renamed to P__old, while it exists as a table of no parent. A table that
     * merely bears the name P__old is not the job's (another job's kept P__old, anyone's table): only this identity says
     * so. Before the swap source_relid is P itself, and a partition detached by someone else (gone) is a table of no
     * parent too, so only a swapped or retired partition's row is read (the states of job.PartitionState). (job, partition)
     */
    static final String SWAPPED_OUT = """
            SELECT n.nspname::text, c.relname::text, c.oid::bigint FROM pgrewrite.partition_state s JOIN pg_class c ON c.oid = s.source_relid
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE s.job_key = ? AND s.partition_name = ? AND s.state IN ('swapped', 'retired')
               AND c.relkind = 'r' AND NOT c.relispartition
            """;

    /**
     * The job's P__old as {@link #SWAPPED_OUT} finds it: {@code qualified}, quoted as {@link #qOld()} (equal to it unless
     * someone renamed it, or moved it to another schema, since the swap), and its oid, which is what makes it the job's: a
     * DDL by that name checks, under its lock, that the name is still this table ({@link #STILL_SWAPPED_OUT}).
     */
    public record SwappedOut(String qualified, long oid) {
    }

    /**
     * {@link #SWAPPED_OUT}, or null: not swapped, retired with {@code retire: drop}, or dropped since.
     */
    public static SwappedOut swappedOut(org.springframework.jdbc.core.JdbcTemplate jdbc, String jobKey, String partition) {
        return jdbc.query(SWAPPED_OUT, (rs, i) -> new SwappedOut(Identifiers.qualified(rs.getString(1), rs.getString(2)), rs.getLong(3)),
                jobKey, partition).stream().findFirst().orElse(null);
    }

    /**
     * Whether the name is still the table of that oid, a table of no parent: run under a lock taken on the name (LOCK TABLE,
     * which resolves the name again after its wait), right before a DDL by that name. Read before the lock, the answer can
     * be stale by the time the lock is granted: a DBA's DETACH of a partition and ATTACH of the old table in its place, or a
     * rename and another table of that name, would have the DDL drop a live partition or someone else's table. (name, oid)
     */
    public static final String STILL_SWAPPED_OUT = """
            SELECT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = to_regclass(?) AND c.oid = ?::oid AND c.relkind = 'r'
                                                      AND NOT c.relispartition)
            """;

    public String rw() {
        String name = partition + "__rw";
        return Identifiers.fits(name) ? name : "pgrw_" + hash() + "__rw";
    }

    public String old() {
        return partition + "__old";
    }

    public String qPartition() {
        return Identifiers.qualified(schema, partition);
    }

    public String qRw() {
        return Identifiers.qualified(schema, rw());
    }

    public String qOld() {
        return Identifiers.qualified(schema, old());
    }

    public String qParent() {
        return Identifiers.qualified(parentSchema, parent);
    }

    /** The change log of P: the keys of rows written while P is copied. */
    public String qLog() {
        return Identifiers.qualified(TOOL_SCHEMA, "log_" + hash());
    }

    public String qCaptureFunction() {
        return Identifiers.qualified(TOOL_SCHEMA, "capture_" + hash());
    }

    /** A short stable hash of the partition's qualified name: keeps derived names within 63 bytes. */
    public String hash() {
        try {
            byte[] d = MessageDigest.getInstance("MD5").digest((schema + "." + partition).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
