package io.pgrewrite.cli;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import javax.sql.DataSource;

/**
 * Whether a live process runs a job: the JobRunner holds a session advisory lock on
 * {@code pgrewrite:<job key>} for as long as it runs it, and the lock goes with the session when the
 * process dies. So an execution marked running whose lock is free belongs to a dead process.
 */
final class JobLocks {

    /** Tries the runner's lock and gives it back at once; the same key and hash as JobRunner.TRY_LOCK. */
    static final String TRY = "SELECT pg_try_advisory_lock(hashtextextended(?, 0))";
    static final String UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(?, 0))";

    private JobLocks() {
    }

    static boolean held(DataSource ds, String jobKey) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(TRY)) {
            ps.setString(1, "pgrewrite:" + jobKey);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    return true;
                }
            }
            try (PreparedStatement un = c.prepareStatement(UNLOCK)) {
                un.setString(1, "pgrewrite:" + jobKey);
                un.execute();
            }
            return false;
        }
    }
}
