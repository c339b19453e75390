package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The README's "Privileges", as a DBA would set them up on a production server, with the application
 * writing (as its DML-only role, into every partition through the parent) all along.
 */
class LeastPrivilegeTest {

    static final LocalDate START = LocalDate.of(2024, 3, 1);
    static final int DAYS = 3;
    static final int ROWS = 2000;

    /**
     * The database belongs to someone else and pgrewrite's role may not create schemas in it: the DBA
     * made schema pgrewrite (and the table's schema) beforehand, owned by that role. Plan and run work.
     */
    @Test
    void noCreateOnTheDatabaseWithAPreMadeSchema() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("leastpriv_schema", TestDatabase.server().user());
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            st.execute("REVOKE CREATE ON DATABASE " + db.name() + " FROM PUBLIC");
            st.execute("CREATE SCHEMA pgrewrite AUTHORIZATION " + TestDatabase.OWNER);
            st.execute("CREATE SCHEMA archive AUTHORIZATION " + TestDatabase.OWNER);
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT has_database_privilege(current_database(), 'CREATE')")) {
                rs.next();
                assertThat(rs.getBoolean(1)).as("pgrewrite's role has CREATE on the database").isFalse();
            }
            Tables.daily(c, "archive", "ev", START, DAYS, ROWS);
            Tables.grantApp(c, "archive.ev");
        }
        Path job = Files.createTempFile("leastpriv", ".yaml");
        Files.writeString(job, "name: leastpriv\ntable: archive.ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\ncopy:\n  chunk-rows: 500\n  pause: 10ms\n");
        CliRun plan = CliRun.run(db, "plan", job.toString());
        assertThat(plan.exitCode()).as(plan.toString()).isEqualTo(ExitCodes.OK);

        long written = runWhileTheApplicationWrites(db, "archive.ev", job);

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM archive.ev")).isEqualTo(DAYS * ROWS + written);
            assertThat(one(st, "SELECT count(*) FROM archive.ev WHERE massa IS NULL")).isZero();
            try (ResultSet rs = st.executeQuery("SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid = 'archive.ev'::regclass AND attname = 'massa'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("integer");
            }
        }
    }

    /**
     * The table belongs to a NOLOGIN role; pgrewrite's role is a member of it. The swapped partitions
     * belong to that role again, and the application's grants on each partition are carried over: it
     * can still write into a swapped partition by name.
     */
    @Test
    void memberOfTheOwningRole() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("leastpriv_member");
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            st.execute("DO $$ BEGIN CREATE ROLE archive_owner NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
            st.execute("GRANT archive_owner TO " + TestDatabase.OWNER);
            st.execute("CREATE SCHEMA archive AUTHORIZATION archive_owner");
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("SET ROLE archive_owner");
            Tables.daily(c, "archive", "ev", START, DAYS, ROWS);
            Tables.grantApp(c, "archive.ev");
            st.execute("RESET ROLE");
        }
        Path job = Files.createTempFile("leastpriv-member", ".yaml");
        Files.writeString(job, "name: leastpriv-member\ntable: archive.ev\noperation: compact\nworkers: 1\n"
                + "copy:\n  chunk-rows: 500\n  pause: 10ms\n");

        long written = runWhileTheApplicationWrites(db, "archive.ev", job);

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM archive.ev")).isEqualTo(DAYS * ROWS + written);
            assertThat(one(st, "SELECT count(*) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid"
                    + " WHERE i.inhparent = 'archive.ev'::regclass AND pg_get_userbyid(c.relowner) <> 'archive_owner'"))
                    .as("partitions not owned by archive_owner").isZero();
        }
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            assertThat(st.executeUpdate("INSERT INTO archive.ev_20240302 (id, at, massa) VALUES (1999999, '2024-03-02 01:00', 1)")).isOne();
        }
    }

    /** Runs the job while the application inserts into each day through the parent; returns the rows it wrote. */
    private static long runWhileTheApplicationWrites(TestDatabase.Database db, String table, Path job) throws Exception {
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong written = new AtomicLong();
        Thread writer = new Thread(() -> {
            try (Connection c = db.connectAsApp();
                    PreparedStatement ins = c.prepareStatement("INSERT INTO " + table
                            + " (id, at, massa, label) VALUES (?, ?::timestamp, ?, 'app')");
                    PreparedStatement upd = c.prepareStatement("UPDATE " + table + " SET label = 'app-upd' WHERE id = ?")) {
                for (int i = 0; !done.get(); i++) {
                    int day = i % DAYS;
                    ins.setLong(1, day * 1_000_000L + 500_000 + i);
                    ins.setString(2, START.plusDays(day) + " 12:00:00");
                    ins.setInt(3, i % 3000);
                    ins.executeUpdate();
                    written.incrementAndGet();
                    upd.setLong(1, day * 1_000_000L + 1 + i % ROWS);
                    upd.executeUpdate();
                    Thread.sleep(5);
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        }, "app-writer");
        writer.start();
        CliRun run;
        try {
            Thread.sleep(200);
            run = CliRun.run(db, "run", job.toString());
        } finally {
            done.set(true);
            writer.join();
        }
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);
        assertThat(errors).as("the application's errors").isEmpty();
        assertThat(written.get()).isGreaterThan(10);
        return written.get();
    }
}
