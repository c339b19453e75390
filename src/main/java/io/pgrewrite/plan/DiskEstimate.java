package io.pgrewrite.plan;

import io.pgrewrite.definition.JobDefinition;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * How much extra disk a partition's rewrite holds at most, for the disk budget: its copy (as large as P,
 * or larger when the copy carries a new column: {@code add-column}, and {@code alter-column-type}, whose
 * copy carries the old column and its shadow until contract) plus its change log.
 * <ul>
 * <li>The wider copy: P's heap × (old row width + the new column's width) / old row width, the old width
 *     being heap bytes per row from the statistics and the new one the type's length (32 bytes for a
 *     variable-length type: a guess, on the generous side for hashes and codes). Indexes do not grow.</li>
 * <li>The change log: one row (key, sequence, ~50 bytes with its index entry) per write to P during its
 *     rewrite. How many that is depends on the application, not on P; we allow 5 % of P's heap, which
 *     covers an old day (no writes, nothing logged) and a busy today alike, and say so in jobs/README.md.</li>
 * </ul>
 */
public final class DiskEstimate {

    static final String TYPE_LENGTH = "SELECT typlen FROM pg_type WHERE oid = to_regtype(?)";

    static final int VARIABLE_WIDTH_GUESS = 32;
    static final int LOG_SHARE = 20;

    private DiskEstimate() {
    }

    /**
     * A type's length, asked once per database (its data source) and type name: plan asks it for every partition,
     * and so does each partition's capture, a round trip each for the same answer. A name that is no type is asked
     * again (it may be created meanwhile).
     */
    private static final java.util.Map<java.util.List<Object>, Integer> TYPE_LENGTHS = new java.util.concurrent.ConcurrentHashMap<>();

    static int typeLength(JdbcTemplate jdbc, String type) {
        java.util.List<Object> key = java.util.List.of(java.util.Objects.requireNonNullElse(jdbc.getDataSource(), jdbc), type);
        Integer known = TYPE_LENGTHS.get(key);
        if (known != null) {
            return known;
        }
        java.util.List<Integer> len = jdbc.queryForList(TYPE_LENGTH, Integer.class, type);
        if (len.isEmpty() || len.get(0) == null) {
            return -1;
        }
        TYPE_LENGTHS.put(key, len.get(0));
        return len.get(0);
    }

    public static long bytes(JdbcTemplate jdbc, JobDefinition def, Partition p) {
        long extra = 0;
        if (def.operation().changesShape() && def.type() != null) {
            int len = typeLength(jdbc, def.type());
            long added = len > 0 ? len : VARIABLE_WIDTH_GUESS;
            long width = p.rowsEstimate() > 0 ? Math.max(1, p.heapBytes() / p.rowsEstimate()) : 0;
            extra = width > 0 ? p.heapBytes() * added / width : p.heapBytes() / 4;
        }
        return p.totalBytes() + extra + p.heapBytes() / LOG_SHARE;
    }
}
