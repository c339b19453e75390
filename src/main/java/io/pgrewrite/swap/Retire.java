package io.pgrewrite.swap;

import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.copy.Capture;
import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.plan.PartitionWork;

/**
 * retire: drops {@code P__old} (or keeps it, detached, when the definition says {@code retire: keep}),
 * with it the capture trigger, then the change log and its function. Idempotent. The job's retire (job.BackgroundRetire)
 * and the dry run share the drop; the job's checks under the drop's lock that the name is still the table the swap made
 * P__old of before it drops by that name.
 */
public final class Retire {

    /** ACCESS EXCLUSIVE on P__old, which nobody can reach through the parent any more; a query that
     * started before the swap may still hold it, so lock_timeout and retries apply. The log and the function
     * dropped after it in the same transaction are used by nobody since the swap (only P__old's trigger wrote
     * the log): they add two catalog drops, no wait, to the time P__old stays locked. */
    public static final String DROP_OLD = "DROP TABLE IF EXISTS %s";

    private final SqlRunner sql;
    private final LockRetry lockRetry;
    private final Capture capture;

    public Retire(SqlRunner sql, LockRetry lockRetry, Capture capture) {
        this.sql = sql;
        this.lockRetry = lockRetry;
        this.capture = capture;
    }

    /**
     * With {@code retire: drop}, one transaction drops {@code P__old} (its capture trigger goes with it), the change
     * log and the capture function, in one round trip. A transaction that drops a table flushes WAL at its commit
     * whatever synchronous_commit says (PostgreSQL must not lose the unlink): as two transactions, retire paid that
     * flush twice. A crash leaves all three or none (a restart drops them then; each drop is IF EXISTS).
     */
    public void retire(PartitionWork w, boolean keepOld) {
        retire(w.names(), keepOld, () -> { });
    }

    /**
     * {@link #retire(PartitionWork, boolean)}, with {@code record} run in the drop's transaction after the drops (so
     * what it writes commits with them, or rolls back with an attempt that timed out); with {@code keepOld} it runs
     * after the capture trigger, log and function are removed, in the caller's transaction.
     */
    public void retire(PartitionNames n, boolean keepOld, Runnable record) {
        retire(n, keepOld, () -> true, record);
    }

    /**
     * {@link #retire(PartitionNames, boolean, Runnable)}, where the drop first asks {@code stillTheSwappedOutTable}, inside
     * its transaction, whether P__old by its name is still the table the swap made of it (job.SwappedOutTable: it locks
     * the name and checks under the lock, between the LOCK and the DROP); false: nothing is dropped or recorded, the
     * transaction commits having changed nothing, and this returns false. With {@code keepOld}: always true.
     */
    public boolean retire(PartitionNames n, boolean keepOld, java.util.function.BooleanSupplier stillTheSwappedOutTable, Runnable record) {
        if (keepOld) {
            capture.remove(n, n.qOld());
            record.run();
            return true;
        }
        List<String> drops = new ArrayList<>();
        drops.add(String.format(DROP_OLD, n.qOld()));
        drops.addAll(capture.logAndFunctionDrops(n)); // the capture trigger went with P__old
        return lockRetry.run("drop " + n.old() + " and its change log", List.of(n.qOld(), n.qLog()), t -> {
            if (!stillTheSwappedOutTable.getAsBoolean()) {
                return false;
            }
            sql.executeAll(drops);
            FaultPoints.reach("retire:dropped-old", n.partition()); // dropped, not yet committed
            record.run();
            return true;
        }).value();
    }
}
