package io.pgrewrite.pg;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

/**
 * A second connection for work that can also run on the caller's own (the index phase's second share of builds,
 * verify's copy side): one the pool can give now, idle or still to be opened, or none. Never a wait on a pool that is
 * all in use, where the connection would be taken from a worker's partition lock, a retire or a background ANALYZE,
 * and the caller would wait with its transaction open (verify: its snapshot, and the xmin it holds back): the caller
 * then does the work itself. One idle connection is always left to the others.
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
                // one idle connection is left for whoever asks next (a lock sampler, a retire), unless the pool may open more
                if (pool == null || pool.getIdleConnections() < 2
                        && pool.getTotalConnections() >= hikari.getHikariConfigMXBean().getMaximumPoolSize()) {
                    return null;
                }
            }
            return dataSource.getConnection();
        } catch (SQLException e) {
            return null;
        }
    }
}
