package io.pgrewrite.plan;

import javax.sql.DataSource;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * The server's connections, and how many a job's pool may take of them. Each worker holds several
 * connections while it works, so a job file's {@code workers:}, or {@code pgrewrite set ID workers=N}, could
 * otherwise take the connections the application needs, and its next connect fail with "too many clients"
 * (what never bends, 2). pgrewrite's pool must fit in what the other sessions leave, less a tenth of the usable
 * connections (at least 5) for the application to grow into; plan refuses a job that does not, and {@code set}
 * a worker count that does not, naming the figures and the largest count that fits.
 */
public final class ConnectionBudget {

    /**
     * Connections per worker: its slot and partition locks, its work, its ANALYZE after the swap (statistics:
     * after-swap) and its retire. A second connection for its work (verify's copy side, a share of the index builds)
     * it takes only when the pool can spare one then (pg.SpareConnection), so none is counted for it.
     */
    public static final int PER_WORKER = 5;

    /** The JobRepository, the samplers, steering. */
    static final int FIXED = 6;

    /**
     * What a role without superuser may open in all, and the client sessions open now but the asking one.
     * reserved_connections is 16's (NULL before).
     * pg_stat_activity lists every session to every role, but without pg_read_all_stats another role's row has no
     * backend_type: a session in a database with a role (datid, usesysid) is counted as a client then, so another
     * role's parallel worker or logical WAL sender counts too, which errs towards leaving the application more.
     * Statistics only.
     */
    static final String CONNECTIONS = """
            SELECT current_setting('max_connections')::int AS max,
                   current_setting('superuser_reserved_connections')::int
                   + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS reserved,
                   count(*) FILTER (WHERE a.pid <> pg_backend_pid())::int AS open
              FROM pg_stat_activity a
             WHERE a.backend_type = 'client backend'
                OR a.backend_type IS NULL AND a.datid IS NOT NULL AND a.usesysid IS NOT NULL
            """;

    /**
     * @param max max_connections
     * @param reserved superuser_reserved_connections + reserved_connections
     * @param open client sessions now, but the one that asked
     */
    public record Server(int max, int reserved, int open) {

        /** Connections for roles without superuser. */
        public int usable() {
            return Math.max(0, max - reserved);
        }

        /** Left free for the application to grow into. */
        public int headroom() {
            return Math.max(5, usable() / 10);
        }

        /** The most connections a pool may take when {@code used} sessions (not its own) are open. */
        public int room(int used) {
            return usable() - used - headroom();
        }

        public String figures(int used, String whose) {
            return "the server has " + usable() + " connections for roles without superuser (max_connections " + max
                    + " less " + reserved + " reserved), " + used + " open by " + whose + ", and " + headroom()
                    + " stay free for the application to grow into";
        }
    }

    private ConnectionBudget() {
    }

    /** The connections a process running one job with this many workers needs at most (its pool's size). */
    public static int poolFor(int workers) {
        return workers * PER_WORKER + FIXED;
    }

    /** The most workers whose pool fits in {@code room} connections (0 when not even one does). */
    public static int workersFitting(int room) {
        return Math.max(0, (room - FIXED) / PER_WORKER);
    }

    public static Server server(JdbcTemplate jdbc) {
        return jdbc.queryForObject(CONNECTIONS, (rs, n) -> new Server(rs.getInt("max"), rs.getInt("reserved"),
                rs.getInt("open")));
    }

    /**
     * The sessions open now that are not this process's pool: all the server's client sessions but the ones
     * the pool behind {@code jdbc} holds (Hikari's count; the asking one included).
     */
    public static int openByOthers(JdbcTemplate jdbc, Server s) {
        return Math.max(0, s.open() + 1 - ownConnections(jdbc.getDataSource()));
    }

    /** The connections a Hikari pool holds now (in use and idle); 1 (the asking one) for any other data source. */
    static int ownConnections(DataSource dataSource) {
        try {
            if (dataSource != null && dataSource.isWrapperFor(com.zaxxer.hikari.HikariDataSource.class)) {
                com.zaxxer.hikari.HikariPoolMXBean pool = dataSource.unwrap(com.zaxxer.hikari.HikariDataSource.class)
                        .getHikariPoolMXBean();
                if (pool != null) {
                    return Math.max(1, pool.getTotalConnections());
                }
            }
        } catch (java.sql.SQLException e) {
            // not a pool we can ask: count only the asking connection as ours
        }
        return 1;
    }

    /**
     * {@code set ID workers=N} for a job running with {@code current} workers: its process's pool grows by
     * {@value #PER_WORKER} connections a worker more (never shrinks, so a lower count opens nothing). Null where that
     * fits in what every session open now (pgrewrite's own processes included, but the asking one) leaves, else why not
     * and the largest count that fits. {@code current} null: not known, the whole pool is counted.
     */
    public static String raiseRefused(JdbcTemplate jdbc, Integer current, int requested) {
        if (current != null && requested <= current) {
            return null;
        }
        Server s = server(jdbc);
        int more = current == null ? poolFor(requested) : (requested - current) * PER_WORKER;
        int room = s.room(s.open());
        if (more <= room) {
            return null;
        }
        int fits = current == null ? workersFitting(room) : current + Math.max(0, room) / PER_WORKER;
        String adds = current == null ? " needs a pool of up to " + more + " connections (the job's workers now could not be read: "
                + PER_WORKER + " a worker and " + FIXED + " more)" : " (from " + current + ") adds up to " + more
                + " connections to the job's pool (" + PER_WORKER + " a worker)";
        return "workers=" + requested + adds + ", but " + s.figures(s.open(), "sessions, pgrewrite's included") + ": "
                + Math.max(0, room) + " free. " + (fits > (current == null ? 0 : current) ? "Give workers=" + fits + " or fewer, or raise" : "Raise")
                + " max_connections (PostgreSQL must restart).";
    }

    /** plan: the job's pool, at its workers, fits in what the server's other sessions leave. */
    static Plan.Check check(JdbcTemplate jdbc, int workers) {
        return check(jdbc, workers, "then plan again");
    }

    /**
     * A restart, which does not plan again (its plan step is complete), with the workers of its definition as read
     * again (a raised {@code workers:} included): throws {@link PlanException}, nothing changed, where plan's check
     * would fail now.
     */
    public static void refuseRestart(JdbcTemplate jdbc, int workers, String execution) {
        Plan.Check c = check(jdbc, workers, "then restart it");
        if (!c.ok()) {
            throw new PlanException(execution + ": " + c.name() + ": " + c.detail() + " Nothing was changed.", null);
        }
    }

    private static Plan.Check check(JdbcTemplate jdbc, int workers, String next) {
        Server s = server(jdbc);
        int used = openByOthers(jdbc, s);
        int need = poolFor(workers);
        int room = s.room(used);
        String name = "connections for " + workers + (workers == 1 ? " worker" : " workers");
        if (need <= room) {
            return new Plan.Check(name, true, "up to " + need + " of " + room + " free (" + s.figures(used, "other sessions") + ")");
        }
        int fits = workersFitting(room);
        return new Plan.Check(name, false, "the job's pool takes up to " + need + " connections (" + PER_WORKER
                + " a worker + " + FIXED + "), but " + s.figures(used, "other sessions") + ": " + Math.max(0, room)
                + " free. " + (fits > 0 ? "Lower workers to " + fits + " or fewer, or raise" : "Close idle sessions or raise")
                + " max_connections (PostgreSQL must restart), " + next + ".");
    }
}
