package io.pgrewrite.swap;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

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

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(IndexBuild.class);

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
    /**
     * Names of the indexes and constraints P__rw has: what a restart, or a drift, need not build again; each with
     * whether it is a constraint (an index the second connection committed may still lack the key constraint the
     * first connection's transaction was to add on it). Catalog only.
     */
    static final String RW_OBJECTS = "SELECT conname::text, true FROM pg_constraint WHERE conrelid = to_regclass(?)"
            + " UNION SELECT c.relname::text, false FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(?)";
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
     * CHECK last, in one transaction (with two or more indexes to build, a share of them in a transaction of its own
     * beside it, committed first: {@link Beside}). A restart after it committed finds nothing missing (and only runs
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
        List<String> keys = List.of();
        Map<String, String> notValid = Map.of();
        String[] bound;
        if (sql.dryRun()) {
            bound = sql.query(BOUND_EXPRESSION, IndexBuild::bound, n.qPartition()).stream().findFirst().orElse(new String[2]);
        } else {
            // Catalog reads in one round trip, in autocommit (no step transaction): pg_get_partition_constraintdef
            // keeps an ACCESS SHARE lock on the parent until the implicit transaction ends with the round trip, and
            // a swap elsewhere needs the parent exclusively.
            io.pgrewrite.pg.RoundTrip reads = new io.pgrewrite.pg.RoundTrip(sql.jdbc());
            java.util.function.Supplier<List<String[]>> objects = reads.list(RW_OBJECTS,
                    (rs, i) -> new String[] {rs.getString(1), rs.getBoolean(2) ? "constraint" : "index"}, n.qRw(), n.qRw());
            java.util.function.Supplier<Map<String, String>> checks = CopyTarget.missingNotValidChecks(reads, n);
            java.util.function.Supplier<List<String>> indexes = CopyTarget.missingIndexes(reads, n);
            java.util.function.Supplier<List<String[]>> boundRead = reads.list(BOUND_EXPRESSION, IndexBuild::bound, n.qPartition());
            reads.run();
            have = objects.get().stream().map(o -> o[0]).distinct().toList();
            keys = objects.get().stream().filter(o -> o[1].equals("constraint")).map(o -> o[0]).toList();
            notValid = checks.get();
            bound = boundRead.get().isEmpty() ? new String[2] : boundRead.get().get(0);
            if (have.contains(PartitionNames.BOUND_CHECK) && notValid.isEmpty() && indexes.get().isEmpty()) {
                vacuum(w, state); // a restart after the indexes committed: the statistics may not have
                return false;
            }
        }
        final List<String> built = have;
        final List<String> builtKeys = keys;
        final Map<String, String> notValidChecks = notValid;
        // Indexes the second connection committed in an attempt whose own transaction then rolled back (a lock timeout)
        Set<String> committedBeside = java.util.concurrent.ConcurrentHashMap.newKeySet();
        // One round trip for all of it (nobody uses P__rw yet, so nothing waits on the transaction's locks): the
        // statements are made first, from catalog reads inside the transaction, then sent together; the index
        // builds shared with a second connection where there are two or more (BESIDE).
        lockRetry.run("index " + n.rw(), List.of(n.qRw()), t -> {
            List<PartitionCatalog.Index> toBuild = new ArrayList<>();
            List<String> after = new ArrayList<>();
            for (PartitionCatalog.Index idx : catalog.indexes(n.qPartition())) {
                if ("x".equals(idx.contype())) {
                    throw new IllegalStateException(w.name() + ": exclusion constraint " + idx.conname() + " is not supported yet");
                }
                if (!built.contains(idx.rwName()) && !committedBeside.contains(idx.rwName())) {
                    toBuild.add(idx);
                }
                if (!idx.contype().isEmpty() && !builtKeys.contains(idx.rwName())) {
                    after.add(String.format(ADD_KEY_CONSTRAINT, n.qRw(), Identifiers.quote(idx.rwName()),
                            "p".equals(idx.contype()) ? "PRIMARY KEY" : "UNIQUE", Identifiers.quote(idx.rwName()), idx.deferrable()));
                }
            }
            for (PartitionCatalog.Check c : catalog.localChecks(n.qPartition(), PartitionNames.BOUND_CHECK)) {
                if (!built.contains(c.name())) {
                    after.add(String.format(ADD_CHECK, n.qRw(), Identifiers.quote(c.name()), c.definition()));
                }
            }
            // The parent's NOT VALID CHECKs, added NOT VALID now that the rows are in: no scan, and the legacy
            // rows that violate them stay as they are on P (see CopyTarget.missingNotValidChecks).
            notValidChecks.forEach((name, definition) -> after.add(String.format(ADD_CHECK, n.qRw(), Identifiers.quote(name), definition)));
            // alter-column-type: the indexes, keys and CHECKs of the retyped column, on its shadow (kept until contract).
            after.addAll(io.pgrewrite.expand.ColumnObjects.forCopy(sql, w, built));
            if (bound[0] != null && !built.contains(PartitionNames.BOUND_CHECK)) { // last, as a restart's sign that all is built
                after.add(String.format(ADD_CHECK, n.qRw(), Identifiers.quote(PartitionNames.BOUND_CHECK), "CHECK (" + bound[0] + ")"));
                // The bound it was made for; a number (parsed as one here), so nothing but digits reaches the literal. None
                // when the snapshot found P detached (the swap then finds it gone).
                if (bound[1] != null) {
                    after.add(String.format(COMMENT_CHECK, Identifiers.quote(PartitionNames.BOUND_CHECK), n.qRw(), Long.parseLong(bound[1])));
                }
            }
            List<List<PartitionCatalog.Index>> shares = shares(toBuild);
            List<String> here = new ArrayList<>(List.of(OneCorePerWorker.BUILDS));
            shares.get(0).forEach(idx -> here.add(create(idx, n)));
            List<String> besideBuilds = shares.get(1).stream().map(idx -> create(idx, n)).toList();
            Beside beside = besideBuilds.isEmpty() || sql.dryRun() ? null
                    : new Beside(w, besideBuilds, shares.get(1).stream().map(PartitionCatalog.Index::rwName).toList());
            if (beside == null) {
                here.addAll(besideBuilds);
            } else {
                here.add(1, OneCorePerWorker.HALF_THE_BUILD_MEMORY);
            }
            List<String> rest = new ArrayList<>();
            try {
                sql.executeAll(here);
                if (beside != null) {
                    // Not idle in the transaction while it waits: the attempt's idle_in_transaction_session_timeout would end it.
                    if (beside.committed(() -> sql.jdbc().execute(KEEP_ALIVE))) {
                        committedBeside.addAll(beside.names);
                    } else {
                        rest.addAll(besideBuilds); // the second connection had none to give, or failed: built here
                    }
                }
            } catch (RuntimeException e) {
                // The phase's builds or its keepalive failed (a lock timeout, its session ended): the share beside stops too.
                if (beside != null && beside.cancel()) {
                    committedBeside.addAll(beside.names); // it committed before the cancel reached it: a retry skips them
                }
                throw e;
            }
            rest.addAll(after);
            sql.executeAll(rest);
            io.pgrewrite.job.FaultPoints.reach("index", w.name()); // indexes built, transaction not committed
            return null;
        });
        vacuum(w, state);
        return true;
    }

    private static String create(PartitionCatalog.Index idx, PartitionNames n) {
        return String.format(CREATE_INDEX, idx.unique() ? "UNIQUE " : "", Identifiers.quote(idx.rwName()), n.qRw(), idx.definitionTail());
    }

    /**
     * The builds in two shares, the first for the phase's own connection, the second for one beside it: by each build's
     * pages (P's heap, which every build reads, and the index's), each (heaviest first) to the lighter share. With fewer
     * than two, all in the first.
     */
    static List<List<PartitionCatalog.Index>> shares(List<PartitionCatalog.Index> builds) {
        List<PartitionCatalog.Index> first = new ArrayList<>();
        List<PartitionCatalog.Index> second = new ArrayList<>();
        if (builds.size() < 2) {
            first.addAll(builds);
            return List.of(first, second);
        }
        List<PartitionCatalog.Index> bySize = new ArrayList<>(builds);
        bySize.sort(java.util.Comparator.comparingLong(PartitionCatalog.Index::pages).reversed()
                .thenComparing(PartitionCatalog.Index::name));
        long a = 0;
        long b = 0;
        for (PartitionCatalog.Index idx : bySize) {
            long weight = Math.max(1, idx.pages());
            if (a <= b) {
                first.add(idx);
                a += weight;
            } else {
                second.add(idx);
                b += weight;
            }
        }
        return List.of(first, second);
    }

    /** The phase's statement while it waits for the builds beside, so its transaction is never idle for long. No lock. */
    static final String KEEP_ALIVE = "SELECT 1";
    /** How often: well under the attempt's idle limit (at least 2 s, LockRetry). */
    static final long KEEP_ALIVE_MS = 500;

    /** Threads that run the second share of a partition's index builds on a connection of their own. */
    private static final ExecutorService BESIDE = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "pgrewrite-index-beside");
        t.setDaemon(true);
        return t;
    });

    /**
     * The second share of the index builds, in a transaction of its own on a second connection of the pool, while the
     * phase's transaction builds the first: two backends, each on a core (measured on a demo day of 100 000 rows,
     * PostgreSQL 15, the 3 builds 515 ms one after the other and 280 ms in two shares; on 1 000 rows 8.6 and 6.2 ms).
     * Each transaction's builds get half of maintenance_work_mem ({@link OneCorePerWorker#HALF_THE_BUILD_MEMORY}), so the
     * phase uses no more memory than before. Both take P__rw's SHARE lock, which they share; the phase's ALTER TABLEs, which take more, come after this
     * transaction ended. It commits its indexes first: a kill before the phase's commit leaves them built, and the
     * restart builds only what is missing (keys on them included, see RW_OBJECTS). Under the attempt's lock_timeout;
     * when it fails, or the pool has no connection to spare, the phase's own transaction builds its share too.
     */
    private final class Beside {

        final List<String> names;
        private final Future<Boolean> done;
        private final AtomicReference<Statement> running = new AtomicReference<>();
        private volatile boolean cancelled;
        /** The thread running its builds, once it began: interrupted by a cancel while it has no statement yet. */
        private volatile Thread thread;

        Beside(PartitionWork w, List<String> builds, List<String> names) {
            this.names = names;
            this.done = BESIDE.submit(() -> build(w, builds));
        }

        private boolean build(PartitionWork w, List<String> builds) {
            thread = Thread.currentThread();
            Connection c = cancelled ? null : io.pgrewrite.pg.SpareConnection.take(dataSource);
            if (c == null) {
                return false;
            }
            boolean committed = false;
            try (c) {
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    running.set(st);
                    if (cancelled) {
                        return false;
                    }
                    // The limits in a round trip of their own: sent with the builds, a statement_timeout of the role's
                    // would still count the builds' time (the server arms it for the whole batch of messages).
                    st.execute(lockRetry.sideLimits() + "; " + OneCorePerWorker.BUILDS + "; " + OneCorePerWorker.HALF_THE_BUILD_MEMORY);
                    st.execute(String.join(";\n", builds));
                    io.pgrewrite.job.FaultPoints.reach("index:beside", w.name()); // built beside, not committed
                    c.commit();
                    committed = true;
                } catch (SQLException e) {
                    log.debug("{}: index builds beside failed ({}); built on the phase's connection", w.name(), e.getMessage());
                } finally {
                    running.set(null);
                    if (!committed) {
                        c.rollback(); // before autocommit goes back on, which would commit what is open
                    }
                    c.setAutoCommit(true);
                }
            } catch (SQLException e) {
                log.debug("{}: index builds beside: {}", w.name(), e.getMessage());
            }
            return committed; // a rollback, reset or close that failed after the commit does not undo it
        }

        /**
         * Whether its indexes committed; waits for its transaction to end, running {@code keepAlive} on the phase's
         * connection every {@link #KEEP_ALIVE_MS} ms meanwhile.
         */
        boolean committed(Runnable keepAlive) {
            try {
                while (true) {
                    try {
                        return done.get(KEEP_ALIVE_MS, TimeUnit.MILLISECONDS);
                    } catch (TimeoutException e) {
                        keepAlive.run();
                    }
                }
            } catch (InterruptedException e) {
                cancel();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while building indexes", e);
            } catch (ExecutionException e) {
                log.debug("index builds beside: {}", e.getCause().toString());
                return false;
            }
        }

        /**
         * Stops its builds (the phase's transaction failed) and waits for its transaction to end: whether it committed
         * all the same (it was done before the cancel reached it). The cancel is sent again every 100 ms: one sent before
         * its statement began does nothing.
         */
        boolean cancel() {
            cancelled = true;
            while (true) {
                Statement st = running.get();
                if (st != null) {
                    try {
                        st.cancel();
                    } catch (SQLException e) {
                        log.debug("could not cancel the index builds beside: {}", e.getMessage());
                    }
                } else if (thread != null) {
                    thread.interrupt(); // still waiting for its connection (Hikari's wait ends on an interrupt)
                }
                try {
                    return done.get(100, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    // not ended yet: cancel again
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                } catch (ExecutionException e) {
                    log.debug("index builds beside: {}", e.getCause().toString());
                    return false;
                }
            }
        }
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
