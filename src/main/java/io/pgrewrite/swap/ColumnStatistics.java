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
 * ({@code pg_restore_attribute_stats}, catalog work only), and so they do on older servers when pgrewrite
 * runs as a superuser (pg_statistic written directly: only a superuser may); the columns it computes, and
 * on older servers as any other role every column, are sampled by the ANALYZE of {@link IndexBuild}'s VACUUM, outside any lock (nobody reads
 * {@code P__rw} yet), or with {@code statistics: after-swap} by an ANALYZE of the swapped-in partition
 * ({@link PendingStatistics}); the copy of P's statistics stays before the swap, while P is still P. An ANALYZE of all columns is run without a column list: only that resets the
 * table's change counter, so autovacuum does not analyze the new partition again after the swap.
 */
final class ColumnStatistics {

    static final int RESTORE_VERSION = 180000;

    /** The server's version, and whether we are a superuser (the only role that may write pg_statistic before 18). */
    static final String SERVER = "SELECT current_setting('server_version_num')::int, current_setting('is_superuser')::bool";

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

    /**
     * Before PostgreSQL 18, as a superuser: what {@link #RESTORE} does, written into pg_statistic directly (what
     * a superuser's pg_restore_attribute_stats would write). The rows of P for the given columns, matched to
     * P__rw's by name (P may have dropped columns, P__rw has none, so the attnums differ), and only where the
     * column's type and collation are the same: the values are of that type. Catalog only: RowExclusiveLock on
     * pg_statistic, after {@link #LOCK_COPY}; no lock on P. First the rows P__rw may have of those columns (a
     * restart that runs the restore again), in the same transaction.
     */
    static final String CLEAR_CATALOG = """
            DELETE FROM pg_statistic s USING pg_attribute a
             WHERE s.starelid = to_regclass(?) AND NOT s.stainherit
               AND a.attrelid = s.starelid AND a.attnum = s.staattnum AND a.attname = ANY (?::text[])
            """;
    static final String RESTORE_CATALOG = """
            INSERT INTO pg_statistic
            SELECT r.attrelid, r.attnum, false, s.stanullfrac, s.stawidth, s.stadistinct,
                   s.stakind1, s.stakind2, s.stakind3, s.stakind4, s.stakind5,
                   s.staop1, s.staop2, s.staop3, s.staop4, s.staop5,
                   s.stacoll1, s.stacoll2, s.stacoll3, s.stacoll4, s.stacoll5,
                   s.stanumbers1, s.stanumbers2, s.stanumbers3, s.stanumbers4, s.stanumbers5,
                   s.stavalues1, s.stavalues2, s.stavalues3, s.stavalues4, s.stavalues5
              FROM pg_statistic s
              JOIN pg_attribute p ON p.attrelid = s.starelid AND p.attnum = s.staattnum
              JOIN pg_attribute r ON r.attrelid = to_regclass(?) AND r.attname = p.attname AND NOT r.attisdropped
                                 AND r.atttypid = p.atttypid AND r.attcollation = p.attcollation
             WHERE s.starelid = to_regclass(?) AND NOT s.stainherit AND p.attname = ANY (?::text[])
            """;

    /**
     * Before {@link #CLEAR_CATALOG}: ShareUpdateExclusiveLock on P__rw (nobody else uses it yet; the lock
     * pg_restore_attribute_stats takes on 18), so an autovacuum ANALYZE of the copy cannot write its rows between
     * our DELETE and INSERT (a unique violation on pg_statistic).
     */
    static final String LOCK_COPY = "LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE";

    /** ShareUpdateExclusiveLock on P__rw, which nobody else uses yet. */
    static final String ANALYZE = "ANALYZE %s (%s)";

    /**
     * The columns of P__rw whose statistics target is not P's (by name; the shadow column of a type change takes
     * the retyped column's), with P's: a blocking ALTER keeps each column's target, and the copy is sampled before
     * the swap (the VACUUM's ANALYZE; the swap's carry-over sets it only after), so without this a column P samples
     * at 10 was sampled at the default. Catalog only. {@code attstattarget} is NULL for the default from
     * PostgreSQL 17 on, -1 before.
     */
    static final String TARGETS = """
            SELECT r.attname::text AS name, coalesce(p.attstattarget::int, -1) AS target
              FROM pg_attribute r
              JOIN pg_attribute p ON p.attrelid = to_regclass(?) AND NOT p.attisdropped
                                 AND p.attname = CASE WHEN r.attname = ?::text THEN ?::text ELSE r.attname END
             WHERE r.attrelid = to_regclass(?) AND r.attnum > 0 AND NOT r.attisdropped
               AND coalesce(r.attstattarget::int, -1) <> coalesce(p.attstattarget::int, -1)
             ORDER BY r.attnum
            """;

    /**
     * ShareUpdateExclusiveLock on P__rw only, which nobody else uses yet (a DBA's manual VACUUM of it might:
     * LockRetry bounds the wait). Catalog only, one subcommand a column.
     */
    static final String SET_TARGETS = "ALTER TABLE %s %s";

    /** Dry run (no P__rw yet, which would have the defaults): P's explicit targets, the retyped column's for the shadow too. */
    static final String DRY_TARGETS = """
            SELECT attname::text AS name, attstattarget::int AS target FROM pg_attribute
             WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped AND attstattarget::int >= 0
            UNION ALL
            SELECT ?::text, attstattarget::int FROM pg_attribute
             WHERE attrelid = to_regclass(?) AND attname = ?::text AND NOT attisdropped AND attstattarget::int >= 0
            """;
    static final String SET_TARGET = "ALTER COLUMN %s SET STATISTICS %d";

    /**
     * What to do for one partition: columns to restore from P, columns to ANALYZE (null: all, no list);
     * {@code catalog}: restored by writing pg_statistic (before PostgreSQL 18, a superuser); {@code targets}: the
     * columns of P__rw whose statistics target {@link #carryTargets} sets to P's before it is sampled (usually none).
     */
    record Plan(List<String> restore, List<String> analyze, boolean catalog, java.util.Map<String, Integer> targets) {
        boolean analyzeAll() {
            return analyze == null;
        }
    }

    private final SqlRunner sql;
    private final io.pgrewrite.pg.LockRetry lockRetry;

    ColumnStatistics(SqlRunner sql, io.pgrewrite.pg.LockRetry lockRetry) {
        this.sql = sql;
        this.lockRetry = lockRetry;
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
        String retyped = w.definition().operation() == io.pgrewrite.definition.Operation.ALTER_COLUMN_TYPE ? w.definition().column() : "";
        String shadow = io.pgrewrite.plan.Projection.shadowColumn(retyped);
        java.util.function.Supplier<List<String>> withStatistics = reads.list(WITH_STATISTICS, (rs, i) -> rs.getString(1),
                w.names().schema(), w.names().partition());
        java.util.function.Supplier<List<boolean[]>> server = reads.list(SERVER, (rs, i) -> new boolean[] {
                rs.getInt(1) >= RESTORE_VERSION, rs.getBoolean(2) });
        // Dry: no P__rw yet; it would be made of the table's columns (after expand), with the default targets.
        java.util.function.Supplier<List<String>> columns = sql.dryRun()
                ? () -> w.table().columns().stream().map(io.pgrewrite.plan.Table.Column::name).toList()
                : reads.list(COLUMNS, (rs, i) -> rs.getString(1), w.names().qRw());
        java.util.function.Supplier<List<Object[]>> targets = sql.dryRun()
                ? reads.list(DRY_TARGETS, (rs, i) -> new Object[] {rs.getString(1), rs.getInt(2)}, w.names().qPartition(), shadow,
                        w.names().qPartition(), retyped)
                : reads.list(TARGETS, (rs, i) -> new Object[] {rs.getString(1), rs.getInt(2)}, w.names().qPartition(), shadow, retyped,
                        w.names().qRw());
        reads.run();
        Set<String> had = new LinkedHashSet<>(withStatistics.get());
        Set<String> restore = new LinkedHashSet<>();
        boolean[] facts = server.get().get(0);
        boolean catalog = !facts[0] && facts[1];
        if (facts[0] || catalog) {
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
        java.util.Map<String, Integer> carried = new java.util.LinkedHashMap<>();
        for (Object[] t : targets.get()) {
            if (all.contains((String) t[0])) {
                carried.put((String) t[0], (Integer) t[1]);
            }
        }
        return new Plan(List.copyOf(restore), restore.isEmpty() && analyze.containsAll(all) ? null : List.copyOf(analyze),
                catalog, carried);
    }

    /**
     * Before anything samples P__rw (the change counter's reset, the VACUUM's ANALYZE, the ANALYZE after the swap):
     * P's statistics targets onto it, so its statistics have as many entries as the blocking ALTER's next ANALYZE
     * gives them. Nothing when they are the same (the usual case: no explicit targets).
     */
    void carryTargets(PartitionWork w, Plan plan) {
        if (plan.targets().isEmpty()) {
            return;
        }
        List<String> subcommands = new ArrayList<>();
        plan.targets().forEach((column, target) -> subcommands.add(String.format(SET_TARGET, Identifiers.quote(column), target)));
        String statement = String.format(SET_TARGETS, w.names().qRw(), String.join(", ", subcommands));
        lockRetry.run("statistics targets of " + w.names().rw(), List.of(w.names().qRw()), io.pgrewrite.pg.LockRetry.Scope.ONLY,
                () -> { }, t -> sql.execute(statement));
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
        if (sql.dryRun() && !plan.catalog()) {
            sql.print(RESTORE, w.names().schema(), w.names().rw(), w.names().schema(), w.names().partition(), plan.restore());
            return 0;
        }
        String cols = "{" + String.join(",", plan.restore().stream().map(ColumnStatistics::arrayElement).toList()) + "}";
        Long n;
        if (plan.catalog()) {
            n = lockRetry.run("statistics of " + w.names().rw(), List.of(w.names().qRw()), io.pgrewrite.pg.LockRetry.Scope.ONLY,
                    () -> { }, t -> {
                        sql.execute(String.format(LOCK_COPY, w.names().qRw()));
                        t.locked();
                        sql.execute(CLEAR_CATALOG, w.names().qRw(), cols); // dry: printed, as the rest
                        return (long) sql.execute(RESTORE_CATALOG, w.names().qRw(), w.names().qPartition(), cols);
                    }).value();
        } else {
            n = sql.queryOne(RESTORE, Long.class, w.names().schema(), w.names().rw(), w.names().schema(), w.names().partition(), cols);
        }
        if (sql.dryRun()) {
            return 0;
        }
        if (n != null && n == plan.restore().size()) {
            return n; // one row (or one true) per column: every column has them, no need to read pg_stats again
        }
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
