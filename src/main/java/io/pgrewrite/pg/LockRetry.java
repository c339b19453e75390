package io.pgrewrite.pg;

import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Runs a short DDL transaction under {@code SET LOCAL lock_timeout}, and on a lock timeout (or a
 * deadlock) rolls it back, waits with exponential backoff and jitter, and tries again. Nothing of
 * ours ever waits unbounded in the lock queue: a waiting ACCESS EXCLUSIVE request blocks every later
 * query on the table, so the application queues behind us for at most one lock timeout per attempt.
 */
public final class LockRetry {

    private static final Logger log = LoggerFactory.getLogger(LockRetry.class);

    /**
     * Bound, so the timeout is a value and not SQL text; {@code true} makes both LOCAL to the transaction.
     * synchronous_commit off: the locks go the moment the commit record is written, not after its fsync.
     * A database crash can lose only the tail of our commits, never out of order (WAL is flushed in
     * sequence, so any later commit of the application's makes ours durable too), and every step is
     * idempotent: a lost commit is done again by restart.
     */
    static final String SET_LOCK_TIMEOUT = "SELECT set_config('lock_timeout', ?, true), set_config('synchronous_commit', 'off', true)";

    /** Who holds or waits for a lock on the relations we could not lock, for the error message. */
    static final String LOCK_HOLDERS = """
            SELECT DISTINCT a.pid, coalesce(a.state, '?') AS state, l.mode, l.granted,
                   coalesce(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start)), 0) AS age_s,
                   left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200) AS query,
                   l.relation::regclass::text AS relation
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.relation = ANY (?::regclass[]) AND a.pid <> pg_backend_pid()
             ORDER BY l.granted DESC, age_s DESC
            """;

    /**
     * Autovacuum workers holding a lock on the relations (or their partitions). Autovacuum yields to a
     * lock waiter only after deadlock_timeout (1 s), longer than our lock_timeout, so it would win every
     * attempt; like pg_repack we cancel it (it comes back later). Never one that prevents wraparound.
     */
    static final String AUTOVACUUM_BLOCKERS = """
            SELECT DISTINCT a.pid, l.relation::regclass::text AS relation
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE a.backend_type = 'autovacuum worker' AND l.granted
               AND a.query NOT LIKE '%%to prevent wraparound%%'
               AND l.relation IN (SELECT t.relid FROM unnest(?::regclass[]) AS r(rel), pg_partition_tree(r.rel) AS t)
            """.replace("%%", "%");

    static final String CANCEL = "SELECT pg_cancel_backend(?)";

    private final TransactionTemplate tx;
    private final SqlRunner sql;
    private final Duration lockTimeout;
    private final int maxAttempts;

    /**
     * @param tx any template on the target's transaction manager; each attempt runs in a new
     *           transaction of its own (REQUIRES_NEW), never inside the caller's, so that a timeout
     *           rolls back only the attempt and SET LOCAL ends with it
     */
    public LockRetry(TransactionTemplate tx, SqlRunner sql, Duration lockTimeout, int maxAttempts) {
        this.tx = Transactions.requiresNew(tx);
        this.sql = sql;
        this.lockTimeout = lockTimeout;
        this.maxAttempts = maxAttempts;
    }

    /** What one successful run measured. */
    public record Outcome<T>(T value, int attempts, double lockWaitMs, double lockHoldMs) {
    }

    /** Passed to the body so it can say when its locks are held (lock wait ends, lock hold starts). */
    public static final class Timing {
        private final long begin = System.nanoTime();
        private long locked;

        public void locked() {
            locked = System.nanoTime();
        }

        long lockedAt() {
            return locked == 0 ? begin : locked;
        }
    }

    /**
     * @param what     for messages: "swap of passage_20240312"
     * @param relations qualified, quoted names of the relations the body locks, for the message on failure
     */
    public <T> Outcome<T> run(String what, List<String> relations, Function<Timing, T> body) {
        if (sql.dryRun()) {
            sql.print("BEGIN");
            sql.print("SET LOCAL lock_timeout = '" + lockTimeout.toMillis() + "ms'");
            T value = body.apply(new Timing());
            sql.print("COMMIT");
            return new Outcome<>(value, 1, 0, 0);
        }
        for (int attempt = 1; ; attempt++) {
            Timing timing = new Timing();
            try {
                T value = tx.execute(status -> {
                    sql.jdbc().queryForList(SET_LOCK_TIMEOUT, lockTimeout.toMillis() + "ms");
                    return body.apply(timing);
                });
                long end = System.nanoTime();
                return new Outcome<>(value, attempt, (timing.lockedAt() - timing.begin) / 1e6,
                        (end - timing.lockedAt()) / 1e6);
            } catch (DataAccessException e) {
                if (!isLockFailure(e)) {
                    throw e;
                }
                if (attempt >= maxAttempts) {
                    throw new LockNotAvailableException(what + ": could not get its locks in " + attempt
                            + " attempts of " + lockTimeout.toMillis() + " ms each. " + describeHolders(relations)
                            + " Let that finish (or end it), or raise swap.max-attempts / swap.lock-timeout, then restart.", e);
                }
                if (cancelAutovacuum(what, relations)) {
                    sleep(50);
                    continue; // retry at once: the blocker was autovacuum, and it is gone
                }
                long backoff = backoffMillis(attempt);
                log.info("{}: lock not available (attempt {}/{}), retrying in {} ms", what, attempt, maxAttempts, backoff);
                sleep(backoff);
            }
        }
    }

    private boolean cancelAutovacuum(String what, List<String> relations) {
        try {
            var rows = sql.queryRows(AUTOVACUUM_BLOCKERS, (Object) relations.toArray(String[]::new));
            boolean cancelled = false;
            for (var r : rows) {
                if (Boolean.TRUE.equals(sql.queryOne(CANCEL, Boolean.class, r.get("pid")))) {
                    log.info("{}: cancelled autovacuum (pid {}) on {}, which held the lock", what, r.get("pid"), r.get("relation"));
                    cancelled = true;
                }
            }
            return cancelled;
        } catch (DataAccessException e) {
            log.debug("could not cancel autovacuum: {}", e.getMessage());
            return false;
        }
    }

    long backoffMillis(int attempt) {
        double base = Math.max(50, lockTimeout.toMillis()) * Math.pow(2, Math.min(attempt - 1, 8));
        double capped = Math.min(base, 10_000);
        return (long) (capped * ThreadLocalRandom.current().nextDouble(0.5, 1.5));
    }

    private String describeHolders(List<String> relations) {
        try {
            var rows = sql.queryRows(LOCK_HOLDERS, (Object) relations.toArray(String[]::new));
            if (rows.isEmpty()) {
                return "Nobody holds a lock on them now (it was a passing conflict).";
            }
            StringBuilder b = new StringBuilder("Held or awaited by:");
            for (var r : rows) {
                b.append(String.format(" [pid %s, %s, %s%s on %s, for %.1f s: %s]", r.get("pid"), r.get("state"),
                        r.get("mode"), Boolean.TRUE.equals(r.get("granted")) ? " granted" : " waiting",
                        r.get("relation"), ((Number) r.get("age_s")).doubleValue(), r.get("query")));
            }
            return b.append('.').toString();
        } catch (DataAccessException e) {
            return "(could not read pg_locks: " + e.getMostSpecificCause().getMessage() + ")";
        }
    }

    static boolean isLockFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s && ("55P03".equals(s.getSQLState()) || "40P01".equals(s.getSQLState()))) {
                return true;
            }
        }
        return false;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting to retry a lock", e);
        }
    }

    /** Attempts exhausted: the message names what held the lock. */
    public static final class LockNotAvailableException extends RuntimeException {
        LockNotAvailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
