package io.pgrewrite.plan;

import java.util.List;
import java.util.Optional;

import io.pgrewrite.pg.Identifiers;

/**
 * A partitioned table as the catalog shows it: what the plan prints and the engine rewrites.
 *
 * @param strategy  'r' range, 'l' list, 'h' hash, or '\0' when the table is not partitioned
 * @param keyColumns columns of the primary key (or of a unique index on NOT NULL columns): copy ranges
 *                   and change replay go by this key
 */
public record Table(long oid, String schema, String name, String owner, char relkind, char strategy,
        List<String> partitionKey, String defaultPartition, List<Column> columns, List<String> keyColumns,
        String keySource, List<Partition> partitions, String replicaIdentity, List<String> triggers,
        List<String> publications, Details details) {

    /** What the plan prints besides the partitions: indexes, constraints, grants of the parent. */
    public record Details(List<String> indexes, List<String> constraints, String grants) {
        public static final Details NONE = new Details(List.of(), List.of(), null);
    }

    public String qualified() {
        return Identifiers.qualified(schema, name);
    }

    public Optional<Column> column(String columnName) {
        return columns.stream().filter(c -> c.name().equals(columnName)).findFirst();
    }

    /** A live (not dropped) column. {@code type} is format_type's text, e.g. {@code character varying(20)}. */
    public record Column(String name, int attnum, String type, boolean notNull, String defaultExpr, boolean generated) {
    }
}
