package io.pgrewrite.swap;

import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import io.pgrewrite.copy.CatchUp;
import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.job.PartitionState;
import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.RoundTrip;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.plan.PartitionWork;

/**
 * swap: one short transaction that puts {@code P__rw} in P's place. Locks are taken parent first,
 * then P, then {@code P__rw} — the order an application INSERT through the parent takes them, so we
 * never deadlock with it — each request bounded by lock_timeout; on timeout the whole transaction rolls
 * back and {@link LockRetry} tries again later. Under the lock only catalog work and the last few
 * replayed changes run: the index, the bound CHECK and the statistics were prepared before.
 */
public final class Swap {

    /**
     * ACCESS EXCLUSIVE on the parent only (ONLY: not every partition, which would queue behind any
     * autovacuum). DETACH needs it anyway; taking it first fixes the lock order. Readers and writers of
     * the whole table wait for the hold time, which is milliseconds.
     */
    static final String LOCK_PARENT = "LOCK TABLE ONLY %s IN ACCESS EXCLUSIVE MODE";
    /**
     * One swap of a table at a time, whichever worker or process runs it: a transaction-scoped advisory lock
     * keyed by the parent's OID, taken before the parent's lock. A second worker's swap waits here, where no
     * application statement queues behind it, instead of in the parent's lock queue behind the first swap
     * (where every insert that arrived after it would wait for both swaps' waits and holds). Bounded by
     * a lock timeout, here twice the swap's (no application statement queues behind it; up to 5 s more, so it
     * stays under the transaction's statement_timeout), so that it outlasts one attempt of the other swap,
     * whose own wait is one lock timeout; the swap's lock_timeout is set back in the same statement (its
     * expressions run left to right), from the value read once before either: MATERIALIZED, or PostgreSQL inlines
     * the CTE and reads current_setting again in each expression, after the first one raised it (the swap then
     * kept twice its lock_timeout). A timeout here is "not now", not a conflict with the application.
     */
    static final String ONE_SWAP_AT_A_TIME = "WITH t AS MATERIALIZED (SELECT " + LockRetry.millis("lock_timeout") + " AS ms)\n" + """
            SELECT set_config('lock_timeout', least(t.ms * 2, t.ms + 5000) || 'ms', true),
                   pg_advisory_xact_lock(hashtextextended('pgrewrite:swap:' || ?::regclass::oid::text, 0))::text,
                   set_config('lock_timeout', t.ms || 'ms', true)
              FROM t
            """;

    /**
     * Under the swap's locks, the waits for rows (a replayed row's foreign key check on the referenced table, a
     * row the application holds) are bounded well below deadlock_timeout, as the catch-up batches' are: if the
     * application, queued behind our parent lock, holds such a row, it is our attempt that times out (rolled
     * back, tried again), never the application's statement that is chosen as a deadlock victim.
     */
    static final String ROW_WAITS_BELOW_DEADLOCK_TIMEOUT = "SELECT set_config('lock_timeout', greatest(1, least("
            + LockRetry.millis("lock_timeout") + ", " + LockRetry.millis("deadlock_timeout") + " / 4)) || 'ms', true)";
    /** Then the partition and its copy: nobody else may touch either while they change places. */
    static final String LOCK_PARTITION = "LOCK TABLE %s, %s IN ACCESS EXCLUSIVE MODE";
    /** P's bound, as ATTACH takes it. */
    static final String BOUND = "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = to_regclass(?)";
    /**
     * P's bound, and whether the copy's bound CHECK was made for it: the CHECK's comment is the fingerprint of the bound
     * it was made for ({@link IndexBuild#BOUND_EXPRESSION}). A CHECK made for another bound would make ATTACH scan
     * the copy under the parent's lock (P attached again with a narrower bound) or refuse the rows of the new range
     * (a wider one). One statement, so both answers come from the same row; no CHECK, or one without a comment
     * (made by an earlier version), counts as made for it. (the copy, the CHECK's name, P)
     */
    static final String BOUND_AND_CHECK = "SELECT pg_get_expr(c.relpartbound, c.oid), coalesce((SELECT obj_description(k.oid,"
            + " 'pg_constraint') FROM pg_constraint k WHERE k.conrelid = to_regclass(?) AND k.conname = ?), "
            + PartitionWork.BOUND_FINGERPRINT + ") = " + PartitionWork.BOUND_FINGERPRINT + " FROM pg_class c WHERE c.oid = to_regclass(?)";

    /** {@link #BOUND_AND_CHECK}'s row. */
    private record Bound(String expression, boolean checkMadeForIt) {
    }
    static final String DETACH = "ALTER TABLE %s DETACH PARTITION %s";
    static final String RENAME_TABLE = "ALTER TABLE %s RENAME TO %s";
    static final String RENAME_INDEX = "ALTER INDEX %s RENAME TO %s";
    /** The valid bound CHECK on the copy lets ATTACH skip its validation scan; it matches the existing indexes. */
    static final String ATTACH = "ALTER TABLE %s ATTACH PARTITION %s %s";
    static final String DROP_BOUND_CHECK = "ALTER TABLE %s DROP CONSTRAINT %s";
    static final String OWNER = "ALTER TABLE %s OWNER TO %s";
    static final String GRANT = "GRANT %s ON TABLE %s TO %s%s";
    static final String COMMENT = "COMMENT ON TABLE %s IS %s";
    static final String REPLICA_IDENTITY = "ALTER TABLE %s REPLICA IDENTITY %s";
    /** Changed keys waiting in the log, counted up to the limit bound (cheap however long the log is). */
    static final String WAITING = "SELECT count(*) FROM (SELECT 1 FROM %s LIMIT ?) AS l";

    private static final Set<String> PRIVILEGES = Set.of("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE",
            "REFERENCES", "TRIGGER", "MAINTAIN");

    private final SqlRunner sql;
    private final LockRetry lockRetry;
    private final CatchUp catchUp;
    private final CarryOver carryOver;
    private final org.springframework.transaction.support.TransactionTemplate tx;

    /**
     * Changed keys that may wait when the swap asks for its locks: before every attempt it catches up until
     * fewer wait (outside any lock), so what it replays under the parent's lock is a few hundred keys.
     */
    static final long SMALL_BACKLOG = 300;

    /**
     * Under the lock the log is final (P is locked against writes): more than this and the attempt rolls back
     * without replaying, catches up outside the lock, and tries again (not counted as a lock conflict). This
     * is what keeps the lock hold near milliseconds however fast the application writes into P.
     */
    static final long MAX_REPLAY_UNDER_LOCK = 1000;

    public Swap(SqlRunner sql, LockRetry lockRetry, CatchUp catchUp, org.springframework.transaction.support.TransactionTemplate tx) {
        this.tx = tx;
        this.sql = sql;
        this.lockRetry = lockRetry;
        this.catchUp = catchUp;
        this.carryOver = new CarryOver(sql.jdbc());
    }

    /** Returns null when the catalog shows the swap already happened (a restart after it committed). */
    public LockRetry.Outcome<Long> swap(PartitionWork w) {
        PartitionNames n = w.names();
        // Read what P carries before the transaction: catalog reads, no locks needed, less time under lock. All
        // of them in one round trip, with the partition's state: one query per kind of object, each read every
        // time (nothing is skipped because the table had none of it when the job began).
        RoundTrip reads = new RoundTrip(sql.jdbc());
        // Not under --dry-run: plan may run before pgrewrite's schema exists, and creates nothing.
        Supplier<List<String>> swapped = sql.dryRun() ? List::of
                : reads.list(PartitionState.STATE, (rs, i) -> rs.getString(1), w.jobKey(), w.name());
        Supplier<List<PartitionCatalog.Index>> oldIndexes = PartitionCatalog.indexes(reads, n.qPartition());
        Supplier<List<PartitionCatalog.Trigger>> triggers = PartitionCatalog.localTriggers(reads, n.qPartition(), PartitionNames.CAPTURE_TRIGGER);
        Supplier<List<PartitionCatalog.Grant>> grants = PartitionCatalog.grants(reads, n.qPartition());
        Supplier<PartitionCatalog.Facts> facts = PartitionCatalog.facts(reads, n.qPartition());
        Supplier<CarryOver.Facts> carried = carryOver.read(reads, n.qPartition(), oldIndexes);
        Supplier<List<Bound>> bounds = reads.list(BOUND_AND_CHECK, (rs, i) -> new Bound(rs.getString(1), rs.getBoolean(2)),
                n.qRw(), PartitionNames.BOUND_CHECK, n.qPartition());
        Supplier<Boolean> attached = reads.one(PartitionWork.ATTACHED, Boolean.class, n.qParent(), n.partition());
        reads.run();
        if (!sql.dryRun() && swapped.get().contains(PartitionState.SWAPPED)) {
            return null;
        }
        // w was read before catch up and verify: P may have gone since (dropped, detached, moved to another parent),
        // which PartitionJob handles as a partition gone. A drop during the attempts below fails the swap instead, and
        // restart reports the partition gone.
        if (!sql.dryRun() && !Boolean.TRUE.equals(attached.get())) {
            throw new PartitionWork.Gone(w.name() + " is no longer a partition of " + n.parent()
                    + " (dropped by a retention job, or detached)");
        }
        Bound b = bounds.get().isEmpty() ? new Bound(null, true) : bounds.get().get(0);
        String bound = b.expression();
        if (!sql.dryRun() && !b.checkMadeForIt()) {
            // Detached and attached again with another bound since the index phase: the copy may hold rows outside it
            // (or lack rows of the new range, which the catch-up could not write into it).
            throw new PartitionWork.SourceChanged(w.name() + ": not swapped, because its bound changed since its copy's bound"
                    + " CHECK was made (now " + b.expression() + ")", PartitionWork.ITS_BOUND);
        }

        // What the swap replays under the parent's lock must be a few rows: catch up before every attempt
        // (a backoff of seconds lets a backlog pile up), outside any lock.
        FaultPoints.reach("swap:before-lock", w.name()); // verified, nothing of the swap done yet
        Runnable catchUpFirst = () -> {
            new ForeignKeyCopy(sql, lockRetry).prebuild(w, catchUp, tx); // so ATTACH finds them valid: no scan under the lock
            catchUp.untilSmall(w, SMALL_BACKLOG, 1000, tx);
        };
        return lockRetry.run("swap of " + w.name(), List.of(n.qParent(), n.qPartition(), n.qRw()), LockRetry.Scope.ONLY,
                catchUpFirst, timing -> {
            oneSwapAtATime(n);
            timing.queued();
            // One round trip: the parent's lock is not held while a second request for P's travels.
            sql.executeAll(List.of(String.format(LOCK_PARENT, n.qParent()), String.format(LOCK_PARTITION, n.qPartition(), n.qRw())));
            timing.locked();
            FaultPoints.reach("swap:locked", w.name()); // holds the parent's lock, nothing changed yet
            long replayed;
            List<String> oldKeys;
            if (sql.dryRun()) {
                replayed = catchUp.replayAll(w, 10_000);
                oldKeys = ForeignKeyCopy.dropFromOld(sql.jdbc(), n);
            } else {
                // What must hold before P changes places, read in one round trip under the lock (nothing can change
                // the answers before the DETACH): writes the change log never saw (TRUNCATE, triggers disabled) would
                // be lost by the swap; a foreign key added to the parent since must be prebuilt first; the changed
                // keys left to replay must be few; P's keys, which P__old must not keep.
                RoundTrip checks = new RoundTrip(sql.jdbc());
                checks.list(ROW_WAITS_BELOW_DEADLOCK_TIMEOUT, (rs, i) -> rs.getString(1));
                Supplier<List<String>> changed = checks.list(PartitionState.SOURCE_CHANGED, (rs, i) -> rs.getString(1),
                        n.qPartition(), PartitionNames.CAPTURE_TRIGGER, w.jobKey(), w.name());
                Supplier<List<String>> missing = checks.list(ForeignKeyCopy.MISSING, (rs, i) -> rs.getString(1), n.qPartition(), n.qRw());
                Supplier<List<String>> keys = checks.list(ForeignKeyCopy.KEY_NAMES, (rs, i) -> rs.getString(1), n.qPartition());
                Supplier<Long> waiting = checks.one(String.format(WAITING, n.qLog()), Long.class, MAX_REPLAY_UNDER_LOCK + 1);
                // The bound ATTACH gives the copy, as P has it now: read before the lock, it may have changed since
                // (P detached and attached again with another bound while the swap caught up or waited).
                Supplier<String> boundNow = checks.one(BOUND, String.class, n.qPartition());
                // Recorded in this transaction: it commits with the swap, or rolls back with it when a check fails.
                checks.update(PartitionState.UPSERT_STATE, w.jobKey(), w.name(), PartitionState.SWAPPED);
                checks.run();
                if (changed.get().isEmpty() || changed.get().get(0) != null) {
                    throw new PartitionWork.SourceChanged(w.name() + ": not swapped, because "
                            + (changed.get().isEmpty() ? "it has no partition_state row" : changed.get().get(0)),
                            PartitionWork.BEHIND_ITS_TRIGGERS);
                }
                if (!java.util.Objects.equals(boundNow.get(), bound)) {
                    // The copy's bound CHECK was made for the old bound too: copy again, for the bound P has now.
                    throw new PartitionWork.SourceChanged(w.name() + ": not swapped, because its bound changed while the swap"
                            + " waited (" + bound + ", now " + boundNow.get() + ")", PartitionWork.ITS_BOUND);
                }
                if (!missing.get().isEmpty()) { // added to the parent since: prebuild first
                    throw new LockRetry.NotNow("foreign keys " + missing.get() + " of " + w.name() + " are not yet on " + n.rw());
                }
                if (waiting.get() > MAX_REPLAY_UNDER_LOCK) {
                    throw new LockRetry.NotNow("more than " + MAX_REPLAY_UNDER_LOCK + " changed keys of " + w.name()
                            + " wait to be replayed (catching up first)");
                }
                replayed = waiting.get() == 0 ? 0 : catchUp.replayAll(w, 10_000); // P is locked: nothing is logged meanwhile
                oldKeys = ForeignKeyCopy.dropFromOld(n, keys.get()); // before the renames: P is still P
            }
            // Everything else is catalog work without parameters: one round trip for all of it.
            List<String> ddl = new java.util.ArrayList<>();
            if (replayed > 0) { // a deferred key's checks now (the copy's keys, whatever P has now): ATTACH refuses pending ones
                ddl.add(io.pgrewrite.copy.CatchUp.CHECK_DEFERRED_KEYS_NOW);
            }
            ddl.add(String.format(DETACH, n.qParent(), n.qPartition()));
            for (PartitionCatalog.Index idx : oldIndexes.get()) {
                ddl.add(String.format(RENAME_INDEX, Identifiers.qualified(n.schema(), idx.name()), Identifiers.quote(idx.oldName())));
            }
            ddl.add(String.format(RENAME_TABLE, n.qPartition(), Identifiers.quote(n.old())));
            ddl.add(String.format(RENAME_TABLE, n.qRw(), Identifiers.quote(n.partition())));
            for (PartitionCatalog.Index idx : oldIndexes.get()) {
                ddl.add(String.format(RENAME_INDEX, Identifiers.qualified(n.schema(), idx.rwName()), Identifiers.quote(idx.name())));
            }
            ddl.add(String.format(ATTACH, n.qParent(), n.qPartition(), bound));
            ddl.addAll(oldKeys); // P__old keeps no key that could refuse the application's deletes
            ddl.add(String.format(DROP_BOUND_CHECK, n.qPartition(), Identifiers.quote(PartitionNames.BOUND_CHECK)));
            carryOver(ddl, n, triggers.get(), grants.get(), facts.get());
            ddl.addAll(carried.get().statements(n));
            sql.executeAll(ddl);
            FaultPoints.reach("swap:before-commit", w.name());
            return replayed;
        });
    }

    private void oneSwapAtATime(PartitionNames n) {
        if (sql.dryRun()) {
            sql.print(ONE_SWAP_AT_A_TIME, n.qParent());
            return;
        }
        try {
            sql.jdbc().query(ONE_SWAP_AT_A_TIME, rs -> { }, n.qParent()); // returns void
        } catch (org.springframework.dao.DataAccessException e) {
            if (!LockRetry.isLockFailure(e)) {
                throw e;
            }
            throw new LockRetry.NotNow("another worker's swap of " + n.parent() + " holds the table's locks");
        }
    }

    private void carryOver(List<String> ddl, PartitionNames n, List<PartitionCatalog.Trigger> triggers, List<PartitionCatalog.Grant> grants,
            PartitionCatalog.Facts facts) {
        // pg_get_triggerdef names the table as P: after the renames, that is the new P.
        for (PartitionCatalog.Trigger t : triggers) {
            ddl.add(t.definition());
        }
        if (facts.otherOwner()) {
            ddl.add(String.format(OWNER, n.qPartition(), Identifiers.quote(facts.owner())));
        }
        for (PartitionCatalog.Grant g : grants) {
            if (!PRIVILEGES.contains(g.privilege())) {
                throw new IllegalStateException("unexpected privilege " + g.privilege() + " on " + n.partition());
            }
            ddl.add(String.format(GRANT, g.privilege(), n.qPartition(),
                    g.grantee() == null ? "PUBLIC" : Identifiers.quote(g.grantee()), g.grantable() ? " WITH GRANT OPTION" : ""));
        }
        if (facts.comment() != null) {
            ddl.add(String.format(COMMENT, n.qPartition(), facts.comment()));
        }
        switch (facts.replicaIdentity()) {
            case 'f' -> ddl.add(String.format(REPLICA_IDENTITY, n.qPartition(), "FULL"));
            case 'n' -> ddl.add(String.format(REPLICA_IDENTITY, n.qPartition(), "NOTHING"));
            case 'i' -> ddl.add(String.format(REPLICA_IDENTITY, n.qPartition(),
                    "USING INDEX " + Identifiers.quote(facts.replicaIdentityIndex())));
            default -> {
            }
        }
    }
}
