package io.pgrewrite.pg;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

/**
 * A second connection for work that can also run on the caller's own (the index phase's second share of builds,
 * verify's copy side): one the pool has idle or may still open, or none. No wait on a pool that is all in use, where
 * the connection would be taken from a worker's partition lock, a retire or a background ANALYZE, and the caller would
 * wait with its transaction open (verify: its snapshot, and the xmin it holds back): the caller then does the work
 * itself. One connection, idle or still to be opened, is left to the others. A connection still to be opened costs the
 * server's connect; where the server refuses it, or two workers ask for the last ones at the same moment, the wait is
 * at most the pool's connection timeout, after which the caller gets none (the index phase keeps its transaction busy
 * meanwhile).
 */
public final class SpareConnection {

    private SpareConnection() {
    }

    /** A connection, or null when the pool has none to spare (or the server refused one). */
    public static Connection take(DataSource dataSource) {
        try {
            if (dataSource.isWrapperFor(HikariDataSource.class)) {
                HikariDataSource hikari = dataSource.unwrap(HikariDataSource.class);
                HikariPoolMXBean pool = hikari.getHikariPoolMXBean();
                // One connection is left for whoever asks next (a lock sampler, a retire): idle, or one the pool may
                // still open. Taking one the pool must open first waits for the server's connect (up to Hikari's
                // connection timeout where the server refuses it).
                int max = hikari.getHikariConfigMXBean().getMaximumPoolSize();
                if (pool == null || pool.getIdleConnections() < 2 && pool.getTotalConnections() + 1 >= max) {
                    return null;
                }
            }
            return dataSource.getConnection();
        } catch (SQLException e) {
            return null;
        }
    }
}
