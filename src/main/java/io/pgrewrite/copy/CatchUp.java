package io.pgrewrite.copy;

import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import org.springframework.dao.DataAccessException;
import org.springframework.transaction.support.TransactionTemplate;
import io.pgrewrite.plan.PartitionWork;

/**
 * catch up: replays the change log into {@code P__rw}, by key. One statement takes a batch of log
 * rows and, under the same snapshot, deletes those keys from {@code P__rw} and copies their current
 * rows from P. A log row is only ever visible together with the change it records (same transaction),
 * so whatever this snapshot takes, it also sees; later changes leave new log rows for the next batch.
 * Replaying in log order would be wrong (sequence order is not commit order); by key it is not.
 * <p>
 * While {@code P__rw} carries foreign keys (from right before its swap) a batch goes round the rows an
 * application transaction holds ({@link #REPLAY_AROUND_HELD_ROWS}), and a lock wait of the batch is bounded
 * ({@link #BOUNDED_WAITS}): a batch stopped by it is rolled back and left for the next catch up.
 */
public final class CatchUp {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(CatchUp.class);

    static final String REPLAY = """
            WITH taken AS (
                DELETE FROM %1$s WHERE seq IN (SELECT seq FROM %1$s ORDER BY seq LIMIT ?) RETURNING %2$s
            ), changed AS (
                SELECT DISTINCT %2$s FROM taken
            ), gone AS (
                DELETE FROM %3$s r WHERE %4$s IN (SELECT %5$s FROM changed c) RETURNING 1
            ), added AS (
                INSERT INTO %3$s (%6$s) SELECT %7$s FROM ONLY %8$s WHERE %9$s IN (SELECT %5$s FROM changed c) RETURNING 1
            )
            SELECT (SELECT count(*) FROM taken) AS taken, (SELECT count(*) FROM gone) AS gone,
                   (SELECT count(*) FROM added) AS added
            """;

    /**
     * REPLAY while {@code P__rw} carries foreign keys. Their NO ACTION / RESTRICT checks on the referenced table
     * see the copy's rows, so the capture trigger deletes a row's old version from the copy in the application's
     * transaction (Capture.DELETE_FROM_COPY), and a replay must never write back a version the application
     * deleted (or re-pointed) or is deleting: REPLAY's plain read of P, from a snapshot older than the
     * application's commit, did, and the copy's key then refused the application's delete of the referenced row
     * until the next replay. So this one reads P {@code FOR SHARE ... SKIP LOCKED}: in READ COMMITTED a row deleted
     * by a transaction that committed after the snapshot is skipped, an updated one is read in its newest version
     * (its key checked again), and a row an open transaction is updating, deleting or holding FOR UPDATE is
     * skipped; an application write to a row this batch holds waits for its commit (milliseconds), and its
     * trigger's delete then sees the replayed row. The copy's rows are taken the same way ({@code FOR UPDATE SKIP
     * LOCKED}): one the capture trigger of an open transaction is deleting is kept, and its key not inserted (that
     * transaction may roll back). What was skipped is logged again in the same statement, so it is not lost: the
     * keys of the copy's rows it kept, and of P's rows it did not insert, as far as they exist in the statement's
     * snapshot (a key gone from both sides is not logged again, so the log drains once nobody holds its rows).
     * <p>
     * Locks: row locks on the log rows it takes (nobody else deletes them), the copy's rows of those keys (FOR
     * UPDATE, then deleted), P's rows of those keys (FOR SHARE: blocks the application's UPDATE and DELETE of them,
     * not its reads, inserts or its foreign-key checks' KEY SHARE) until the batch commits. None of these is ever
     * waited for (SKIP LOCKED), so the batch cannot wait on an application while holding P's rows, except in the
     * foreign-key checks of its inserts (KEY SHARE on the referenced row, which an application deleting it, changing
     * its key or holding it FOR UPDATE blocks, and so may a CASCADE): {@link #BOUNDED_WAITS} bounds that wait well
     * below deadlock_timeout, so if the application then waits for one of the batch's rows it is the batch that
     * gives up (a lock timeout, rolled back, caught up later), never the application's statement that is chosen as
     * a deadlock victim. Relation locks as REPLAY, plus ROW SHARE on P and on the referenced tables.
     */
    static final String REPLAY_AROUND_HELD_ROWS = """
            WITH taken AS (
                DELETE FROM %1$s WHERE seq IN (SELECT seq FROM %1$s ORDER BY seq LIMIT ?) RETURNING %2$s
            ), changed AS (
                SELECT DISTINCT %2$s FROM taken
            ), copied AS (
                SELECT %10$s FROM %3$s r WHERE %4$s IN (SELECT %5$s FROM changed c)
            ), gone AS (
                DELETE FROM %3$s r WHERE %4$s IN (SELECT %12$s FROM %3$s x WHERE %11$s IN (SELECT %5$s FROM changed c)
                                                  FOR UPDATE OF x SKIP LOCKED)
                RETURNING %10$s
            ), held AS (
                SELECT * FROM copied EXCEPT SELECT * FROM gone
            ), source AS (
                SELECT %14$s FROM ONLY %8$s s WHERE %13$s IN (SELECT %5$s FROM changed c)
            ), added AS (
                INSERT INTO %3$s (%6$s) SELECT %7$s FROM ONLY %8$s s
                 WHERE %15$s%13$s IN (SELECT %5$s FROM changed c) AND %13$s NOT IN (SELECT * FROM held)
                   FOR SHARE OF s SKIP LOCKED
                RETURNING %2$s
            ), relogged AS (
                INSERT INTO %1$s (%2$s) SELECT * FROM held UNION SELECT * FROM (SELECT * FROM source EXCEPT SELECT * FROM added) AS skipped
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM taken) AS taken, (SELECT count(*) FROM gone) AS gone,
                   (SELECT count(*) FROM added) AS added, (SELECT count(*) FROM changed) AS keys,
                   (SELECT count(*) FROM relogged) AS relogged
            """;

    /**
     * First in the transaction of a {@link #REPLAY_AROUND_HELD_ROWS} batch: lock_timeout a quarter of deadlock_timeout
     * (250 ms by default). An application that waits for a row the batch holds while the batch waits for it runs
     * its deadlock check only after deadlock_timeout; the batch, which started waiting after its first row lock and
     * at most a batch's few milliseconds before, has timed out by then. No lock.
     */
    static final String BOUNDED_WAITS = "SELECT set_config('lock_timeout', greatest(1, "
            + io.pgrewrite.pg.LockRetry.millis("deadlock_timeout") + " / 4) || 'ms', true)";

    /**
     * Tests only ({@link io.pgrewrite.job.FaultPoints#holdSnapshotMs}, point {@code catch-up:around-held-rows}): put
     * before the read of P in {@link #REPLAY_AROUND_HELD_ROWS}, a one-time filter that sleeps after the statement's
     * snapshot was taken and before it locks any row of P. Otherwise empty: the statement is as written.
     */
    static final String HOLD_SNAPSHOT = "(SELECT pg_sleep(%s)) IS NOT NULL AND ";

    /**
     * After a replay into a copy that carries foreign keys: the checks of a DEFERRABLE INITIALLY DEFERRED key on the
     * replayed rows run now, not at COMMIT. At COMMIT their wait for a referenced row the application holds escaped as
     * Spring's TransactionSystemException, past the handling of a lock timeout, and failed the job; the swap's ATTACH
     * refuses a table with such checks pending. Now, the wait is bounded by the transaction's lock_timeout and handled
     * like any lock wait (a batch caught up later, a swap attempt retried). KEY SHARE on the referenced rows; no table
     * lock. Nothing to do for keys checked at once.
     */
    public static final String CHECK_DEFERRED_KEYS_NOW = "SET CONSTRAINTS ALL IMMEDIATE";

    /** Log rows a {@link #REPLAY_AROUND_HELD_ROWS} batch takes: it holds P's rows while it runs, so it runs short. */
    static final int AROUND_HELD_ROWS_BATCH = 1000;

    /** A batch stopped by its bounded lock wait is tried again this many times by {@link #everythingLoggedSoFar}. */
    static final int LOCK_WAITS_TOLERATED = 20;

    static final String PENDING = "SELECT count(*) FROM %s";

    private final SqlRunner sql;

    public CatchUp(SqlRunner sql) {
        this.sql = sql;
    }

    /** What one batch did: log rows taken, the copy's rows deleted and inserted, keys taken and logged again. */
    public record Batch(long taken, long deleted, long inserted, long keys, long relogged) {
        Batch(long taken, long deleted, long inserted) {
            this(taken, deleted, inserted, -1, 0);
        }

        /** Every key it took was logged again: nothing to gain from another batch now. */
        boolean madeNoProgress() {
            return relogged > 0 && relogged >= keys;
        }
    }

    /** Replays up to {@code limit} log rows in the caller's transaction. */
    public Batch replay(PartitionWork w, int limit) {
        String keyList = w.keys().tuple(null).replaceAll("^\\(|\\)$", "");
        String replay = String.format(REPLAY, w.names().qLog(), keyList, w.names().qRw(), w.keys().tuple("r"),
                w.keys().tuple("c").replaceAll("^\\(|\\)$", ""), w.projection().columnList(), w.projection().selectList(),
                w.names().qPartition(), w.keys().tuple(null));
        if (sql.dryRun()) {
            sql.print(replay, limit);
            return new Batch(0, 0, 0);
        }
        return sql.jdbc().queryForObject(replay, (rs, i) -> new Batch(rs.getLong(1), rs.getLong(2), rs.getLong(3)), limit);
    }

    /**
     * Replays up to {@code limit} log rows in the caller's transaction, going round the rows application transactions
     * hold ({@link #REPLAY_AROUND_HELD_ROWS}), its lock waits bounded ({@link #BOUNDED_WAITS}).
     */
    Batch replayAroundHeldRows(PartitionWork w, int limit) {
        String keyList = list(w, null);
        String replay = String.format(REPLAY_AROUND_HELD_ROWS, w.names().qLog(), keyList, w.names().qRw(), w.keys().tuple("r"),
                list(w, "c"), w.projection().columnList(), w.projection().selectList(), w.names().qPartition(), w.keys().tuple(null),
                list(w, "r"), w.keys().tuple("x"), list(w, "x"), w.keys().tuple("s"), list(w, "s"), hold(w));
        sql.queryOne(BOUNDED_WAITS, String.class);
        return sql.jdbc().queryForObject(replay, (rs, i) -> new Batch(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                rs.getLong(5)), limit);
    }

    private static String hold(PartitionWork w) {
        long ms = io.pgrewrite.job.FaultPoints.holdSnapshotMs("catch-up:around-held-rows", w.name());
        return ms == 0 ? "" : String.format(HOLD_SNAPSHOT, ms / 1000.0);
    }

    private static String list(PartitionWork w, String alias) {
        return w.keys().tuple(alias).replaceAll("^\\(|\\)$", "");
    }

    /**
     * One batch in its own transaction, whose row counts reach the shared statistics as it commits ({@link io.pgrewrite.pg.StatsFlush});
     * null when its bounded lock wait stopped it (rolled back: nothing of it happened).
     */
    private Batch replayCounted(PartitionWork w, boolean aroundHeldRows, TransactionTemplate own) {
        try {
            return own.execute(s -> {
                Batch b = aroundHeldRows ? replayAroundHeldRows(w, AROUND_HELD_ROWS_BATCH) : replay(w, 10_000);
                if (aroundHeldRows && b.inserted() > 0) {
                    sql.jdbc().execute(CHECK_DEFERRED_KEYS_NOW);
                }
                io.pgrewrite.pg.StatsFlush.request(sql.jdbc());
                return b;
            });
        } catch (DataAccessException e) {
            throwIfOutsideTheCopysBound(w, e);
            if (!aroundHeldRows || !(LockRetry.isLockFailure(e) || movedToAnotherPartition(e))) {
                throw e;
            }
            log.info("{}: a catch-up batch was stopped and rolled back (a lock wait longer than its lock_timeout, as a rule behind an"
                    + " application transaction that holds a row a replayed row references, or a row moved to another partition"
                    + " since its snapshot); its keys stay logged for the next one", w.name());
            return null;
        }
    }

    /**
     * FOR SHARE of a row that a transaction committed since the batch's snapshot moved to another partition (an
     * UPDATE of the partition key): PostgreSQL raises a serialization failure instead of skipping it. Its key is
     * logged (the move deleted it from P); the next batch, with a new snapshot, no longer finds it in P.
     */
    private static boolean movedToAnotherPartition(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLException s && "40001".equals(s.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    /**
     * A row the copy's bound CHECK refused: P's own bound holds every row it has, so P was attached again with a wider
     * bound, and its new range's rows cannot go into a copy whose CHECK (which lets ATTACH skip its scan) was made for
     * the old one. The partition is copied again ({@link io.pgrewrite.plan.PartitionWork.SourceChanged}).
     */
    private static void throwIfOutsideTheCopysBound(PartitionWork w, DataAccessException e) {
        if (outsideTheCopysBound(e)) {
            throw new io.pgrewrite.plan.PartitionWork.SourceChanged(w.name() + ": not caught up, because a changed row lies"
                    + " outside the bound its copy's CHECK was made for (attached again with a wider bound)",
                    io.pgrewrite.plan.PartitionWork.ITS_BOUND);
        }
    }

    /** A row the copy's bound CHECK refused (check_violation, named by the server). */
    private static boolean outsideTheCopysBound(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.postgresql.util.PSQLException p && "23514".equals(p.getSQLState())
                    && p.getServerErrorMessage() != null
                    && io.pgrewrite.plan.PartitionNames.BOUND_CHECK.equals(p.getServerErrorMessage().getConstraint())) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code P__rw} carries foreign keys: then batches go round held rows. Catalog only. */
    private boolean copyHasKeys(PartitionWork w) {
        return Boolean.TRUE.equals(sql.queryOne(Capture.COPY_HAS_KEYS, Boolean.class, w.names().qRw()));
    }

    /**
     * Replays everything: for the swap, which holds P against writes while it does this (nobody holds a row of P
     * then, so the plain REPLAY, which logs nothing again: this loop ends).
     */
    public long replayAll(PartitionWork w, int batch) {
        long total = 0;
        try {
            for (Batch b = replay(w, batch); b.taken() > 0; b = replay(w, batch)) {
                total += b.taken();
            }
        } catch (DataAccessException e) {
            throwIfOutsideTheCopysBound(w, e); // the swap's transaction rolls back with it
            throw e;
        }
        return total;
    }

    /**
     * Replays batch after batch, each in a transaction of its own, until fewer than {@code small} changed
     * keys wait in the log (or the application writes faster than this replays for {@code maxBatches}).
     * Returns how many log rows it replayed.
     */
    public long untilSmall(PartitionWork w, long small, int maxBatches, TransactionTemplate tx) {
        if (sql.dryRun()) {
            return 0;
        }
        TransactionTemplate own = io.pgrewrite.pg.Transactions.requiresNew(tx);
        Boolean aroundHeldRows = null; // read when a batch is due (usually none is, for a small partition)
        long replayed = 0;
        for (int i = 0; i < maxBatches && pending(w) >= small; i++) {
            if (aroundHeldRows == null) {
                aroundHeldRows = copyHasKeys(w);
            }
            Batch b = replayCounted(w, aroundHeldRows, own);
            if (b == null) {
                break; // a lock wait stopped it: later (the swap catches up before every attempt, and under its lock)
            }
            replayed += b.taken();
            if (b.madeNoProgress()) {
                break; // every key it took is held by an open transaction: later
            }
        }
        return replayed;
    }

    static final String LAST_SEQ = "SELECT coalesce(max(seq), 0) FROM %s";
    static final String WAITING_UP_TO = "SELECT EXISTS (SELECT 1 FROM %s WHERE seq <= ?)";

    /**
     * Replays every key logged until now (batches take the oldest log rows first, so this ends however
     * fast the application keeps writing); later changes stay for the next catch up.
     */
    public long everythingLoggedSoFar(PartitionWork w, TransactionTemplate tx) {
        return sql.dryRun() ? 0 : everythingLoggedSoFar(w, tx, null);
    }

    /**
     * The same, going round held rows whatever the copy carries: the last catch up before the copy gets its foreign
     * keys (swap.ForeignKeyCopy). The copy's rows of keys logged before the capture function deleted from it are stale
     * (the application deleted or re-pointed them in P); a key enforced on the copy from then on would refuse the
     * application's delete of a row they reference, until the next catch up.
     */
    public long everythingLoggedSoFarAroundHeldRows(PartitionWork w, TransactionTemplate tx) {
        return sql.dryRun() ? 0 : everythingLoggedSoFar(w, tx, true);
    }

    /** @param aroundHeldRows null: as the copy's foreign keys say, read when a batch is due */
    private long everythingLoggedSoFar(PartitionWork w, TransactionTemplate tx, Boolean aroundHeldRows) {
        long last = sql.queryOne(String.format(LAST_SEQ, w.names().qLog()), Long.class);
        if (last == 0) {
            return 0; // the log is empty (seq starts at 1): nothing to replay, as the loop below would find
        }
        if (aroundHeldRows == null) {
            aroundHeldRows = copyHasKeys(w);
        }
        TransactionTemplate own = io.pgrewrite.pg.Transactions.requiresNew(tx);
        long replayed = 0;
        int stopped = 0;
        // Keys logged again (held by an open transaction) get a seq above last: the loop ends.
        while (Boolean.TRUE.equals(sql.queryOne(String.format(WAITING_UP_TO, w.names().qLog()), Boolean.class, last))) {
            Batch b = replayCounted(w, aroundHeldRows, own);
            if (b != null) {
                replayed += b.taken();
            } else if (++stopped >= LOCK_WAITS_TOLERATED) {
                log.info("{}: {} catch-up batches were stopped by a lock wait; what is left stays logged for the next catch up",
                        w.name(), stopped);
                break;
            } else {
                pause(50L * stopped);
            }
        }
        return replayed;
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while catching up", e);
        }
    }

    /** Counts at most {@code limit + 1} log rows: cheap under the swap's lock however long the log is. */
    static final String MORE_THAN = "SELECT count(*) > ? FROM (SELECT 1 FROM %s LIMIT ?) AS l";

    /** True when more than {@code limit} changed keys wait: the swap refuses to replay that many under its lock. */
    public boolean moreThan(PartitionWork w, long limit) {
        if (sql.dryRun()) {
            return false;
        }
        return Boolean.TRUE.equals(sql.queryOne(String.format(MORE_THAN, w.names().qLog()), Boolean.class, limit, limit + 1));
    }

    public long pending(PartitionWork w) {
        return sql.queryOne(String.format(PENDING, w.names().qLog()), Long.class);
    }
}
