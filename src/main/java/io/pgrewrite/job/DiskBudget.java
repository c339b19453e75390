package io.pgrewrite.job;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

import io.pgrewrite.plan.Bytes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.job.JobInterruptedException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The disk budget, global across threads, processes and jobs: a partition starts its copy only if the
 * extra bytes in flight (as reserved in {@code pgrewrite.disk_reservation}) stay within
 * {@code disk.max-extra}; otherwise it waits, at most {@code disk.wait}, and not past a stop. The check
 * and the reservation happen under one transaction-scoped advisory lock, so two workers cannot both
 * take the last room.
 * <p>
 * A reservation lives as long as the space it stands for: from before the copy until retire drops
 * {@code P__old}; with {@code retire: keep} it becomes a <em>kept</em> reservation (named
 * {@code kept:<P__old>}, sized as {@code P__old}) that goes when someone drops {@code P__old}. A clean
 * rollback releases its partition's; abandoning an execution releases all of its job's
 * ({@link #releaseAll}), except the kept ones, whose tables still take their space.
 */
public final class DiskBudget {

    private static final Logger log = LoggerFactory.getLogger(DiskBudget.class);

    /** Marks the reservation of an old partition kept by {@code retire: keep}; followed by its qualified name. */
    static final String KEPT = "kept:";

    static final String LOCK = "SELECT pg_advisory_xact_lock(hashtext('pgrewrite.disk_reservation'))";
    static final String MINE = "SELECT count(*) FROM pgrewrite.disk_reservation WHERE job_key = ? AND partition_name = ?";
    /** Kept old partitions someone has dropped meanwhile no longer take space. */
    static final String PRUNE_KEPT = "DELETE FROM pgrewrite.disk_reservation WHERE partition_name LIKE 'kept:%'"
            + " AND to_regclass(substr(partition_name, 6)) IS NULL";
    static final String IN_FLIGHT = "SELECT coalesce(sum(bytes), 0) FROM pgrewrite.disk_reservation";
    static final String HOLDERS = "SELECT job_key, partition_name, bytes FROM pgrewrite.disk_reservation ORDER BY bytes DESC, job_key, partition_name";
    static final String RESERVE = "INSERT INTO pgrewrite.disk_reservation (job_key, partition_name, bytes) VALUES (?, ?, ?)";
    static final String RELEASE = "DELETE FROM pgrewrite.disk_reservation WHERE job_key = ? AND partition_name = ?";
    static final String RELEASE_ALL = "DELETE FROM pgrewrite.disk_reservation WHERE job_key = ? AND partition_name NOT LIKE 'kept:%'";
    /** What P__old takes now; kept under its own name once its partition's reservation goes. */
    static final String KEEP = """
            INSERT INTO pgrewrite.disk_reservation (job_key, partition_name, bytes)
            SELECT ?, 'kept:' || ?, coalesce(pg_total_relation_size(to_regclass(?)), 0)
            WHERE to_regclass(?) IS NOT NULL
            ON CONFLICT (job_key, partition_name) DO UPDATE SET bytes = EXCLUDED.bytes
            """;

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final Duration poll;

    public DiskBudget(JdbcTemplate jdbc, TransactionTemplate tx, Duration poll) {
        this.jdbc = jdbc;
        this.tx = io.pgrewrite.pg.Transactions.requiresNew(tx);
        this.poll = poll;
    }

    /**
     * Waits until {@code bytes} fit under {@code max} (null: no limit), then reserves them.
     *
     * @throws JobInterruptedException when a stop was requested while waiting
     * @throws BudgetExhaustedException after {@code wait}, naming who holds the budget
     */
    public void reserve(String jobKey, String partition, long bytes, Long max, Duration wait, BooleanSupplier stop)
            throws JobInterruptedException {
        reserve(jobKey, partition, bytes, max, wait, stop, () -> { });
    }

    /**
     * {@link #reserve(String, String, long, Long, Duration, BooleanSupplier)}, and {@code withIt} run in the
     * transaction that reserves (or finds the reservation of a restart): what the caller records about it commits
     * with it, in one commit instead of two (capture records its partition's state there).
     */
    public void reserve(String jobKey, String partition, long bytes, Long max, Duration wait, BooleanSupplier stop,
            Runnable withIt) throws JobInterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        boolean logged = false;
        while (true) {
            Long inFlight = tx.execute(s -> {
                // One round trip for the lock and the reads (each statement after the lock reads what committed
                // before it was granted: READ COMMITTED takes a snapshot per statement). PRUNE_KEPT runs on a
                // restart too, where it was skipped: it only forgets kept tables that are gone.
                io.pgrewrite.pg.RoundTrip reads = new io.pgrewrite.pg.RoundTrip(jdbc);
                reads.list(LOCK, (rs, i) -> 1); // pg_advisory_xact_lock returns void
                java.util.function.Supplier<List<Long>> mine = reads.list(MINE, (rs, i) -> rs.getLong(1), jobKey, partition);
                reads.update(PRUNE_KEPT);
                java.util.function.Supplier<List<Long>> inUse = reads.list(IN_FLIGHT, (rs, i) -> rs.getLong(1)); // numeric
                reads.run();
                if (mine.get().get(0) > 0) {
                    withIt.run();
                    return null; // a restart: the reservation survived
                }
                long used = inUse.get().get(0);
                // Alone, a partition may always start (plan checked it fits the budget by itself).
                if (max == null || used == 0 || used + bytes <= max) {
                    jdbc.update(RESERVE, jobKey, partition, bytes);
                    withIt.run();
                    return null;
                }
                return used;
            });
            if (inFlight == null) {
                return;
            }
            if (!logged) {
                log.info("{}: waiting for disk budget ({} in flight + {} > disk.max-extra {}), held by {}", partition,
                        Bytes.format(inFlight), Bytes.format(bytes), Bytes.format(max), holders());
                logged = true;
            }
            if (stop.getAsBoolean()) {
                throw new JobInterruptedException(partition + ": stop requested while waiting for disk budget;"
                        + " nothing was reserved or copied, a restart continues");
            }
            if (System.nanoTime() > deadline) {
                throw new BudgetExhaustedException(partition + ": waited " + wait.toSeconds() + " s (disk.wait) for disk budget and"
                        + " gave up. It needs " + Bytes.format(bytes) + ", but " + Bytes.format(inFlight) + " of disk.max-extra "
                        + Bytes.format(max) + " are held by " + holders() + ". Let those finish (an abandoned"
                        + " execution's are released by `pgrewrite abandon`, a kept old partition's when you drop it),"
                        + " or raise disk.max-extra or disk.wait; then `pgrewrite restart`.");
            }
            try {
                Thread.sleep(poll.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new JobInterruptedException(partition + ": interrupted while waiting for disk budget");
            }
        }
    }

    /** Who holds the budget now: job key, partition (or kept old table), bytes. */
    String holders() {
        List<Map<String, Object>> rows = jdbc.queryForList(HOLDERS);
        StringBuilder b = new StringBuilder();
        for (Map<String, Object> r : rows) {
            b.append(b.isEmpty() ? "" : ", ").append(r.get("job_key")).append(' ').append(r.get("partition_name"))
                    .append(" (").append(Bytes.format(((Number) r.get("bytes")).longValue())).append(')');
        }
        return b.isEmpty() ? "nobody" : b.toString();
    }

    public void release(String jobKey, String partition) {
        tx.execute(s -> jdbc.update(RELEASE, jobKey, partition));
    }

    /**
     * retire: keep: the partition's reservation becomes the kept {@code P__old}'s, at its size, until
     * someone drops it. One transaction, so the space is never counted twice or not at all.
     */
    public void keep(String jobKey, String partition, String qualifiedOld) {
        tx.execute(s -> {
            jdbc.update(RELEASE, jobKey, partition);
            return jdbc.update(KEEP, jobKey, qualifiedOld, qualifiedOld, qualifiedOld);
        });
    }

    /**
     * An execution given up (abandon): every reservation of its job goes, but those of kept old partitions,
     * whose tables still take their space. One statement in autocommit. Returns how many went.
     */
    public static int releaseAll(javax.sql.DataSource dataSource, String jobKey) {
        return new JdbcTemplate(dataSource).update(RELEASE_ALL, jobKey);
    }

    /** The budget stayed full for longer than {@code disk.wait}. */
    public static final class BudgetExhaustedException extends IllegalStateException {
        BudgetExhaustedException(String message) {
            super(message);
        }
    }
}
