package io.pgrewrite.demo;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * One connection of the simulated application and the statement it is waiting on, so that the end of
 * the run can record a wait that is still going on (and cancel it). A broken connection is opened
 * again on the next statement; the failure counts as an error.
 */
final class Session {

    @FunctionalInterface
    interface Body {
        void run(PreparedStatement ps) throws SQLException;
    }

    private final Traffic.Connector connector;
    private final Latencies latencies;
    private Connection connection;
    private PreparedStatement running;
    private long since;
    private boolean abandoned;

    Session(Traffic.Connector connector, Latencies latencies) throws SQLException {
        this.connector = connector;
        this.latencies = latencies;
        this.connection = connector.open();
    }

    /**
     * Runs one statement in autocommit; its latency counts from {@code due}. A new statement object
     * each time: nothing is prepared on the server, so no cached plan outlives a change of the table.
     *
     * @return whether it succeeded
     */
    boolean execute(long due, String sql, Body body) {
        PreparedStatement ps;
        synchronized (this) {
            if (abandoned) {
                return false;
            }
            since = due;
        }
        try {
            if (connection == null) {
                connection = connector.open();
            }
            ps = connection.prepareStatement(sql);
            synchronized (this) {
                running = ps;
            }
            try (ps) {
                body.run(ps);
            }
            synchronized (this) {
                if (abandoned) {
                    return false; // already recorded as unfinished
                }
                latencies.ok(System.nanoTime() - due);
                return true;
            }
        } catch (SQLException e) {
            synchronized (this) {
                if (!abandoned) {
                    latencies.error(System.nanoTime() - due, message(e));
                }
            }
            reopenIfBroken();
            return false;
        } finally {
            synchronized (this) {
                running = null;
                since = 0;
            }
        }
    }

    /** The run is over: a statement still waiting counts as unfinished with its wait so far, and is cancelled. */
    void abandon(long now) {
        PreparedStatement toCancel;
        synchronized (this) {
            abandoned = true;
            if (since == 0) {
                return;
            }
            latencies.unfinished(now - since);
            toCancel = running;
        }
        if (toCancel != null) {
            try {
                toCancel.cancel();
            } catch (SQLException e) {
                // The statement ended meanwhile, or the connection is gone: nothing left to cancel.
            }
        }
    }

    void close() {
        try {
            if (connection != null) {
                connection.close();
            }
        } catch (SQLException e) {
            // Closing at the end of the run; the server ends the session anyway.
        }
    }

    private void reopenIfBroken() {
        try {
            if (connection != null && connection.isValid(2)) {
                return;
            }
        } catch (SQLException e) {
            // treat as broken
        }
        close();
        connection = null; // opened again before the next statement
    }

    static String message(SQLException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().lines().findFirst().orElse("");
        return e.getSQLState() == null ? m : "[" + e.getSQLState() + "] " + m;
    }
}
