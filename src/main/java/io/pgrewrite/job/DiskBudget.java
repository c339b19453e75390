package io.pgrewrite.job;

import java.time.Duration;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The disk budget, global across threads and processes: a partition starts its copy only if the extra
 * bytes in flight (partitions being rewritten plus retired copies not yet dropped, as reserved in
 * {@code pgrewrite.disk_reservation}) stay within {@code disk.max-extra}; otherwise it waits. The check
 * and the reservation happen under one transaction-scoped advisory lock, so two workers cannot both
 * take the last room.
 */
public final class DiskBudget {

    private static final Logger log = LoggerFactory.getLogger(DiskBudget.class);

    static final String LOCK = "SELECT pg_advisory_xact_lock(hashtext('pgrewrite.disk_reservation'))";
    static final String MINE = "SELECT count(*) FROM pgrewrite.disk_reservation WHERE job_key = ? AND partition_name = ?";
    static final String IN_FLIGHT = "SELECT coalesce(sum(bytes), 0) FROM pgrewrite.disk_reservation";
    static final String RESERVE = "INSERT INTO pgrewrite.disk_reservation (job_key, partition_name, bytes) VALUES (?, ?, ?)";
    static final String RELEASE = "DELETE FROM pgrewrite.disk_reservation WHERE job_key = ? AND partition_name = ?";

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final Duration poll;

    public DiskBudget(JdbcTemplate jdbc, TransactionTemplate tx, Duration poll) {
        this.jdbc = jdbc;
        this.tx = io.pgrewrite.pg.Transactions.requiresNew(tx);
        this.poll = poll;
    }

    /** Blocks until {@code bytes} fit under {@code max} (null: no limit), then reserves them. */
    public void reserve(String jobKey, String partition, long bytes, Long max) throws InterruptedException {
        boolean logged = false;
        while (true) {
            Long inFlight = tx.execute(s -> {
                jdbc.queryForObject(LOCK, Object.class);
                if (jdbc.queryForObject(MINE, Long.class, jobKey, partition) > 0) {
                    return null; // a restart: the reservation survived
                }
                long used = jdbc.queryForObject(IN_FLIGHT, Long.class);
                // Alone, a partition may always start (plan checked it fits the budget by itself).
                if (max == null || used == 0 || used + bytes <= max) {
                    jdbc.update(RESERVE, jobKey, partition, bytes);
                    return null;
                }
                return used;
            });
            if (inFlight == null) {
                return;
            }
            if (!logged) {
                log.info("{}: waiting for disk budget ({} in flight + {} > disk.max-extra {})", partition,
                        io.pgrewrite.plan.Bytes.format(inFlight), io.pgrewrite.plan.Bytes.format(bytes),
                        io.pgrewrite.plan.Bytes.format(max));
                logged = true;
            }
            Thread.sleep(poll.toMillis());
        }
    }

    public void release(String jobKey, String partition) {
        tx.execute(s -> jdbc.update(RELEASE, jobKey, partition));
    }
}
