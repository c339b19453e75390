package io.pgrewrite.swap;

import java.util.List;

import io.pgrewrite.copy.Capture;
import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.PartitionNames;
import io.pgrewrite.plan.PartitionWork;

/**
 * retire: drops {@code P__old} (or keeps it, detached, when the definition says {@code retire: keep}),
 * with it the capture trigger, then the change log and its function. Idempotent.
 */
public final class Retire {

    /** ACCESS EXCLUSIVE on P__old, which nobody can reach through the parent any more; a query that
     * started before the swap may still hold it, so lock_timeout and retries apply. */
    static final String DROP_OLD = "DROP TABLE IF EXISTS %s";

    private final SqlRunner sql;
    private final LockRetry lockRetry;
    private final Capture capture;

    public Retire(SqlRunner sql, LockRetry lockRetry, Capture capture) {
        this.sql = sql;
        this.lockRetry = lockRetry;
        this.capture = capture;
    }

    public void retire(PartitionWork w, boolean keepOld) {
        PartitionNames n = w.names();
        if (keepOld) {
            capture.remove(n, n.qOld());
        } else {
            lockRetry.run("drop " + n.old(), List.of(n.qOld()), t -> sql.execute(String.format(DROP_OLD, n.qOld())));
            FaultPoints.reach("retire:dropped-old", n.partition());
            capture.remove(n, n.qOld());
        }
    }
}
