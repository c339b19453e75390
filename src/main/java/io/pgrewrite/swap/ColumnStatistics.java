package io.pgrewrite.swap;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionWork;

/**
 * The statistics {@code P__rw} gets before the swap: every column that had statistics on P has them again,
 * as after a blocking ALTER (which keeps the statistics of every column it does not change). On PostgreSQL
 * 18 the columns whose values the rewrite copies unchanged get P's statistics as they are
 * ({@code pg_restore_attribute_stats}, catalog work only); the columns it computes, and on older servers
 * every column, are sampled by the ANALYZE of {@link IndexBuild}'s VACUUM, outside any lock (nobody reads
 * {@code P__rw} yet), or with {@code statistics: after-swap} by an ANALYZE of the swapped-in partition
 * ({@link PendingStatistics}); the copy of P's statistics stays before the swap, while P is still P. An ANALYZE of all columns is run without a column list: only that resets the
 * table's change counter, so autovacuum does not analyze the new partition again after the swap.
 */
final class ColumnStatistics {

    static final int RESTORE_VERSION = 180000;

    static final String SERVER_VERSION = "SELECT current_setting('server_version_num')::int";

    /**
     * Columns of a table that have statistics of their own (not the inherited ones of a parent). pg_stats,
     * not pg_statistic, which only a superuser may read. Catalog only.
     */
    static final String WITH_STATISTICS = "SELECT DISTINCT attname::text FROM pg_stats"
            + " WHERE schemaname = ? AND tablename = ? AND NOT inherited";

    /** Live columns of P__rw. Catalog only. */
    static final String COLUMNS = "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped";

    /**
     * P's statistics of the given columns written onto P__rw as they are (PostgreSQL 18). Takes
     * ShareUpdateExclusiveLock on P__rw only, which nobody else uses yet; reads pg_stats of P (no lock on
     * P). pg_stats is used rather than pg_statistic because the owner can read it; the anyarray columns
     * pass as text and are read back with the column's type, which the copy kept.
     */
    static final String RESTORE = """
            SELECT count(*) FILTER (WHERE pg_restore_attribute_stats(
                       'schemaname', ?::text, 'relname', ?::text, 'attname', s.attname::text, 'inherited', false,
                       'null_frac', s.null_frac, 'avg_width', s.avg_width, 'n_distinct', s.n_distinct,
                       'most_common_vals', s.most_common_vals::text, 'most_common_freqs', s.most_common_freqs,
                       'histogram_bounds', s.histogram_bounds::text, 'correlation', s.correlation,
                       'most_common_elems', s.most_common_elems::text, 'most_common_elem_freqs', s.most_common_elem_freqs,
                       'elem_count_histogram', s.elem_count_histogram,
                       'range_length_histogram', s.range_length_histogram::text, 'range_empty_frac', s.range_empty_frac,
                       'range_bounds_histogram', s.range_bounds_histogram::text))
              FROM pg_stats s
             WHERE s.schemaname = ? AND s.tablename = ? AND NOT s.inherited AND s.attname = ANY (?::text[])
            """;

    /** ShareUpdateExclusiveLock on P__rw, which nobody else uses yet. */
    static final String ANALYZE = "ANALYZE %s (%s)";

    /** What to do for one partition: columns to restore from P, columns to ANALYZE (null: all, no list). */
    record Plan(List<String> restore, List<String> analyze) {
        boolean analyzeAll() {
            return analyze == null;
        }
    }

    private final SqlRunner sql;

    ColumnStatistics(SqlRunner sql) {
        this.sql = sql;
    }

    /**
     * {@code wanted}: the columns that must be sampled anyway when P has no statistics of theirs to copy
     * (key, partition key, indexed and computed columns).
     */
    Plan plan(PartitionWork w, Set<String> wanted) {
        return plan(w, new io.pgrewrite.pg.RoundTrip(sql.jdbc()), () -> wanted);
    }

    /**
     * {@link #plan(PartitionWork, Set)} with its catalog reads sent in {@code reads}, with what the caller registered
     * there (each partition's index phase asks them all: one round trip instead of four); {@code wanted} is asked
     * after it ran.
     */
    Plan plan(PartitionWork w, io.pgrewrite.pg.RoundTrip reads, java.util.function.Supplier<Set<String>> wanted) {
        if (sql.dryRun()) {
            reads.run();
            return new Plan(List.of(), new ArrayList<>(wanted.get()));
        }
        java.util.function.Supplier<List<String>> withStatistics = reads.list(WITH_STATISTICS, (rs, i) -> rs.getString(1),
                w.names().schema(), w.names().partition());
        java.util.function.Supplier<Integer> version = reads.one(SERVER_VERSION, Integer.class);
        java.util.function.Supplier<List<String>> columns = reads.list(COLUMNS, (rs, i) -> rs.getString(1), w.names().qRw());
        reads.run();
        Set<String> had = new LinkedHashSet<>(withStatistics.get());
        Set<String> restore = new LinkedHashSet<>();
        if (version.get() >= RESTORE_VERSION) {
            // Columns copied as they are; the computed ones (and generated ones, not in the projection) change.
            for (String c : w.projection().columns()) {
                if (had.contains(c) && !w.projection().computed().containsKey(c)) {
                    restore.add(c);
                }
            }
        }
        Set<String> analyze = new LinkedHashSet<>(wanted.get());
        analyze.addAll(had);
        analyze.removeAll(restore);
        List<String> all = columns.get();
        analyze.retainAll(all);
        return new Plan(List.copyOf(restore), restore.isEmpty() && analyze.containsAll(all) ? null : List.copyOf(analyze));
    }

    /**
     * After the VACUUM: P's statistics onto P__rw for the columns the plan restores. A column the server
     * would not take them for (it warns and returns false) is sampled instead, so none is left without.
     * Returns the columns restored.
     */
    long restore(PartitionWork w, Plan plan) {
        if (plan.restore().isEmpty()) {
            return 0;
        }
        if (sql.dryRun()) {
            sql.print(RESTORE);
            return 0;
        }
        String cols = "{" + String.join(",", plan.restore().stream().map(ColumnStatistics::arrayElement).toList()) + "}";
        Long n = sql.queryOne(RESTORE, Long.class, w.names().schema(), w.names().rw(), w.names().schema(), w.names().partition(), cols);
        List<String> missing = new ArrayList<>(plan.restore());
        missing.removeAll(sql.jdbc().queryForList(WITH_STATISTICS, String.class, w.names().schema(), w.names().rw()));
        if (!missing.isEmpty()) {
            sql.execute(String.format(ANALYZE, w.names().qRw(), Identifiers.list(missing)));
        }
        return n == null ? 0 : n;
    }

    /** The VACUUM's ANALYZE part: {@code ANALYZE} for all columns, {@code ANALYZE (a, b)} for some, nothing for none. */
    static String columnList(Plan plan) {
        return plan.analyzeAll() ? "" : Identifiers.list(plan.analyze());
    }

    private static String arrayElement(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
