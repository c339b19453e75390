package io.pgrewrite.job;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import java.util.function.IntSupplier;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Session advisory locks a partition's run holds, on a connection of its own: one for the partition
 * (never two runs of one partition at the same time, whichever process they are in) and one of
 * {@code workers} slots of the job (never more partitions at once than {@code workers}, across all
 * processes). A process that dies loses its connection and with it its locks.
 */
final class PartitionLocks implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PartitionLocks.class);

    static final String TRY_LOCK = "SELECT pg_try_advisory_lock(hashtextextended(?, 0))";

    private final Connection connection;

    private PartitionLocks(Connection connection) {
        this.connection = connection;
    }

    /** Waits (polling, never queued in front of anyone) until both locks are held. */
    static PartitionLocks acquire(DataSource ds, String jobKey, String partition, IntSupplier workers) throws SQLException, InterruptedException {
        Connection c = ds.getConnection();
        try {
            waitFor(c, "pgrewrite:partition:" + jobKey + ":" + partition, partition + ": another worker is running it; waiting");
            for (boolean logged = false; ; ) {
                int slots = workers.getAsInt(); // as it is now: `pgrewrite set ID workers=N` changes it
                for (int slot = 0; slot < slots; slot++) {
                    if (tryLock(c, "pgrewrite:slot:" + jobKey + ":" + slot)) {
                        return new PartitionLocks(c);
                    }
                }
                if (!logged) {
                    log.info("{}: all {} worker slots of the job are busy; waiting", partition, slots);
                    logged = true;
                }
                Thread.sleep(500);
            }
        } catch (SQLException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    private static void waitFor(Connection c, String key, String message) throws SQLException, InterruptedException {
        for (boolean logged = false; !tryLock(c, key); ) {
            if (!logged) {
                log.info(message);
                logged = true;
            }
            Thread.sleep(500);
        }
    }

    private static boolean tryLock(Connection c, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(TRY_LOCK)) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    @Override
    public void close() throws SQLException {
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_advisory_unlock_all()")) {
            ps.execute();
        } finally {
            connection.close();
        }
    }
}
