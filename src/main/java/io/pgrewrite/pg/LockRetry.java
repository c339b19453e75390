package io.pgrewrite.pg;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
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
 * <p>
 * What a DBA can rely on:
 * <ul>
 * <li>Before every attempt, autovacuum holding a lock on a relation the transaction must lock (for a
 *     partitioned table: on any partition) is cancelled, where our role may do so.</li>
 * <li>An attempt stopped only by autovacuum does not count against {@code swap.max-attempts}: those are
 *     for conflicts with the application. Where we may not cancel autovacuum (not a superuser, no
 *     PostgreSQL 18's {@code pg_signal_autovacuum_worker}), we wait for its lock longer than
 *     {@code deadlock_timeout}, after which PostgreSQL itself cancels an autovacuum that blocks a lock request
 *     (unless it prevents wraparound) — in SHARE UPDATE EXCLUSIVE mode and holding nothing else, so the
 *     application's reads and writes do not queue behind that wait.</li>
 * <li>The backoff between counted attempts doubles (with jitter upwards only), up to 10 s.</li>
 * <li>The failure names the sessions that blocked the last attempt, as seen while it waited
 *     ({@code pg_blocking_pids} of our backend, sampled from a second connection).</li>
 * <li>The transaction cannot outlive a stalled or dead pgrewrite: {@code idle_in_transaction_session_timeout}
 *     ends it when our side goes quiet, and transactions that lock a partitioned table (the whole table
 *     for the application) get a {@code statement_timeout} too.</li>
 * </ul>
 */
public final class LockRetry {

    private static final Logger log = LoggerFactory.getLogger(LockRetry.class);

    /**
     * Bound, so the timeouts are values and not SQL text; {@code true} makes all of them LOCAL to the
     * transaction. statement_timeout only where the transaction locks a partitioned table (the whole table
     * for the application), so every statement under it must be short; elsewhere (an index build on P__rw)
     * a statement takes as long as it takes. Which of the relations are partitioned (have a pg_partitioned_table
     * row) is read here, in the same statement (catalog only, no locks): it was a query of its own before every
     * lock operation of every partition. Written so that the server keeps one generic plan for it (a join
     * with unnest of the bound list was planned afresh on every execution). synchronous_commit off: the locks go the moment the commit record is written, not after
     * its fsync. A database crash can lose only the tail of our commits, never out of order (WAL is flushed
     * in sequence, so any later commit of the application's makes ours durable too), and every step is
     * idempotent: a lost commit is done again by restart. idle_in_transaction_session_timeout: if this JVM
     * stalls (GC, SIGSTOP, a dead host) between two statements while holding the locks, the server ends the
     * session and the application's queries go on; the attempt is lost, restart does it again.
     * Returns our backend's pid, for the blocker sampling, and whether autovacuum holds a lock on the relations
     * ({@link #AUTOVACUUM_AT_WORK_EXPRESSION}, asked here and not in a statement of its own before every attempt:
     * one round trip less for each lock operation, six a partition). The statement locks none of the relations
     * and no shared catalog (only pg_partitioned_table and pg_inherits, in ACCESS SHARE mode, as any query
     * does), so an attempt that finds autovacuum on them rolls back having held nothing of theirs, clears it and
     * tries again. Parameters: lock_timeout, the relations, statement_timeout, idle_in_transaction_session_timeout,
     * whether to look for autovacuum at all, the relations again, and whether their partitions count.
     */
    static final String SET_LIMITS = """
            SELECT pg_backend_pid(), set_config('lock_timeout', ?, true),
                   set_config('statement_timeout', CASE WHEN EXISTS (SELECT 1 FROM pg_partitioned_table p
                                                                      WHERE p.partrelid = ANY (ARRAY(SELECT to_regclass(unnest(?::text[])))))
                                                         THEN ? ELSE '0' END, true),
                   set_config('idle_in_transaction_session_timeout', ?, true), set_config('synchronous_commit', 'off', true),
            """ + LockRetry.AUTOVACUUM_AT_WORK_EXPRESSION;

    /** deadlock_timeout in ms: how long a lock waiter waits before PostgreSQL cancels a blocking autovacuum. */
    static final String DEADLOCK_TIMEOUT = "SELECT " + millis("deadlock_timeout");

    /**
     * A time setting in ms, from {@code current_setting} (which shows it with its unit: 200ms, 1s, 5min, 1d, 0),
     * not from {@code pg_settings}: that view builds a row for every one of the server's settings whatever the
     * WHERE clause. The swap read it three times a partition, twice under the parent's ACCESS EXCLUSIVE lock; on
     * this 2-core machine at a load of 8-20, 3-4 ms a read (the swap's two-read statement 8.1-9.5 ms, 0.18-0.31 ms
     * with this expression), on the way of every small partition.
     */
    public static String millis(String setting) {
        return "(extract(epoch FROM current_setting('" + setting + "')::interval) * 1000)::bigint";
    }

    /**
     * Who blocks our backend right now, from a second connection while the attempt waits. Reads shared
     * memory only. An autovacuum worker runs as no user (usesysid NULL); without pg_read_all_stats we
     * cannot see its backend_type or query, but that much we see.
     */
    static final String BLOCKERS = """
            SELECT a.pid,
                   coalesce(a.backend_type = 'autovacuum worker', a.usesysid IS NULL) AS autovacuum,
                   coalesce(a.query LIKE '%to prevent wraparound%', false) AS wraparound,
                   coalesce(a.backend_type, '?') AS backend_type, coalesce(a.state, '?') AS state,
                   coalesce(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start)), 0) AS age_s,
                   left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200) AS query,
                   (SELECT string_agg(DISTINCT l.mode || CASE WHEN l.granted THEN ' granted' ELSE ' waiting' END
                                      || ' on ' || l.relation::regclass::text, ', ')
                      FROM pg_locks l
                     WHERE l.pid = a.pid AND l.relation IN (SELECT w.relation FROM pg_locks w WHERE w.pid = ? AND NOT w.granted)
                   ) AS locks
              FROM pg_stat_activity a
             WHERE a.pid = ANY (pg_blocking_pids(?))
            """;

    /** After an attempt failed without a sample: who holds or waits for a lock on the relations now. */
    static final String LOCK_HOLDERS = """
            SELECT DISTINCT a.pid, coalesce(a.backend_type = 'autovacuum worker', a.usesysid IS NULL) AS autovacuum,
                   false AS wraparound, coalesce(a.backend_type, '?') AS backend_type, coalesce(a.state, '?') AS state,
                   coalesce(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start)), 0) AS age_s,
                   left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200) AS query,
                   l.mode || CASE WHEN l.granted THEN ' granted' ELSE ' waiting' END || ' on ' || l.relation::regclass::text AS locks
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.relation IN (SELECT to_regclass(r.name) FROM unnest(?::text[]) AS r(name)
                                  UNION ALL -- pg_partition_tree has no rows for a plain table
                                  SELECT t.relid FROM unnest(?::text[]) AS r(name), pg_partition_tree(to_regclass(r.name)) AS t)
               AND a.pid <> pg_backend_pid()
            """;

    /**
     * Does an autovacuum worker (or, unseen without pg_read_all_stats, any role-less process) hold a lock on one of
     * the relations, or with {@link Scope#TREES} on one of their partitions? Asked on every attempt, in
     * {@link #SET_LIMITS}, before {@link #AUTOVACUUM_ON}, which it can only answer "none" for: AUTOVACUUM_ON (its
     * cancellable column, pg_partition_tree, which locks every partition) is asked only when this says yes. Only
     * autovacuum on our relations says yes: on a database where autovacuum is always at work on some table, the
     * attempts on ours go on without a rollback. The functions, not the views pg_locks and pg_stat_activity: those
     * join pg_database and pg_authid, whose ACCESS SHARE locks (shared catalogs, not fast-path) the transaction
     * would hold until its end, behind which a VACUUM FULL of them, and every login after it, would queue. The
     * first bound boolean off (an attempt just after clearing, the wait for autovacuum): the scan is not made.
     */
    static final String AUTOVACUUM_AT_WORK_EXPRESSION = """
                   CASE WHEN ?::boolean THEN EXISTS (
                       SELECT 1 FROM pg_lock_status() l JOIN pg_stat_get_activity(NULL) a ON a.pid = l.pid
                        WHERE l.locktype = 'relation' AND l.granted
                          AND l.database = (SELECT s.datid FROM pg_stat_get_activity(pg_backend_pid()) s)
                          AND coalesce(a.backend_type = 'autovacuum worker', a.usesysid IS NULL)
                          AND (l.relation = ANY (ARRAY(SELECT to_regclass(unnest(?::text[]))))
                               OR (?::boolean AND EXISTS (SELECT 1 FROM pg_partition_ancestors(l.relation) x
                                                          WHERE x.relid = ANY (ARRAY(SELECT to_regclass(unnest(?::text[]))))))))
                   ELSE false END
            """;

    /**
     * Autovacuum workers holding a lock on the relations, or on any partition of them when the whole tree
     * is locked ({@link Scope#TREES}). Autovacuum yields to a lock waiter only after deadlock_timeout (1 s),
     * longer than our lock_timeout, so it would win every attempt; like pg_repack we cancel it (it comes
     * back later). Never one that prevents wraparound, nor one whose query we cannot see (it might be).
     */
    static final String AUTOVACUUM_ON = """
            SELECT DISTINCT a.pid, l.relation::regclass::text AS relation, n.nspname, c.relname,
                   (a.query IS NOT NULL AND a.query <> '<insufficient privilege>'
                    AND a.query NOT LIKE '%to prevent wraparound%') AS cancellable
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE coalesce(a.backend_type = 'autovacuum worker', a.usesysid IS NULL) AND l.granted
               AND l.relation IN (SELECT to_regclass(r.name) FROM unnest(?::text[]) AS r(name)
                                  UNION ALL -- pg_partition_tree has no rows for a plain table
                                  SELECT t.relid FROM unnest(?::text[]) AS r(name), pg_partition_tree(to_regclass(r.name)) AS t
                                   WHERE ?)
            """;

    /**
     * Needs superuser (PostgreSQL 18: pg_signal_autovacuum_worker); pg_signal_backend cannot signal a
     * process without a role. Denied, it raises 42501 and we wait instead.
     */
    /**
     * Waits, holding nothing else, for the lock an autovacuum worker holds on one relation. SHARE UPDATE
     * EXCLUSIVE conflicts with VACUUM and ANALYZE but not with reads or DML, so the application does not
     * queue behind this wait; after deadlock_timeout PostgreSQL cancels the autovacuum that blocks it
     * (never one that prevents wraparound). lock_timeout bounds the wait; the lock goes at commit.
     */
    static final String WAIT_FOR_AUTOVACUUM = "LOCK TABLE %s IN SHARE UPDATE EXCLUSIVE MODE";

    static final String CANCEL = "SELECT pg_cancel_backend(?)";

    /** Which relations an attempt must keep autovacuum off. */
    public enum Scope {
        /** the relations and all their partitions (expand, contract: ALTER TABLE on the parent locks them all) */
        TREES,
        /** exactly the relations named (the swap: LOCK TABLE ONLY the parent, then P and its copy) */
        ONLY
    }

    /** The body refuses to go on under the locks (say, too much left to replay): roll back, retry, not counted. */
    public static final class NotNow extends RuntimeException {
        public NotNow(String reason) {
            super(reason);
        }
    }

    /** {@link #SET_LIMITS} found autovacuum at work on the relations: the attempt stops before its body. */
    private static final class AutovacuumAtWork extends RuntimeException {
        AutovacuumAtWork() {
            super(null, null, false, false);
        }
    }

    /** Someone who blocked an attempt. */
    record Blocker(int pid, boolean autovacuum, boolean wraparound, String description) {
        static Blocker of(Map<String, Object> r) {
            return new Blocker(((Number) r.get("pid")).intValue(), Boolean.TRUE.equals(r.get("autovacuum")),
                    Boolean.TRUE.equals(r.get("wraparound")),
                    String.format("pid %s, %s, %s, %s, for %.1f s: %s", r.get("pid"), r.get("backend_type"), r.get("state"),
                            r.get("locks") == null ? "holding a conflicting lock" : r.get("locks"),
                            ((Number) r.get("age_s")).doubleValue(), r.get("query")));
        }
    }

    /** Seam for tests: who blocked an attempt, and cancelling autovacuum. */
    interface Blockers {
        /** Starts sampling who blocks backend {@code pid}; the handle returns the last non-empty sample. */
        Sampling watch(int pid);

        /** Who holds or waits for locks on the relations now (when nothing was sampled). */
        List<Blocker> holders(List<String> relations);

        /**
         * Is autovacuum at work on our relations, given what the server said in {@link #SET_LIMITS}: an attempt
         * that finds it so clears it off them first.
         */
        boolean atWork(boolean serverSays);

        /** Cancels autovacuum on the relations; returns how many were cancelled, -1 when not permitted. */
        int cancelAutovacuum(List<String> relations, Scope scope);

        /** Waits up to {@code millis} for autovacuum's locks on the relations, without blocking the application. */
        void waitOutAutovacuum(List<String> relations, Scope scope, long millis);
    }

    interface Sampling {
        List<Blocker> stop();
    }

    private static final ScheduledExecutorService SAMPLER = Executors.newScheduledThreadPool(2, r -> {
        Thread t = new Thread(r, "pgrewrite-lock-sampler");
        t.setDaemon(true);
        return t;
    });

    /** "May not cancel autovacuum" is said once per process, not once per attempt. */
    private static final AtomicBoolean SAID_CANNOT_CANCEL = new AtomicBoolean();

    /**
     * Autovacuum met by this process's lock attempts, summed over the run, for the report's one line: per
     * operation it is routine on a busy table and read as an alarm when printed each time.
     */
    public static final AutovacuumTally AUTOVACUUM_IN_THE_WAY = new AutovacuumTally();

    /** Outside io.pgrewrite: the console leaves it out (logback.xml keeps it for the log file and --verbose). */
    private static final org.slf4j.Logger AUTOVACUUM_LOG = org.slf4j.LoggerFactory.getLogger("pgrewrite.autovacuum");

    /** Operations that met autovacuum, how often it was cancelled, attempts it alone stopped. */
    public static final class AutovacuumTally {
        private final java.util.concurrent.atomic.AtomicLong operations = new java.util.concurrent.atomic.AtomicLong();
        private final java.util.concurrent.atomic.AtomicLong cancelled = new java.util.concurrent.atomic.AtomicLong();
        private final java.util.concurrent.atomic.AtomicLong stopped = new java.util.concurrent.atomic.AtomicLong();

        void record(int cancels, int stops) {
            operations.incrementAndGet();
            cancelled.addAndGet(cancels);
            stopped.addAndGet(stops);
        }

        /** The tally now, to sum only what comes after (a scheduler process runs many jobs). */
        public long[] mark() {
            return new long[] {operations.get(), cancelled.get(), stopped.get()};
        }

        /** One line for the report about what came after {@code mark}, or null when autovacuum never got in the way. */
        public String summarySince(long[] mark) {
            long ops = operations.get() - mark[0];
            return ops == 0 ? null : "autovacuum: in the way of " + ops + " lock operation(s) of this run, cancelled "
                    + (cancelled.get() - mark[1]) + " time(s), " + (stopped.get() - mark[2])
                    + " attempt(s) retried because of it alone (routine on a table autovacuum works on; each one is in the log file)";
        }
    }

    /** Attempts stopped only by autovacuum, allowed per run on top of max-attempts: never endless. */
    static final int AUTOVACUUM_RETRIES_PER_ATTEMPT = 5;

    /** Consecutive refusals of the body ({@link NotNow}) before the run gives up. */
    static final int MAX_REFUSALS = 50;

    private final TransactionTemplate tx;
    private final SqlRunner sql;
    private final Duration lockTimeout;
    private final int maxAttempts;
    private final Blockers blockers;

    /**
     * @param tx any template on the target's transaction manager; each attempt runs in a new
     *           transaction of its own (REQUIRES_NEW), never inside the caller's, so that a timeout
     *           rolls back only the attempt and SET LOCAL ends with it
     */
    public LockRetry(TransactionTemplate tx, SqlRunner sql, Duration lockTimeout, int maxAttempts) {
        this(tx, sql, lockTimeout, maxAttempts, null);
    }

    LockRetry(TransactionTemplate tx, SqlRunner sql, Duration lockTimeout, int maxAttempts, Blockers blockers) {
        this.tx = Transactions.requiresNew(tx);
        this.sql = sql;
        this.lockTimeout = lockTimeout;
        this.maxAttempts = maxAttempts;
        this.blockers = blockers != null ? blockers : new DatabaseBlockers();
    }

    Blockers blockers() {
        return blockers;
    }

    /** What one successful run measured. */
    public record Outcome<T>(T value, int attempts, double lockWaitMs, double lockHoldMs) {
    }

    /** Passed to the body so it can say when its locks are held (lock wait ends, lock hold starts). */
    public static final class Timing {
        private long begin = System.nanoTime();
        private long locked;

        /**
         * The wait for the locks the application queues behind starts now: what the body waited for before
         * (another swap of the same table, on an advisory lock) is not counted as lock wait.
         */
        public void queued() {
            begin = System.nanoTime();
        }

        public void locked() {
            locked = System.nanoTime();
        }

        long lockedAt() {
            return locked == 0 ? begin : locked;
        }
    }

    /**
     * The limits of a transaction beside an attempt's, on a connection of its own (the index phase's second
     * connection): the same lock_timeout and idle limit, no statement_timeout (as for an attempt that locks no
     * partitioned table: a role's or database's own would cancel a long index build), synchronous_commit off. Numbers
     * only, from the settings.
     */
    public String sideLimits() {
        return "SET LOCAL lock_timeout = '" + lockTimeout.toMillis() + "ms'; SET LOCAL statement_timeout = 0;"
                + " SET LOCAL idle_in_transaction_session_timeout = '"
                + idleLimit().toMillis() + "ms'; SET LOCAL synchronous_commit = off";
    }

    /** Longest wait in the idle state inside our transaction before the server ends it. */
    Duration idleLimit() {
        return Duration.ofMillis(Math.max(2_000, lockTimeout.toMillis() * 5));
    }

    /** Longest statement in a transaction that locks a partitioned table (the lock waits are shorter). */
    Duration statementLimit() {
        return Duration.ofMillis(lockTimeout.toMillis() + 10_000);
    }

    /**
     * @param what     for messages: "swap of passage_20240312"
     * @param relations qualified, quoted names of the relations the body locks, for the message on failure;
     *                 autovacuum is cleared from them and all their partitions
     */
    public <T> Outcome<T> run(String what, List<String> relations, Function<Timing, T> body) {
        return run(what, relations, Scope.TREES, () -> { }, body);
    }

    /**
     * @param beforeEachAttempt runs outside the transaction before every attempt (the swap catches up there)
     */
    public <T> Outcome<T> run(String what, List<String> relations, Scope scope, Runnable beforeEachAttempt,
            Function<Timing, T> body) {
        if (sql.dryRun()) {
            sql.print("BEGIN");
            sql.print("SET LOCAL lock_timeout = '" + lockTimeout.toMillis() + "ms'");
            sql.print("SET LOCAL idle_in_transaction_session_timeout = '" + idleLimit().toMillis() + "ms'");
            T value = body.apply(new Timing());
            sql.print("COMMIT");
            return new Outcome<>(value, 1, 0, 0);
        }
        String[] names = relations.toArray(String[]::new);
        int attempts = 0;
        int conflicts = 0;
        int autovacuumStops = 0;
        int cancelled = 0;
        int refusals = 0;
        boolean clearAutovacuum = false;
        while (true) {
            if (!clearAutovacuum) {
                beforeEachAttempt.run(); // not again when the attempt only stopped to clear autovacuum first
            }
            boolean cleared = clearAutovacuum;
            if (clearAutovacuum) {
                clearAutovacuum = false;
                int c = blockers.cancelAutovacuum(relations, scope);
                if (c > 0) {
                    cancelled += c;
                    sleep(50); // a cancel is a signal: give the worker a moment to let go of its locks
                }
            }
            attempts++;
            long timeout = lockTimeout.toMillis();
            Timing timing = new Timing();
            AtomicReference<Sampling> sampling = new AtomicReference<>();
            List<Blocker> seen = List.of();
            try {
                T value;
                try {
                    value = tx.execute(status -> {
                        int pid = sql.jdbc().queryForObject(SET_LIMITS, (rs, i) -> {
                            if (!cleared && blockers.atWork(rs.getBoolean(6))) {
                                throw new AutovacuumAtWork();
                            }
                            return rs.getInt(1);
                        }, timeout + "ms", names, statementLimit().toMillis() + "ms", idleLimit().toMillis() + "ms",
                                !cleared, names, scope == Scope.TREES, names);
                        sampling.set(blockers.watch(pid));
                        return body.apply(timing);
                    });
                } finally {
                    if (sampling.get() != null) {
                        seen = sampling.get().stop();
                    }
                }
                long end = System.nanoTime();
                if (cancelled > 0 || autovacuumStops > 0) {
                    // Routine on a busy table: one line per operation in the log file (and with --verbose), not on
                    // the console; the run's report sums them in one line.
                    AUTOVACUUM_LOG.info("{}: done after {} attempt(s); cancelled autovacuum {} time(s), {} attempt(s) stopped by autovacuum only",
                            what, attempts, cancelled, autovacuumStops);
                    AUTOVACUUM_IN_THE_WAY.record(cancelled, autovacuumStops);
                }
                return new Outcome<>(value, attempts, (timing.lockedAt() - timing.begin) / 1e6,
                        (end - timing.lockedAt()) / 1e6);
            } catch (AutovacuumAtWork e) {
                // Rolled back before the body, holding no lock: clear autovacuum off our relations, then the attempt.
                attempts--;
                clearAutovacuum = true;
            } catch (NotNow e) {
                if (++refusals >= MAX_REFUSALS) {
                    throw new IllegalStateException(what + ": gave up after " + refusals + " tries, each time " + e.getMessage()
                            + ". Run it when the application writes less, then restart.", e);
                }
                log.info("{}: not now, {}; trying again", what, e.getMessage());
            } catch (DataAccessException e) {
                if (!isLockFailure(e)) {
                    throw e;
                }
                refusals = 0;
                if (seen.isEmpty()) {
                    seen = blockers.holders(relations);
                }
                boolean onlyAutovacuum = !seen.isEmpty() && seen.stream().allMatch(b -> b.autovacuum() && !b.wraparound());
                if (onlyAutovacuum && autovacuumStops < AUTOVACUUM_RETRIES_PER_ATTEMPT * maxAttempts) {
                    autovacuumStops++;
                    int k = blockers.cancelAutovacuum(relations, scope);
                    if (k < 0) {
                        // We may not cancel it: wait past deadlock_timeout, and PostgreSQL cancels it for us.
                        if (SAID_CANNOT_CANCEL.compareAndSet(false, true)) {
                            log.warn("{}: autovacuum holds a lock we need and this role may not cancel it (that takes superuser,"
                                    + " on PostgreSQL 18 pg_signal_autovacuum_worker with pg_read_all_stats); waiting past"
                                    + " deadlock_timeout instead (in SHARE UPDATE EXCLUSIVE mode, which the application does"
                                    + " not queue behind), after which PostgreSQL cancels it. Said once.", what);
                        }
                        blockers.waitOutAutovacuum(relations, scope, deadlockTimeoutMillis() + 500);
                    } else {
                        cancelled += k;
                    }
                    continue; // not a conflict with the application: does not count as an attempt
                }
                conflicts++;
                if (conflicts >= maxAttempts) {
                    throw new LockNotAvailableException(what + ": could not get its locks in " + conflicts
                            + " attempts of " + lockTimeout.toMillis() + " ms each"
                            + (autovacuumStops > 0 ? " (and " + autovacuumStops + " more stopped by autovacuum, cancelled " + cancelled + " time(s))" : "")
                            + ". " + describe(seen)
                            + " Let that finish (or end it), or raise swap.max-attempts / swap.lock-timeout, then restart.", e);
                }
                long backoff = backoffMillis(conflicts);
                log.info("{}: lock not available (attempt {}/{}), retrying in {} ms. {}", what, conflicts, maxAttempts, backoff,
                        describe(seen));
                sleep(backoff);
            }
        }
    }

    /**
     * Grows with every counted attempt: doubles from the lock timeout (at least 50 ms), jitter only upwards
     * (×1 to ×1.5) so that the next wait is never shorter than this one, capped at 10 s.
     */
    long backoffMillis(int attempt) {
        double base = Math.max(50, lockTimeout.toMillis()) * Math.pow(2, Math.min(attempt - 1, 16));
        return (long) Math.min(10_000, base * ThreadLocalRandom.current().nextDouble(1.0, 1.5));
    }

    private long deadlockTimeoutMillis() {
        try {
            return sql.queryOne(DEADLOCK_TIMEOUT, Long.class);
        } catch (DataAccessException e) {
            return 1000;
        }
    }

    static String describe(List<Blocker> seen) {
        if (seen.isEmpty()) {
            return "Nobody held a lock on them when it was looked at (it was a passing conflict).";
        }
        StringBuilder b = new StringBuilder("Blocked by:");
        for (Blocker x : seen) {
            b.append(" [").append(x.description()).append(']');
        }
        return b.append('.').toString();
    }

    /** A lock timeout or a deadlock, anywhere in the cause chain. */
    public static boolean isLockFailure(Throwable e) {
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

    /** The real thing: pg_blocking_pids sampled from a second connection, pg_cancel_backend. */
    private final class DatabaseBlockers implements Blockers {

        @Override
        public Sampling watch(int pid) {
            AtomicReference<List<Blocker>> last = new AtomicReference<>(List.of());
            long every = Math.max(20, Math.min(250, lockTimeout.toMillis() / 4));
            ScheduledFuture<?> f = SAMPLER.scheduleWithFixedDelay(() -> {
                try {
                    List<Blocker> now = new ArrayList<>();
                    for (var r : sql.queryRows(BLOCKERS, pid, pid)) {
                        now.add(Blocker.of(r));
                    }
                    if (!now.isEmpty()) {
                        last.set(now);
                    }
                } catch (RuntimeException e) {
                    log.debug("could not sample lock blockers: {}", e.getMessage());
                }
            }, every, every, TimeUnit.MILLISECONDS);
            return () -> {
                f.cancel(false);
                return last.get();
            };
        }

        @Override
        public List<Blocker> holders(List<String> relations) {
            try {
                return sql.queryRows(LOCK_HOLDERS, relations.toArray(String[]::new), relations.toArray(String[]::new)).stream().map(Blocker::of).toList();
            } catch (DataAccessException e) {
                log.debug("could not read pg_locks: {}", e.getMostSpecificCause().getMessage());
                return List.of();
            }
        }

        @Override
        public boolean atWork(boolean serverSays) {
            return serverSays;
        }

        @Override
        public int cancelAutovacuum(List<String> relations, Scope scope) {
            int n = 0;
            boolean denied = false;
            try {
                for (var r : sql.queryRows(AUTOVACUUM_ON, relations.toArray(String[]::new), relations.toArray(String[]::new), scope == Scope.TREES)) {
                    if (!Boolean.TRUE.equals(r.get("cancellable"))) {
                        denied = true; // we cannot see its query (it may prevent wraparound): leave it
                        continue;
                    }
                    try {
                        if (Boolean.TRUE.equals(sql.queryOne(CANCEL, Boolean.class, r.get("pid")))) {
                            log.debug("cancelled autovacuum (pid {}) on {}", r.get("pid"), r.get("relation"));
                            n++;
                        }
                    } catch (DataAccessException e) {
                        denied = true; // 42501: permission denied to cancel
                    }
                }
            } catch (DataAccessException e) {
                log.debug("could not look for autovacuum: {}", e.getMostSpecificCause().getMessage());
            }
            return n == 0 && denied ? -1 : n;
        }

        @Override
        public void waitOutAutovacuum(List<String> relations, Scope scope, long millis) {
            java.util.Set<String> held = new java.util.LinkedHashSet<>();
            try {
                for (var r : sql.queryRows(AUTOVACUUM_ON, relations.toArray(String[]::new), relations.toArray(String[]::new), scope == Scope.TREES)) {
                    held.add(Identifiers.qualified((String) r.get("nspname"), (String) r.get("relname")));
                }
            } catch (DataAccessException e) {
                log.debug("could not look for autovacuum: {}", e.getMostSpecificCause().getMessage());
            }
            for (String rel : held) {
                try {
                    tx.executeWithoutResult(status -> {
                        sql.jdbc().queryForList(SET_LIMITS, millis + "ms", new String[0], "0", idleLimit().toMillis() + "ms",
                                false, new String[0], false, new String[0]);
                        sql.execute(String.format(WAIT_FOR_AUTOVACUUM, rel));
                    });
                } catch (DataAccessException e) {
                    log.debug("autovacuum on {} did not yield in {} ms: {}", rel, millis, e.getMostSpecificCause().getMessage());
                }
            }
        }
    }

    /** Attempts exhausted: the message names what held the lock. */
    public static final class LockNotAvailableException extends RuntimeException {
        LockNotAvailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
