package io.pgrewrite.swap;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import javax.sql.DataSource;

import io.pgrewrite.copy.CopyTarget;
import io.pgrewrite.definition.Statistics;
import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.OneCorePerWorker;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.plan.PartitionWork;

/**
 * index: builds P's indexes and constraints on {@code P__rw} after the copy (faster than maintaining
 * them row by row, and no CONCURRENTLY needed: nobody reads {@code P__rw} yet), turns unique indexes
 * into constraints (ATTACH reuses an index only when it backs a constraint; otherwise it would build
 * one under the parent's lock), and adds a valid CHECK equal to P's bound so ATTACH skips its scan.
 * Then VACUUM: the swapped-in partition starts all-visible (index-only scans, no insert-driven autovacuum
 * later); with {@code statistics: before-swap} VACUUM (ANALYZE), so it also starts with statistics on every
 * column that had them on P, and on its key, indexed and changed columns ({@link ColumnStatistics}); with
 * {@code after-swap} (the default) that sampling is left for after the swap ({@link PendingStatistics}). Not FREEZE: freezing logs every page it changes, so a
 * checkpoint between the load and the VACUUM makes it write the whole heap to the WAL a second time as
 * full-page images (measured on the demo partition: 98.6 MB after a checkpoint against 0.8 MB for the plain
 * VACUUM, and 2.7 MB without one; the benchmark's checkpoints come every ~0.5 GB of WAL). The blocking
 * ALTER leaves its rows unfrozen too; the anti-wraparound vacuum freezes them like any other. Before the VACUUM,
 * {@link ChangeCounter} resets the copy's change counter where its statistics come from a copy and an ANALYZE with a
 * column list (PostgreSQL 18, or 14-17 as a superuser), so autovacuum does not analyze the swapped-in partition again.
 */
public final class IndexBuild {

    static final String CREATE_INDEX = "CREATE %sINDEX %s ON %s%s";
    /** The last part keeps DEFERRABLE [INITIALLY DEFERRED] as P has it. */
    static final String ADD_KEY_CONSTRAINT = "ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s%s";
    static final String ADD_CHECK = "ALTER TABLE %s ADD CONSTRAINT %s %s";
    /**
     * pg_get_partition_constraintdef is exactly the implicit constraint ATTACH would otherwise verify by a scan; with the
     * fingerprint of P's bound, which the bound CHECK keeps as its comment: the swap compares it with P's bound then
     * ({@link Swap#BOUND_AND_CHECK}). Not one consistent read: the fingerprint comes from the statement's snapshot, the
     * constraint from P's cache after the function locked P, which may be newer (a bound changed in between), never
     * older. So at worst the comment names an older bound than the CHECK's, and the swap copies the partition again
     * for nothing; a CHECK for an older bound than its comment says cannot happen.
     */
    static final String BOUND_EXPRESSION = "SELECT pg_get_partition_constraintdef(c.oid), " + PartitionWork.BOUND_FINGERPRINT
            + " FROM pg_class c WHERE c.oid = to_regclass(?)";
    static final String COMMENT_CHECK = "COMMENT ON CONSTRAINT %s ON %s IS '%s'";
    /** Names of the indexes and constraints P__rw has: what a restart, or a drift, need not build again. Catalog only. */
    static final String RW_OBJECTS = "SELECT conname::text FROM pg_constraint WHERE conrelid = to_regclass(?)"
            + " UNION SELECT c.relname::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(?)";
    static final String INDEXED_COLUMNS = """
            SELECT DISTINCT a.attname FROM pg_index i
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
             WHERE i.indrelid = to_regclass(?)
            """;
    /** Outside any transaction block, as VACUUM requires; PARALLEL 0: {@link OneCorePerWorker}. */
    static final String VACUUM = "VACUUM (ANALYZE, PARALLEL 0) %s (%s)";
    /** Every column: the only ANALYZE that resets the change counter, so autovacuum need not analyze P again. */
    static final String VACUUM_ALL = "VACUUM (ANALYZE, PARALLEL 0) %s";
    /**
     * No column left to sample (PostgreSQL 18, every column's statistics copied from P), or {@code statistics:
     * after-swap}: the sampling runs after the swap, on the swapped-in partition ({@link PendingStatistics}).
     */
    static final String VACUUM_ONLY = "VACUUM (PARALLEL 0) %s";

    private final SqlRunner sql;
    private final LockRetry lockRetry;
    private final DataSource dataSource;
    private final PartitionCatalog catalog;
    private final ColumnStatistics statistics;
    private final Statistics when;
    private final PendingStatistics pending;
    private final ChangeCounter changeCounter;

    public IndexBuild(SqlRunner sql, LockRetry lockRetry, DataSource dataSource) {
        this(sql, lockRetry, dataSource, Statistics.BEFORE_SWAP);
    }

    /** @param when whether the copy's VACUUM samples the statistics, or the swapped-in partition's ANALYZE does */
    public IndexBuild(SqlRunner sql, LockRetry lockRetry, DataSource dataSource, Statistics when) {
        this.sql = sql;
        this.lockRetry = lockRetry;
        this.dataSource = dataSource;
        this.catalog = new PartitionCatalog(sql.jdbc());
        this.statistics = new ColumnStatistics(sql, lockRetry);
        this.when = when;
        this.pending = new PendingStatistics(sql, lockRetry);
        this.changeCounter = new ChangeCounter(sql, lockRetry);
    }

    /** The ANALYZE after the swap ({@code statistics: after-swap}) and what is still pending. */
    public PendingStatistics pending() {
        return pending;
    }

    public Statistics when() {
        return when;
    }

    /**
     * Idempotent, object by object: builds the index copies and CHECKs {@code P__rw} lacks, the bound
     * CHECK last, in one transaction. A restart after it committed finds nothing missing (and only runs
     * the VACUUM again: the statistics may not have committed); an index added to the parent since
     * (cloned onto P, not onto the unattached copy) is the only thing built then.
     */
    public boolean build(PartitionWork w) {
        return build(w, null);
    }

    /**
     * {@link #build(PartitionWork)}, and the partition's {@code state} recorded (null: left as it is) in the same
     * statement that records its statistics after the VACUUM: the index phase ends with one commit, not two.
     */
    public boolean build(PartitionWork w, String state) {
        PartitionNames n = w.names();
        List<String> have = List.of();
        Map<String, String> notValid = Map.of();
        String[] bound;
        if (sql.dryRun()) {
            bound = sql.query(BOUND_EXPRESSION, IndexBuild::bound, n.qPartition()).stream().findFirst().orElse(new String[2]);
        } else {
            // Catalog reads in one round trip, in autocommit (no step transaction): pg_get_partition_constraintdef
            // keeps an ACCESS SHARE lock on the parent until the implicit transaction ends with the round trip, and
            // a swap elsewhere needs the parent exclusively.
            io.pgrewrite.pg.RoundTrip reads = new io.pgrewrite.pg.RoundTrip(sql.jdbc());
            java.util.function.Supplier<List<String>> objects = reads.list(RW_OBJECTS, (rs, i) -> rs.getString(1), n.qRw(), n.qRw());
            java.util.function.Supplier<Map<String, String>> checks = CopyTarget.missingNotValidChecks(reads, n);
            java.util.function.Supplier<List<String>> indexes = CopyTarget.missingIndexes(reads, n);
            java.util.function.Supplier<List<String[]>> boundRead = reads.list(BOUND_EXPRESSION, IndexBuild::bound, n.qPartition());
            reads.run();
            have = objects.get();
            notValid = checks.get();
            bound = boundRead.get().isEmpty() ? new String[2] : boundRead.get().get(0);
            if (have.contains(PartitionNames.BOUND_CHECK) && notValid.isEmpty() && indexes.get().isEmpty()) {
                vacuum(w, state); // a restart after the indexes committed: the statistics may not have
                return false;
            }
        }
        final List<String> built = have;
        final Map<String, String> notValidChecks = notValid;
        // One round trip for all of it (nobody uses P__rw yet, so nothing waits on the transaction's locks): the
        // statements are made first, from catalog reads inside the transaction, then sent together.
        lockRetry.run("index " + n.rw(), List.of(n.qRw()), t -> {
            List<String> ddl = new ArrayList<>(List.of(OneCorePerWorker.BUILDS));
            for (PartitionCatalog.Index idx : catalog.indexes(n.qPartition())) {
                if ("x".equals(idx.contype())) {
                    throw new IllegalStateException(w.name() + ": exclusion constraint " + idx.conname() + " is not supported yet");
                }
                if (built.contains(idx.rwName())) {
                    continue;
                }
                ddl.add(String.format(CREATE_INDEX, idx.unique() ? "UNIQUE " : "", Identifiers.quote(idx.rwName()),
                        n.qRw(), idx.definitionTail()));
                if (!idx.contype().isEmpty()) {
                    ddl.add(String.format(ADD_KEY_CONSTRAINT, n.qRw(), Identifiers.quote(idx.rwName()),
                            "p".equals(idx.contype()) ? "PRIMARY KEY" : "UNIQUE", Identifiers.quote(idx.rwName()), idx.deferrable()));
                }
            }
            for (PartitionCatalog.Check c : catalog.localChecks(n.qPartition(), PartitionNames.BOUND_CHECK)) {
                if (!built.contains(c.name())) {
                    ddl.add(String.format(ADD_CHECK, n.qRw(), Identifiers.quote(c.name()), c.definition()));
                }
            }
            // The parent's NOT VALID CHECKs, added NOT VALID now that the rows are in: no scan, and the legacy
            // rows that violate them stay as they are on P (see CopyTarget.missingNotValidChecks).
            notValidChecks.forEach((name, definition) -> ddl.add(String.format(ADD_CHECK, n.qRw(), Identifiers.quote(name), definition)));
            // alter-column-type: the indexes, keys and CHECKs of the retyped column, on its shadow (kept until contract).
            ddl.addAll(io.pgrewrite.expand.ColumnObjects.forCopy(sql, w, built));
            if (bound[0] != null && !built.contains(PartitionNames.BOUND_CHECK)) { // last, as a restart's sign that all is built
                ddl.add(String.format(ADD_CHECK, n.qRw(), Identifiers.quote(PartitionNames.BOUND_CHECK), "CHECK (" + bound[0] + ")"));
                // The bound it was made for; a number (parsed as one here), so nothing but digits reaches the literal. None
                // when the snapshot found P detached (the swap then finds it gone).
                if (bound[1] != null) {
                    ddl.add(String.format(COMMENT_CHECK, Identifiers.quote(PartitionNames.BOUND_CHECK), n.qRw(), Long.parseLong(bound[1])));
                }
            }
            sql.executeAll(ddl);
            io.pgrewrite.job.FaultPoints.reach("index", w.name()); // indexes built, transaction not committed
            return null;
        });
        vacuum(w, state);
        return true;
    }

    private static String[] bound(java.sql.ResultSet rs, int i) throws java.sql.SQLException {
        return new String[] {rs.getString(1), rs.getString(2)};
    }

    /**
     * Before the swap: an index added to the parent after this partition's indexes were built exists on
     * P but not on {@code P__rw}; build it now, outside the swap's lock (ATTACH would build it under it).
     */
    public void addMissing(PartitionWork w) {
        if (!sql.dryRun() && CopyTarget.drift(sql.jdbc(), w) != null) {
            build(w);
        }
    }

    private void vacuum(PartitionWork w, String state) {
        io.pgrewrite.pg.RoundTrip reads = new io.pgrewrite.pg.RoundTrip(sql.jdbc()); // with the statistics plan's reads
        java.util.function.Supplier<List<String>> indexed = reads.list(INDEXED_COLUMNS, (rs, i) -> rs.getString(1),
                w.names().qPartition());
        // Every column that had statistics on P gets them (copied on PostgreSQL 18, else sampled here).
        ColumnStatistics.Plan stats = statistics.plan(w, reads, () -> {
            Set<String> cols = new LinkedHashSet<>(w.keys().columns());
            cols.addAll(w.table().partitionKey());
            cols.addAll(indexed.get());
            cols.addAll(w.projection().computed().keySet());
            cols.retainAll(w.projection().columns());
            return cols;
        });
        statistics.carryTargets(w, stats); // P's statistics targets, before anything samples the copy
        changeCounter.resetIfNeeded(w, stats); // before the VACUUM, which then sets reltuples from every page
        // after-swap: the copy is vacuumed only, its sampling is recorded as pending and runs after the swap
        String vacuum = when == Statistics.AFTER_SWAP ? String.format(VACUUM_ONLY, w.names().qRw())
                : stats.analyzeAll() ? String.format(VACUUM_ALL, w.names().qRw())
                : stats.analyze().isEmpty() ? String.format(VACUUM_ONLY, w.names().qRw())
                : String.format(VACUUM, w.names().qRw(), ColumnStatistics.columnList(stats));
        if (sql.dryRun()) {
            sql.print(vacuum);
            statistics.restore(w, stats); // printed: P's statistics onto the copy (18, or a superuser)
            if (when == Statistics.AFTER_SWAP) {
                pending.recordPending(w, stats, null);
            }
            if (state != null) {
                sql.jdbc().update(io.pgrewrite.job.PartitionState.UPSERT_STATE, w.jobKey(), w.name(), state);
            }
            return;
        }
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement()) {
            c.setAutoCommit(true);
            st.execute(vacuum);
        } catch (SQLException e) {
            throw new IllegalStateException(w.name() + ": " + vacuum + " failed: " + e.getMessage(), e);
        }
        statistics.restore(w, stats);
        if (when == Statistics.AFTER_SWAP) {
            pending.recordPending(w, stats, state);
        } else {
            pending.recordSampled(w, state);
        }
    }
}
