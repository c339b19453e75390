package io.pgrewrite.plan;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.pgrewrite.pg.RoundTrip;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Catalog reads: the parent, its partitions with bounds and sizes, its columns and key. Read-only;
 * every query takes only AccessShareLock-free catalog snapshots, so it is safe on a busy production table.
 */
public final class Catalog {

    static final String FIND_TABLE = """
            SELECT c.oid, c.relkind::text AS relkind, pg_get_userbyid(c.relowner) AS owner,
                   coalesce(p.partstrat::text, '') AS strategy, coalesce(pd.relname::text, '') AS default_partition,
                   c.relreplident::text AS replident
              FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid
              LEFT JOIN pg_class pd ON pd.oid = p.partdefid
             WHERE n.nspname = ? AND c.relname = ?
            """;

    static final String PARTITION_KEY = """
            SELECT a.attname
              FROM pg_partitioned_table p
              CROSS JOIN LATERAL unnest(p.partattrs::int2[]) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = k.attnum
             WHERE p.partrelid = ?
             ORDER BY k.ord
            """;

    static final String COLUMNS = """
            SELECT a.attname, a.attnum, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid) AS default_expr, a.attgenerated <> '' AS generated
              FROM pg_attribute a
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum
            """;

    /** Unique, non-partial, plain-column indexes; the primary key first, then the narrowest. */
    static final String UNIQUE_KEYS = """
            SELECT ic.relname AS index_name, i.indisprimary,
                   array(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(n, o)
                          JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) AS cols,
                   bool_and(a2.attnotnull) AS all_not_null
              FROM pg_index i
              JOIN pg_class ic ON ic.oid = i.indexrelid
              JOIN pg_attribute a2 ON a2.attrelid = i.indrelid AND a2.attnum = ANY (i.indkey::int2[])
             WHERE i.indrelid = ? AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
             GROUP BY ic.relname, i.indisprimary, i.indkey, i.indrelid
             ORDER BY i.indisprimary DESC, cardinality(i.indkey::int2[]), ic.relname
            """;

    /**
     * The parent's partitions with their sizes; not one pending detach (a {@code DETACH … CONCURRENTLY} in progress or
     * interrupted), which is leaving the table: the job takes it for gone ({@link #pendingDetach} names them). The total is pg_table_size plus the indexes' size, which is what
     * pg_total_relation_size adds up, without walking every index's files a second time (on 370 partitions with
     * 3 indexes each: ~30 % of this query). Catalog reads and file sizes: AccessShareLock on each partition and
     * index while it is measured, as pg_relation_size takes.
     */
    static final String PARTITIONS = """
            SELECT c.oid, n.nspname, c.relname, c.relkind::text AS relkind,
                   pg_get_expr(c.relpartbound, c.oid) AS bound,
                   c.reltuples::bigint AS rows_estimate,
                   pg_relation_size(c.oid) AS heap_bytes,
                   x.index_bytes,
                   pg_table_size(c.oid) + x.index_bytes AS total_bytes,
                   coalesce(c.reloptions, '{}') AS reloptions
              FROM pg_inherits i
              JOIN pg_class c ON c.oid = i.inhrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace
              CROSS JOIN LATERAL (SELECT pg_indexes_size(c.oid) AS index_bytes) x
             WHERE i.inhparent = ? AND NOT i.inhdetachpending
            """;

    /**
     * One partition of the parent, by name: what a partition's steps read, several times each. PARTITIONS of all
     * of them (a size call per file of each) grew with the partition count: 365 daily partitions spent more
     * time listing the others than rewriting their own.
     */
    static final String ONE_PARTITION = PARTITIONS + "   AND c.relname = ?\n";

    static final String TRIGGERS = "SELECT tgname FROM pg_trigger WHERE tgrelid = ? AND NOT tgisinternal ORDER BY tgname";

    static final String PUBLICATIONS = """
            SELECT p.pubname FROM pg_publication p
             WHERE p.puballtables OR EXISTS (SELECT 1 FROM pg_publication_rel r WHERE r.prpubid = p.oid AND r.prrelid = ?)
             ORDER BY 1
            """;

    static final String INDEXES = "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = ? ORDER BY indexrelid";
    static final String CONSTRAINTS = "SELECT conname || ': ' || pg_get_constraintdef(oid) FROM pg_constraint"
            + " WHERE conrelid = ? AND contype <> 'n' ORDER BY conname";
    static final String GRANTS = "SELECT relacl::text FROM pg_class WHERE oid = ?";

    private static final Pattern LOWER_BOUND = Pattern.compile("FROM \\((?:'((?:[^']|'')*)'|([^,)]*))");

    private final JdbcTemplate jdbc;

    public Catalog(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** The table, or empty when no relation of that name exists in that schema. */
    public Optional<Table> find(String schema, String name) {
        return find(schema, name, null);
    }

    /**
     * The table with only one partition in {@link Table#partitions()} (none when it is not attached): what one
     * partition's steps need, without reading every other partition's sizes.
     */
    public Optional<Table> findWithPartition(String schema, String name, String partition) {
        return find(schema, name, java.util.Objects.requireNonNull(partition));
    }

    private Optional<Table> find(String schema, String name, String onlyPartition) {
        List<Object[]> rows = jdbc.query(FIND_TABLE, (rs, i) -> new Object[] {rs.getLong("oid"),
                rs.getString("relkind"), rs.getString("owner"), rs.getString("strategy"),
                rs.getString("default_partition"), rs.getString("replident")}, schema, name);
        if (rows.isEmpty()) {
            return Optional.empty();
        }
        Object[] r = rows.get(0);
        long oid = (Long) r[0];
        String strategy = (String) r[3];
        // The rest in one round trip: a partition's work reads the table four times (capture, index, swap,
        // retire), and ten round trips each were 40 a partition.
        RoundTrip reads = new RoundTrip(jdbc);
        Supplier<List<String>> partitionKey = reads.list(PARTITION_KEY, (rs, i) -> rs.getString(1), oid);
        Supplier<List<Table.Column>> columns = reads.list(COLUMNS, Catalog::column, oid);
        Supplier<List<Key>> keys = reads.list(UNIQUE_KEYS, (rs, i) -> new Key(rs.getString("index_name"),
                rs.getBoolean("indisprimary"), strings(rs.getArray("cols")), rs.getBoolean("all_not_null")), oid);
        Supplier<List<Partition>> partitions = onlyPartition == null ? reads.list(PARTITIONS, Catalog::partition, oid)
                : reads.list(ONE_PARTITION, Catalog::partition, oid, onlyPartition);
        Supplier<List<String>> triggers = reads.list(TRIGGERS, (rs, i) -> rs.getString(1), oid);
        Supplier<List<String>> publications = reads.list(PUBLICATIONS, (rs, i) -> rs.getString(1), oid);
        Supplier<List<String>> indexes = reads.list(INDEXES, (rs, i) -> rs.getString(1), oid);
        Supplier<List<String>> constraints = reads.list(CONSTRAINTS, (rs, i) -> rs.getString(1), oid);
        Supplier<String> grants = reads.one(GRANTS, String.class, oid);
        reads.run();
        Key key = keys.get().stream().filter(Key::allNotNull).findFirst().orElse(null);
        return Optional.of(new Table(oid, schema, name, (String) r[2], ((String) r[1]).charAt(0),
                strategy.isEmpty() ? '\0' : strategy.charAt(0), partitionKey.get(),
                ((String) r[4]).isEmpty() ? null : (String) r[4], columns.get(),
                key == null ? List.of() : key.columns(), key == null ? null : key.indexName(),
                onlyPartition == null ? sorted(partitions.get()) : partitions.get(),
                (String) r[5], triggers.get(), publications.get(),
                new Table.Details(indexes.get(), constraints.get(), grants.get())));
    }

    public List<Table.Column> columns(long relid) {
        return jdbc.query(COLUMNS, Catalog::column, relid);
    }

    private static Table.Column column(ResultSet rs, int i) throws SQLException {
        return new Table.Column(rs.getString("attname"), rs.getInt("attnum"), rs.getString("type"),
                rs.getBoolean("attnotnull"), rs.getString("default_expr"), rs.getBoolean("generated"));
    }

    /** Partitions in the order pgrewrite rewrites them: by lower bound, oldest first. */
    public List<Partition> partitions(long parentOid) {
        return sorted(jdbc.query(PARTITIONS, Catalog::partition, parentOid));
    }

    private static List<Partition> sorted(List<Partition> partitions) {
        List<Partition> list = new ArrayList<>(partitions);
        list.sort(Comparator.comparing(Partition::lowerBound, Catalog::compareBounds));
        return list;
    }

    /** Partitions a job has started on (its rows in pgrewrite.partition_state), whatever became of them. */
    public List<String> partitionsStartedBy(String jobKey) {
        return jdbc.queryForList(STARTED_BY, String.class, jobKey);
    }

    static final String STARTED_BY = "SELECT partition_name FROM pgrewrite.partition_state WHERE job_key = ? ORDER BY partition_name";

    /** Sub-partitioned partitions, which pgrewrite does not rewrite. */
    public List<String> subPartitioned(long parentOid) {
        return jdbc.queryForList("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                + " WHERE i.inhparent = ? AND c.relkind = 'p'", String.class, parentOid);
    }

    /** Partitions an interrupted {@code DETACH PARTITION … CONCURRENTLY} left pending detach, schema-qualified and quoted. */
    public List<String> pendingDetach(long parentOid) {
        return jdbc.query("SELECT n.nspname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                + " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = ? AND i.inhdetachpending ORDER BY 1, 2",
                (rs, i) -> io.pgrewrite.pg.Identifiers.qualified(rs.getString(1), rs.getString(2)), parentOid);
    }

    private static Partition partition(ResultSet rs, int i) throws SQLException {
        String bound = rs.getString("bound");
        return new Partition(rs.getLong("oid"), rs.getString("nspname"), rs.getString("relname"), bound,
                lowerBound(bound), rs.getLong("rows_estimate"), rs.getLong("heap_bytes"), rs.getLong("index_bytes"),
                rs.getLong("total_bytes"), strings(rs.getArray("reloptions")));
    }

    static String lowerBound(String bound) {
        if (bound == null) {
            return null;
        }
        Matcher m = LOWER_BOUND.matcher(bound);
        if (!m.find()) {
            return null;
        }
        if (m.group(1) != null) {
            return m.group(1).replace("''", "'");
        }
        String v = m.group(2).trim();
        return "MINVALUE".equals(v) ? null : v;
    }

    static int compareBounds(String a, String b) {
        if (a == null || b == null) {
            return a == null ? (b == null ? 0 : -1) : 1;
        }
        try {
            return new java.math.BigDecimal(a).compareTo(new java.math.BigDecimal(b));
        } catch (NumberFormatException e) {
            return a.compareTo(b);
        }
    }

    private static List<String> strings(Array array) throws SQLException {
        return array == null ? List.of() : Arrays.asList((String[]) array.getArray());
    }

    record Key(String indexName, boolean primary, List<String> columns, boolean allNotNull) {
    }
}
