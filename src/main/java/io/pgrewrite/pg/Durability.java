package io.pgrewrite.pg;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.logging.Logger;

import javax.sql.DataSource;

import org.slf4j.LoggerFactory;

/**
 * pgrewrite's own transactions commit with {@code synchronous_commit = off}: a commit returns once its record is
 * in the WAL buffers, not after the fsync (on a small partition ~20 of them, each a flush wait the partition's
 * phases queue behind). Set per session on every connection of pgrewrite's pool ({@link #guard}), never for the
 * server, a role or the application's sessions.
 * <p>
 * Why that loses nothing a restart cannot give back:
 * <ul>
 * <li>The WAL is written and flushed in order. After a server crash the database holds a prefix of what
 *     pgrewrite committed, as if pgrewrite had been killed (kill -9) a little earlier — every step recognises
 *     its committed work from the catalog and {@code restart} continues (CrashWindowsTest, KillAndRestartTest).
 *     The JobRepository, Quartz's tables and the remote partition channel live in the same database (schema
 *     {@code pgrewrite}) and so in the same WAL: their records are never ahead of the work they describe, and a
 *     worker that took a request commits after it, which flushes the request too.</li>
 * <li>Any commit of the application's (synchronous) flushes the WAL up to its own record, with every commit of
 *     ours before it: an application that saw a swapped partition, or wrote into one, cannot see it undone.</li>
 * <li>A transaction that drops a relation is flushed at commit whatever synchronous_commit says (PostgreSQL
 *     must not lose the unlink of the files): retire, a dropped copy, the capture's removal.</li>
 * </ul>
 * What that argument does not cover, and how it is handled:
 * <ul>
 * <li>What pgrewrite says outside the database: before the report, before an operator command says it is done,
 *     and before a command's exit code, {@link #flush} makes every commit so far durable.</li>
 * <li>A process that goes on past a server restart: it would act on commits it believes in but the crash lost
 *     (a lost swap followed by retire and contract), and its session advisory locks (the job's, the partition's)
 *     are gone with the old server. Every new connection of the pool reads the server's start time (and when its
 *     statistics were reset: PostgreSQL re-initialises in place after a backend crash, keeping the postmaster's
 *     start time); when it differs from the first connection's, the process halts, as if killed, and says so.
 *     {@code restart} continues from what the database holds ({@code ServerCrashTest}). A DBA's
 *     {@code pg_stat_reset_shared('bgwriter')} while a job runs halts it the same way (restart continues it).</li>
 * </ul>
 */
public final class Durability {

    private static final org.slf4j.Logger log = LoggerFactory.getLogger(Durability.class);

    /**
     * On every new connection of the pool, one round trip: which server incarnation this is, and the session's
     * synchronous_commit. No locks. pg_stat_bgwriter's stats_reset is readable by every role. READ COMMITTED as
     * the session's default whatever the database's or role's default_transaction_isolation: the JobRepository's
     * creates run at the session's level (AppContext) and every transaction of pgrewrite's is written for it.
     */
    static final String SESSION = """
            SELECT pg_postmaster_start_time()::text || ', statistics since '
                   || coalesce((SELECT stats_reset::text FROM pg_stat_bgwriter), '?'),
                   set_config('synchronous_commit', 'off', false),
                   set_config('default_transaction_isolation', 'read committed', false)
            """;

    /** Where the WAL ends now: every commit of ours so far is before it. */
    static final String WAL_END = "SELECT pg_current_wal_insert_lsn()::text";

    /**
     * A WAL record in a transaction of its own, committed with synchronous_commit = local (the local flush; 'on' would
     * also wait for a synchronous standby, without a bound, if one is configured and down): its commit waits for the WAL to be
     * flushed up to its record, so up to every commit before it (a transaction that writes no WAL, or only gets
     * an xid, commits without a flush whatever synchronous_commit says). Any role may call it, on wal_level
     * replica too; transactional, so logical decoding sees it only as a message with prefix pgrewrite, which
     * pgoutput sends only to a subscriber that asked for messages.
     */
    static final String FLUSH = "SELECT pg_logical_emit_message(true, 'pgrewrite', 'durable')";

    /** The proof: the WAL on disk reaches the end read before. */
    static final String FLUSHED = "SELECT pg_current_wal_flush_lsn() >= ?::pg_lsn";

    private Durability() {
    }

    /**
     * Returns once every transaction pgrewrite committed before the call is on disk: call it before telling
     * anyone outside the database that something is done. About 1-5 ms; where the flush message is refused,
     * it waits for the WAL writer instead (at most 3 x wal_writer_delay).
     */
    public static void flush(DataSource dataSource) {
        try (Connection c = dataSource.getConnection()) {
            boolean autoCommit = c.getAutoCommit();
            String end;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(WAL_END)) {
                rs.next();
                end = rs.getString(1);
            }
            try {
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.execute("SET LOCAL synchronous_commit = local"); // this server's disk: never waits for a synchronous standby
                    st.execute(FLUSH);
                }
                c.commit();
            } catch (SQLException e) {
                c.rollback();
                log.debug("the flush message was refused ({}); waiting for the WAL writer", e.getMessage());
            } finally {
                c.setAutoCommit(autoCommit);
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            try (PreparedStatement ps = c.prepareStatement(FLUSHED)) {
                ps.setString(1, end);
                for (;;) {
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (rs.getBoolean(1)) {
                            return;
                        }
                    }
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("The WAL was not flushed up to " + end + " within 10 s: is the server's"
                                + " disk full or stalled? What pgrewrite committed last may not be durable yet.");
                    }
                    Thread.sleep(5);
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("Could not make pgrewrite's last commits durable: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the WAL flush", e);
        }
    }

    /**
     * pgrewrite's pool over {@code physical} (which opens new server connections): each new connection gets
     * synchronous_commit off, and the server's incarnation is checked; a server that restarted since the first
     * connection makes {@code onRestart} run (the process halts) and the connection is refused.
     */
    public static DataSource guard(DataSource physical) {
        return new Guard(physical, Durability::halt);
    }

    static DataSource guard(DataSource physical, Consumer<String> onRestart) {
        return new Guard(physical, onRestart);
    }

    /** As if killed: no shutdown hook, no JobRepository write, nothing more from what this process believed. */
    private static void halt(String message) {
        log.error(message);
        System.err.println(message);
        System.err.flush();
        Runtime.getRuntime().halt(9); // ExitCodes.ERROR (cli is above pg)
    }

    private static final class Guard implements DataSource {
        private final DataSource physical;
        private final Consumer<String> onRestart;
        private final AtomicReference<String> incarnation = new AtomicReference<>();

        Guard(DataSource physical, Consumer<String> onRestart) {
            this.physical = physical;
            this.onRestart = onRestart;
        }

        @Override
        public Connection getConnection() throws SQLException {
            return checked(physical.getConnection());
        }

        @Override
        public Connection getConnection(String username, String password) throws SQLException {
            return checked(physical.getConnection(username, password));
        }

        private Connection checked(Connection c) throws SQLException {
            String now;
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(SESSION)) {
                rs.next();
                now = rs.getString(1);
            } catch (SQLException | RuntimeException e) {
                c.close();
                throw e;
            }
            String first = incarnation.compareAndExchange(null, now);
            if (first != null && !first.equals(now)) {
                c.close();
                String message = "The database server restarted while pgrewrite ran (it was started " + first + ", now " + now
                        + "): the last commits before a crash may be lost (pgrewrite commits asynchronously) and this"
                        + " process's session locks are gone, so it stops here, as if killed. `pgrewrite restart <execution>`"
                        + " (`pgrewrite status` lists them) continues from what the database holds.";
                onRestart.accept(message);
                throw new SQLException(message, "57P01");
            }
            return c;
        }

        @Override
        public PrintWriter getLogWriter() throws SQLException {
            return physical.getLogWriter();
        }

        @Override
        public void setLogWriter(PrintWriter out) throws SQLException {
            physical.setLogWriter(out);
        }

        @Override
        public void setLoginTimeout(int seconds) throws SQLException {
            physical.setLoginTimeout(seconds);
        }

        @Override
        public int getLoginTimeout() throws SQLException {
            return physical.getLoginTimeout();
        }

        @Override
        public Logger getParentLogger() {
            return Logger.getLogger("io.pgrewrite");
        }

        @Override
        public <T> T unwrap(Class<T> iface) throws SQLException {
            return iface.isInstance(this) ? iface.cast(this) : physical.unwrap(iface);
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) throws SQLException {
            return iface.isInstance(this) || physical.isWrapperFor(iface);
        }
    }
}
