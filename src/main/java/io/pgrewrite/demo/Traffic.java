package io.pgrewrite.demo;

import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.pgrewrite.pg.Identifiers;

/**
 * The simulated application: what the reference user's application does to the passage table while a
 * change runs (design.md §1). One connection writes single-row INSERTs through the parent into today's
 * partition at a steady rate (camera name {@value #CAMERA_NAME}); {@code readers} connections count one random day each; one connection
 * counts the whole table now and then. It measures what the application would feel: errors, latencies,
 * and the longest time between two successful writes.
 *
 * <p>No {@code statement_timeout} and no {@code lock_timeout}: a statement waits as long as the
 * database makes it wait, because that wait is what the benchmark measures.
 *
 * <p>An insert's latency counts from the moment it was due, not from when it was sent: when one insert
 * waits 50 s behind a lock, the 500 inserts due meanwhile each waited too, as the camera events
 * would have. Reads skip the slots they missed, like a dashboard that waits for its last answer.
 */
public final class Traffic {

    /** Opens a new connection; the workload never shares the tool's pool. */
    @FunctionalInterface
    public interface Connector {
        Connection open() throws SQLException;
    }

    /**
     * @param insertRate inserts a second, from one connection
     * @param readers connections counting one random day each
     * @param readRate one-day counts a second, per reader
     * @param countEvery how often the whole table is counted; zero: never
     */
    public record Settings(String schema, String table, Duration duration, double insertRate, int readers,
                           double readRate, Duration countEvery) {
        public Settings {
            if (duration.isNegative() || duration.isZero()) {
                throw new IllegalArgumentException("the run must last at least a moment, not " + duration);
            }
            if (!(insertRate > 0 && insertRate <= 10_000) || !(readRate > 0 && readRate <= 1_000)) {
                throw new IllegalArgumentException("insert rate (" + insertRate + "/s) must be in (0, 10000], read rate ("
                        + readRate + "/s) in (0, 1000]");
            }
            if (readers < 0 || readers > 100 || countEvery.isNegative()) {
                throw new IllegalArgumentException("readers (" + readers + ") must be 0-100 and the count interval not negative");
            }
        }
    }

    /** The camera name of every row the simulated application writes: how to find (or delete) them on a clone. */
    public static final String CAMERA_NAME = "pgrewrite demo traffic";

    // ROW EXCLUSIVE on the parent and today's partition, like the real application: it waits only
    // for DDL, which is exactly the stall we measure. created_at has its default; the rest stays NULL.
    static final String INSERT = """
            INSERT INTO %s (id, passage_at, passage_id, volgnummer, camera_id, camera_naam, kenteken, land_code,
                            massa_ledig_voertuig)
            VALUES (?, ?, ?, 1, ?, ?, ?, 'NL', ?)""";

    /** A table made by `pgrewrite demo --id integer`: the id comes from its sequence, as a serial key's does. */
    static final String INSERT_SERIAL_ID = """
            INSERT INTO %s (passage_at, passage_id, volgnummer, camera_id, camera_naam, kenteken, land_code,
                            massa_ledig_voertuig)
            VALUES (?, ?, 1, ?, ?, ?, 'NL', ?)""";

    /** Catalog only: is the id a uuid the writer makes, or a key with a default (serial, identity)? */
    static final String ID_IS_UUID = "SELECT coalesce((SELECT atttypid = 'uuid'::regtype FROM pg_attribute"
            + " WHERE attrelid = to_regclass(?) AND attname = 'id'), true)";

    // ACCESS SHARE on the parent and the one partition the bounds prune to.
    static final String COUNT_DAY = "SELECT count(*) FROM %s WHERE passage_at >= ? AND passage_at < ?";

    // ACCESS SHARE on the parent and every partition: the health check that a waiting ACCESS EXCLUSIVE
    // on any partition holds up.
    static final String COUNT_TABLE = "SELECT count(*) FROM %s";

    // The partitions' bounds, read once at the start (a swap keeps them).
    static final String PARTITION_BOUNDS = """
            SELECT pg_get_expr(c.relpartbound, c.oid)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = ?::regclass""";

    private static final Pattern LOWER_BOUND = Pattern.compile("FROM \\('(\\d{4}-\\d{2}-\\d{2})");
    /** How long statements still running at the end get to finish before they are cancelled. */
    private static final Duration GRACE = Duration.ofSeconds(2);

    private final Settings settings;
    private final Connector connector;
    private final String parent;
    private volatile boolean uuidId = true;
    private final CountDownLatch stop = new CountDownLatch(1);
    private final Latencies inserts = new Latencies("insert");
    private final Latencies dayCounts = new Latencies("count_day");
    private final Latencies tableCounts = new Latencies("count_table");
    private final List<Session> sessions = new ArrayList<>();
    private long started;
    private long lastWrite;
    private long longestGap;
    private long longestGapStart;
    private long rowsInserted;
    /** The next insert slot the writer will take: slots from here up to the end were due but never sent. */
    private volatile long nextInsert;

    public Traffic(Settings settings, Connector connector) {
        this.settings = settings;
        this.connector = connector;
        this.parent = Identifiers.qualified(settings.schema(), settings.table());
    }

    /** Ends the run early (Ctrl-C, SIGTERM); {@link #run} then returns its figures as usual. */
    public void stop() {
        stop.countDown();
    }

    public TrafficResult run(PrintStream out) throws SQLException, InterruptedException {
        List<LocalDate> days = daysWithData();
        // Every connection is open before the clock starts: a stall measured is never a connect.
        Session writer = session(inserts);
        List<Session> readers = new ArrayList<>();
        for (int i = 0; i < settings.readers(); i++) {
            readers.add(session(dayCounts));
        }
        Session counter = settings.countEvery().isZero() ? null : session(tableCounts);

        List<Thread> threads = new ArrayList<>();
        started = System.nanoTime();
        lastWrite = started;
        threads.add(start("traffic-insert", () -> insertLoop(writer)));
        for (int i = 0; i < readers.size(); i++) {
            Session r = readers.get(i);
            threads.add(start("traffic-read-" + (i + 1), () -> dayCountLoop(r, days)));
        }
        if (counter != null) {
            threads.add(start("traffic-count", () -> tableCountLoop(counter)));
        }
        out.printf("traffic: started on %s for at most %d s: %.1f inserts/s, one-day counts from %d connection(s) at %.1f/s each, count(*) %s%n", parent,
                settings.duration().toSeconds(), settings.insertRate(), settings.readers(), settings.readRate(),
                counter == null ? "never" : "every " + settings.countEvery().toMillis() / 1000.0 + " s");
        out.flush();

        stop.await(settings.duration().toNanos(), TimeUnit.NANOSECONDS);
        stop.countDown();
        long end = System.nanoTime();
        for (Thread t : threads) {
            t.join(Math.max(1, GRACE.toMillis() / threads.size()));
        }
        // Still waiting after the grace period: the wait so far is recorded, the statement cancelled.
        for (Session s : sessions) {
            s.abandon(end);
        }
        for (Thread t : threads) {
            t.join(GRACE.toMillis());
        }
        // Inserts that fell due while the writer was stuck never got sent: the application would
        // still be holding them, so they count as unfinished too, each with its own wait. (The slot
        // that fell due in the last period may just be waking up: it is left out.)
        long period = (long) (1e9 / settings.insertRate());
        for (long i = nextInsert; started + (i + 1) * period <= end; i++) {
            inserts.unfinished(end - (started + i * period));
        }
        wrote(end, false);
        for (Session s : sessions) {
            s.close();
        }
        synchronized (this) {
            return new TrafficResult(settings, parent, (end - started) / 1e9, rowsInserted, List.of(inserts.summary(),
                    dayCounts.summary(), tableCounts.summary()), longestGap / 1e6, longestGapStart / 1e9);
        }
    }

    private static Thread start(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true); // a statement that ignores its cancel must not keep the JVM alive
        t.start();
        return t;
    }

    private void insertLoop(Session s) {
        try (Connection c = connector.open(); PreparedStatement ps = c.prepareStatement(ID_IS_UUID)) {
            ps.setString(1, parent);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                uuidId = rs.getBoolean(1);
            }
        } catch (SQLException e) {
            uuidId = true; // the insert then says what is wrong
        }
        String sql = String.format(uuidId ? INSERT : INSERT_SERIAL_ID, parent);
        long period = (long) (1e9 / settings.insertRate());
        for (long i = 0; ; i++) {
            long due = started + i * period;
            if (!sleepUntil(due)) {
                return;
            }
            nextInsert = i + 1;
            if (s.execute(due, sql, this::bindInsert)) {
                wrote(System.nanoTime(), true);
            }
        }
    }

    private void bindInsert(PreparedStatement ps) throws SQLException {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int k = 0;
        if (uuidId) {
            ps.setObject(++k, UUID.randomUUID());
        }
        ps.setObject(++k, LocalDateTime.now(ZoneOffset.UTC)); // today's partition, as the cameras write
        ps.setObject(++k, UUID.randomUUID());
        ps.setString(++k, String.format("AMS-%03d-R%d", 1 + r.nextInt(100), 1 + r.nextInt(3)));
        ps.setString(++k, CAMERA_NAME);
        ps.setString(++k, String.format("%s-%03d-%s", letters(r, 2), r.nextInt(1000), letters(r, 1)));
        ps.setInt(++k, 600 + r.nextInt(2901));
        ps.executeUpdate();
    }

    private static String letters(ThreadLocalRandom r, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append("BDFGHJKLNPRSTVXZ".charAt(r.nextInt(16)));
        }
        return b.toString();
    }

    private void dayCountLoop(Session s, List<LocalDate> days) {
        String sql = String.format(COUNT_DAY, parent);
        readLoop(s, (long) (1e9 / settings.readRate()), ps -> {
            LocalDate day = days.get(ThreadLocalRandom.current().nextInt(days.size()));
            ps.setObject(1, day.atStartOfDay());
            ps.setObject(2, day.plusDays(1).atStartOfDay());
            consume(ps);
        }, sql);
    }

    private void tableCountLoop(Session s) {
        readLoop(s, settings.countEvery().toNanos(), Traffic::consume, String.format(COUNT_TABLE, parent));
    }

    private void readLoop(Session s, long period, Session.Body body, String sql) {
        long due = started;
        while (sleepUntil(due)) {
            s.execute(System.nanoTime(), sql, body);
            due = Math.max(due + period, System.nanoTime());
        }
    }

    private static void consume(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            rs.next();
        }
    }

    /** Waits until {@code nanoTime} reaches {@code due}; false once the run is over. */
    private boolean sleepUntil(long due) {
        try {
            long wait = due - System.nanoTime();
            return wait > 0 ? !stop.await(wait, TimeUnit.NANOSECONDS) : stop.getCount() > 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private synchronized void wrote(long at, boolean row) {
        if (at - lastWrite > longestGap) {
            longestGap = at - lastWrite;
            longestGapStart = lastWrite - started;
        }
        lastWrite = at;
        if (row) {
            rowsInserted++;
        }
    }

    private Session session(Latencies latencies) throws SQLException {
        Session s = new Session(connector, latencies);
        sessions.add(s);
        return s;
    }

    private List<LocalDate> daysWithData() throws SQLException {
        LocalDate today = LocalDate.now(ZoneOffset.UTC);
        List<LocalDate> days = new ArrayList<>();
        try (Connection c = connector.open()) {
            try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
                ps.setString(1, parent);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        throw new IllegalStateException("Table not found: " + parent + ". Create it with `pgrewrite demo`.");
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement(PARTITION_BOUNDS)) {
                ps.setString(1, parent);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Matcher m = LOWER_BOUND.matcher(rs.getString(1));
                        if (m.find() && !LocalDate.parse(m.group(1)).isAfter(today)) {
                            days.add(LocalDate.parse(m.group(1)));
                        }
                    }
                }
            }
        }
        if (days.isEmpty()) {
            throw new IllegalStateException(parent + " has no daily partition up to today (" + today
                    + "): the inserts would fail. Create the demo table with `pgrewrite demo`.");
        }
        return days;
    }
}
