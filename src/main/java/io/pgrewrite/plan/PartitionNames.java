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
     * Where the job's copy, capture function and log are, among the schemas they may be in: one of {@code schemas}
     * (the table's first), by the capture function that exists (or else the copy). One round trip.
     */
    static final String WHERE_RECORDED = """
            SELECT coalesce((SELECT min(f.o) FROM unnest(?::text[]) WITH ORDINALITY AS f(name, o) WHERE to_regproc(f.name) IS NOT NULL),
                            (SELECT min(r.o) FROM unnest(?::text[]) WITH ORDINALITY AS r(name, o) WHERE to_regclass(r.name) IS NOT NULL),
                            1)::int
            """;
    static final String SCHEMAS = "SELECT nspname::text FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'"
            + " ORDER BY nspname <> ? , nspname";

    /**
     * The names of what the job made for a partition it knows by name only (no partition of the table has that name now:
     * dropped, detached, renamed). A partition need not be in its table's schema, and its copy, capture function and
     * log are named after its own: the schema is the one where the capture function of that name exists, or else the
     * copy (the table's schema when neither does, or when the table's has them).
     */
    public static PartitionNames recorded(org.springframework.jdbc.core.JdbcTemplate jdbc, String partition, String parentSchema,
            String parent) {
        java.util.List<PartitionNames> candidates = jdbc.queryForList(SCHEMAS, String.class, parentSchema).stream()
                .map(s -> new PartitionNames(s, partition, parentSchema, parent)).toList();
        if (candidates.isEmpty()) {
            return new PartitionNames(parentSchema, partition, parentSchema, parent);
        }
        Integer i = jdbc.queryForObject(WHERE_RECORDED, Integer.class,
                candidates.stream().map(PartitionNames::qCaptureFunction).toArray(String[]::new),
                candidates.stream().map(PartitionNames::qRw).toArray(String[]::new));
        return candidates.get(i - 1);
    }

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
