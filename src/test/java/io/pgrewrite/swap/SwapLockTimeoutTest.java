package io.pgrewrite.swap;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;

import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The swap's wait for the one-swap-at-a-time lock is longer than its lock_timeout, and the statement that takes it
 * sets the swap's lock_timeout back: the parent's ACCESS EXCLUSIVE lock, which the application queues behind, is
 * then waited for no longer than {@code swap.lock-timeout}. With the CTE inlined, PostgreSQL read the setting again
 * after raising it, and the swap kept twice its lock timeout (400ms for 200ms).
 */
class SwapLockTimeoutTest {

    @Test
    void theOneSwapAtATimeLockLeavesTheSwapsLockTimeoutAsItWas() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("swap_lock_timeout");
        try (Connection c = db.connect()) {
            c.setAutoCommit(false);
            for (String timeout : new String[] {"200ms", "1500ms", "7s"}) {
                try (Statement st = c.createStatement()) {
                    st.execute("SET LOCAL lock_timeout = '" + timeout + "'");
                }
                String before = show(c);
                try (PreparedStatement ps = c.prepareStatement(Swap.ONE_SWAP_AT_A_TIME)) {
                    ps.setString(1, "pg_class");
                    try (ResultSet rs = ps.executeQuery()) {
                        assertThat(rs.next()).isTrue();
                        assertThat(rs.getString(1)).as("the wait for the advisory lock").isNotEqualTo(before);
                    }
                }
                assertThat(show(c)).as("lock_timeout after the statement, set to " + timeout).isEqualTo(before);
                c.rollback();
            }
        }
    }

    private static String show(Connection c) throws Exception {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW lock_timeout")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
