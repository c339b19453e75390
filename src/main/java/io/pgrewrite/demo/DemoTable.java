package io.pgrewrite.demo;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import javax.sql.DataSource;

import io.pgrewrite.pg.Identifiers;

/**
 * The demo passage table: a stand-in for the reference user's ANPR passage archive (design.md §1),
 * about 49 columns, one partition per UTC day named {@code <table>_YYYYMMDD}, five empty days ahead,
 * filled inside the database by the functions of {@code sql/demo/passage.sql}.
 */
public final class DemoTable {

    /** Days ahead that have an empty partition, as the reference user's daily job keeps them. */
    static final int FUTURE_DAYS = 5;

    /**
     * Connections filling days at once. The load is CPU-bound in the server, and the reference machine
     * has 2 cores: on it, 30 days of 100 000 rows took ~40 s on one connection and ~25 s on two.
     */
    static final int FILL_CONNECTIONS = 2;

    /** Only CREATE OR REPLACE and IF NOT EXISTS: safe to run before every use. */
    static final String SCRIPT = "/sql/demo/passage.sql";

    // ACCESS EXCLUSIVE on the old parent and its partitions; nothing if there is none. Only ever called
    // on a table that carries MARK (or with --replace): a demo table is nobody's production data, but a
    // table of the same name that demo did not make may well be (issue 9, defect 10).
    static final String DROP = "SELECT pgrewrite_demo.demo_drop_passage(?, ?)";

    // The parent without keys and one empty partition per day: (schema, table, days, today, future days).
    static final String PREPARE = "SELECT pgrewrite_demo.demo_prepare_passage(?, ?, ?, ?, ?)";

    // Fills the partitions of days from..to and builds their keys, indexes and statistics, returning
    // the rows inserted: (schema, table, from, to, rows per day, today). It locks only those
    // partitions, so calls for disjoint day ranges run side by side on separate connections.
    static final String FILL = "SELECT pgrewrite_demo.demo_fill_passage(?, ?, ?, ?, ?, ?)";

    // Keys and indexes on the parent, after every fill has committed: they adopt the partitions'
    // own indexes, so this is catalog work plus the empty indexes of the days ahead.
    static final String FINISH = "SELECT pgrewrite_demo.demo_finish_passage(?, ?)";

    // The parent and its partitions are still empty (no rows to convert): ACCESS EXCLUSIVE for a moment.
    static final String INTEGER_ID = "ALTER TABLE %s ALTER COLUMN id TYPE integer USING NULL";
    // What `id serial` makes: a sequence owned by the column, and its nextval as the default.
    static final String ID_SEQUENCE = "CREATE SEQUENCE %s AS integer OWNED BY %s.id";
    static final String ID_DEFAULT = "ALTER TABLE %s ALTER COLUMN id SET DEFAULT nextval(%s::regclass)";
    static final String QUOTE_LITERAL = "SELECT quote_literal(?)";

    /** The comment that marks a table as made by demo, so that demo may replace it; prefix {@link #MARK_PREFIX}. */
    static final String MARK_PREFIX = "pgrewrite demo table:";
    static final String MARK = MARK_PREFIX + " made by `pgrewrite demo`, which drops and recreates it when run again";

    // ShareUpdateExclusiveLock on the parent demo has just created and nobody uses yet. Set right after the
    // parent exists, before the fill: a demo interrupted half-way can still be replaced by the next one.
    static final String MARK_TABLE = "COMMENT ON TABLE %s IS '" + MARK + "'";

    // Catalog read, no lock: what has the demo's name now, and its comment. Names bound.
    static final String EXISTING = """
            SELECT c.relkind::text, coalesce(obj_description(c.oid, 'pg_class'), '')
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = ? AND c.relname = ?
            """;

    // Partitions and their size with indexes and TOAST. Names are bound, so no quoting is involved.
    static final String MEASURE = """
            SELECT count(*), coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)
            FROM pg_inherits i
            WHERE i.inhparent = (SELECT c.oid
                                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                 WHERE n.nspname = ? AND c.relname = ?)
            """;

    private DemoTable() {
    }

    /** What {@link #create} built and how long it took (from the drop of the old table to the last index). */
    public record Result(String table, int partitions, long rows, long bytes, Duration elapsed) {
    }

    /** demo found a table of its name that it did not make, and was not told to replace it. */
    public static final class NotADemoTable extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NotADemoTable(String message) {
            super(message);
        }
    }

    /** As {@link #create(DataSource, String, String, int, int, LocalDate, boolean)}, never replacing a table demo did not make. */
    public static Result create(DataSource ds, String schema, String table, int days, int rowsPerDay,
            LocalDate today) {
        return create(ds, schema, table, days, rowsPerDay, today, false);
    }

    /**
     * Replaces {@code schema.table} with a demo passage table holding {@code days} days of
     * {@code rowsPerDay} rows each, the last on {@code today} (UTC days), plus five empty days ahead.
     * The schema is created if missing; the functions of {@code sql/demo/passage.sql} are installed
     * in schema {@code pgrewrite}. An existing {@code schema.table} is replaced only when an earlier
     * demo made it (its comment says so) or when {@code replace} is true; otherwise {@link NotADemoTable}.
     */
    public static Result create(DataSource ds, String schema, String table, int days, int rowsPerDay,
            LocalDate today, boolean replace) {
        return create(ds, schema, table, days, rowsPerDay, today, replace, false);
    }

    /**
     * As above; with {@code integerId} the key's {@code id} is a serial integer (its own sequence
     * {@code <table>_id_seq}, owned by the column, as {@code serial} makes it) instead of a uuid: the table of
     * "ids running out", for an int → bigint key change.
     */
    public static Result create(DataSource ds, String schema, String table, int days, int rowsPerDay,
            LocalDate today, boolean replace, boolean integerId) {
        if (days < 1 || rowsPerDay < 0) {
            throw new IllegalArgumentException("demo table " + table + ": days (" + days
                    + ") must be at least 1 and rows per day (" + rowsPerDay + ") not negative");
        }
        if (!Identifiers.fits(table + "_YYYYMMDD")) {
            throw new IllegalArgumentException("demo table name " + table
                    + " is too long: its partition names <table>_YYYYMMDD must fit in 63 bytes");
        }
        String where = Identifiers.qualified(schema, table);
        try {
            try (Connection c = connect(ds); Statement st = c.createStatement()) {
                st.execute(script());
            }
            long start = System.nanoTime();
            try (Connection c = connect(ds)) {
                if (!replace) {
                    refuseAForeignTable(c, schema, table);
                }
                call(c, DROP, schema, table);
                call(c, PREPARE, schema, table, days, today, FUTURE_DAYS);
                try (Statement st = c.createStatement()) {
                    st.execute(String.format(MARK_TABLE, where));
                    if (integerId) {
                        String seq = Identifiers.qualified(schema, table + "_id_seq");
                        st.execute(String.format(INTEGER_ID, where));
                        st.execute(String.format(ID_SEQUENCE, seq, where));
                        try (PreparedStatement ps = c.prepareStatement(QUOTE_LITERAL)) {
                            ps.setString(1, seq);
                            try (ResultSet rs = ps.executeQuery()) {
                                rs.next();
                                st.execute(String.format(ID_DEFAULT, where, rs.getString(1)));
                            }
                        }
                    }
                }
            }
            long rows;
            try {
                rows = fill(ds, schema, table, today.minusDays(days - 1L), today, rowsPerDay, today);
                try (Connection c = connect(ds)) {
                    call(c, FINISH, schema, table);
                }
            } catch (SQLException | RuntimeException e) {
                // Half a table is worse than none: the next create would drop it anyway.
                try (Connection c = connect(ds)) {
                    call(c, DROP, schema, table);
                } catch (SQLException dropFailed) {
                    e.addSuppressed(dropFailed);
                }
                throw e;
            }
            Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
            try (Connection c = connect(ds); PreparedStatement ps = c.prepareStatement(MEASURE)) {
                ps.setString(1, schema);
                ps.setString(2, table);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return new Result(table, rs.getInt(1), rows, rs.getLong(2), elapsed);
                }
            }
        } catch (SQLException e) {
            throw new IllegalStateException("could not create demo table " + where + ": " + e.getMessage(), e);
        }
    }

    private static void refuseAForeignTable(Connection c, String schema, String table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(EXISTING)) {
            ps.setString(1, schema);
            ps.setString(2, table);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && !rs.getString(2).startsWith(MARK_PREFIX)) {
                    String what = "p".equals(rs.getString(1)) ? "partitioned table" : "r".equals(rs.getString(1)) ? "table"
                            : "relation (relkind " + rs.getString(1) + ")";
                    throw new NotADemoTable(schema + "." + table + " is a " + what + " that `pgrewrite demo` did not make"
                            + " (it has no demo mark in its comment), so demo leaves it and its data alone; nothing was changed."
                            + " Give the demo another name with --table (or --schema), or add --replace to drop "
                            + schema + "." + table + " and everything in it.");
                }
            }
        }
    }

    /** Splits the days into contiguous ranges, one per connection, and fills them side by side. */
    private static long fill(DataSource ds, String schema, String table, LocalDate first, LocalDate last,
            int rowsPerDay, LocalDate today) throws SQLException {
        long days = last.toEpochDay() - first.toEpochDay() + 1;
        int workers = (int) Math.min(FILL_CONNECTIONS, days);
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            List<Future<Long>> ranges = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                LocalDate from = first.plusDays(days * w / workers);
                LocalDate to = first.plusDays(days * (w + 1) / workers - 1);
                ranges.add(pool.submit(() -> {
                    try (Connection c = connect(ds)) {
                        return call(c, FILL, schema, table, from, to, rowsPerDay, today);
                    }
                }));
            }
            long rows = 0;
            SQLException failure = null;
            for (Future<Long> range : ranges) {  // wait for all: none may still write when we drop on failure
                try {
                    rows += range.get();
                } catch (ExecutionException e) {
                    SQLException cause = e.getCause() instanceof SQLException s ? s
                            : new SQLException(e.getCause().toString(), e.getCause());
                    if (failure == null) {
                        failure = cause;
                    } else {
                        failure.addSuppressed(cause);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SQLException("interrupted while filling demo table " + table, e);
                }
            }
            if (failure != null) {
                throw failure;
            }
            return rows;
        } finally {
            pool.shutdownNow();
        }
    }

    /** One function call; its number result, if any. */
    private static long call(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getObject(1) instanceof Number n ? n.longValue() : 0;
            }
        }
    }

    /** Every call its own transaction, whatever the data source's default. */
    private static Connection connect(DataSource ds) throws SQLException {
        Connection c = ds.getConnection();
        c.setAutoCommit(true);
        return c;
    }

    private static String script() {
        try (InputStream in = DemoTable.class.getResourceAsStream(SCRIPT)) {
            if (in == null) {
                throw new IllegalStateException(SCRIPT + " is not on the class path; the build copies sql/ into it");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + SCRIPT, e);
        }
    }
}
