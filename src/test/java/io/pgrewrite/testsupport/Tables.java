package io.pgrewrite.testsupport;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;

/**
 * Small hand-made tables for tests that need a particular shape (odd names, other partitioning);
 * the demo generator makes the realistic passage table.
 */
public final class Tables {

    private Tables() {
    }

    /** {@code "name"} with quotes doubled. */
    public static String q(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    /**
     * A day-partitioned table with an id key, a smallint, a text and a jsonb column, {@code days}
     * partitions from {@code start}, {@code rowsPerDay} rows each.
     */
    public static void daily(Connection c, String schema, String table, LocalDate start, int days, int rowsPerDay)
            throws SQLException {
        try (Statement st = c.createStatement()) {
            // Only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when it exists.
            if (!exists(st, "SELECT to_regnamespace('" + q(schema).replace("'", "''") + "') IS NOT NULL")) {
                st.execute("CREATE SCHEMA " + q(schema));
            }
            String t = q(schema) + "." + q(table);
            st.execute("CREATE TABLE " + t + " (id bigint NOT NULL, at timestamp NOT NULL, massa smallint,"
                    + " label text NOT NULL DEFAULT 'x', extra jsonb, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)");
            for (int d = 0; d < days; d++) {
                LocalDate day = start.plusDays(d);
                String p = q(schema) + "." + q(table + "_" + day.toString().replace("-", ""));
                st.execute("CREATE TABLE " + p + " PARTITION OF " + t + " FOR VALUES FROM ('" + day + "') TO ('"
                        + day.plusDays(1) + "')");
                st.execute("INSERT INTO " + p + " SELECT " + (d * 1_000_000L) + " + g, '" + day
                        + "'::timestamp + (g % 86400) * interval '1 second', (g % 3000)::smallint, 'row ' || g,"
                        + " jsonb_build_object('g', g) FROM generate_series(1, " + rowsPerDay + ") g");
            }
            st.execute("ANALYZE " + t);
        }
    }

    /**
     * What a DBA grants the application's role ({@value TestDatabase#APP}) on one table: USAGE on its
     * schema, SELECT/INSERT/UPDATE/DELETE on the table and, for a partitioned table, on every partition
     * too (an application may write into a partition directly). Nothing on schema pgrewrite: pgrewrite's
     * triggers must work without it. Run as the table's owner.
     *
     * @param qualified {@code schema.table}, quoted where needed (as in SQL)
     */
    public static void grantApp(Connection c, String qualified) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("""
                    DO $grant$
                    DECLARE r regclass := '%s'::regclass; p regclass;
                    BEGIN
                      EXECUTE format('GRANT USAGE ON SCHEMA %%I TO %s',
                          (SELECT n.nspname FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = r));
                      FOR p IN SELECT r UNION SELECT relid FROM pg_partition_tree(r) LOOP
                        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %%s TO %s', p);
                      END LOOP;
                    END $grant$""".formatted(qualified.replace("'", "''"), TestDatabase.APP, TestDatabase.APP));
        }
    }

    /**
     * Leaves {@code partition} pending detach, as a {@code DETACH PARTITION … CONCURRENTLY} interrupted in its wait
     * does: a reader's open transaction on the parent makes it wait, its statement_timeout cancels it.
     */
    public static void leavePendingDetach(TestDatabase.Database db, String parent, String partition) throws SQLException {
        try (Connection reader = db.connectAsSuperuser(); Statement r = reader.createStatement();
                Connection dba = db.connect(); Statement d = dba.createStatement()) {
            reader.setAutoCommit(false);
            r.executeQuery("SELECT count(*) FROM " + parent).close(); // holds the parent until it ends
            d.execute("SET statement_timeout = '1s'");
            try {
                d.execute("ALTER TABLE " + parent + " DETACH PARTITION " + partition + " CONCURRENTLY");
                throw new IllegalStateException("the detach of " + partition + " did not wait");
            } catch (SQLException e) {
                if (!"57014".equals(e.getSQLState())) { // query_canceled
                    throw e;
                }
            }
            reader.rollback();
            if (!exists(d, "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = '" + partition.replace("'", "''") + "'::regclass")) {
                throw new IllegalStateException(partition + " is not pending detach");
            }
        }
    }

    private static boolean exists(Statement st, String sql) throws SQLException {
        try (java.sql.ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /** The single number a query returns, e.g. a count. */
    public static long one(Statement st, String sql) throws SQLException {
        try (java.sql.ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
