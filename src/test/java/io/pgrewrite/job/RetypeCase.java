package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;

/**
 * One retyping story for the *EquivalenceTest classes of issue 10 items 1-3: a day-partitioned passage
 * table (3 days with rows, 2 empty days ahead) whose camera_id or id carries indexes, keys, CHECKs or a
 * sequence; the application ({@value TestDatabase#APP}) inserts rows through the parent while pgrewrite
 * retypes the column, and the daily job may create a partition once the rewrite is under way. Then the
 * table equals a clone changed by the blocking statements (the same application rows inserted after):
 * the rows both ways and {@link CatalogSnapshot#full}.
 */
final class RetypeCase {

    static final LocalDate FIRST = LocalDate.of(2024, 3, 1);

    private RetypeCase() {
    }

    /** What the run saw: the application's rows, whether a partition joined mid-job, the CLI's output; its database. */
    record Outcome(int appRows, boolean partitionAdded, CliRun run, TestDatabase.Database db) {
    }

    /** The passage table of these stories, 3 days of 3000 rows and 2 empty days ahead, granted to the application. */
    static TestDatabase.Database table(String name, String idType, String extraDdl) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase(name);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE passage (id " + idType + ", at timestamp NOT NULL, camera_id int, label text,"
                    + " PRIMARY KEY (id, at)) PARTITION BY RANGE (at)");
            for (int d = 0; d < 5; d++) {
                LocalDate day = FIRST.plusDays(d);
                st.execute("CREATE TABLE passage_" + day.toString().replace("-", "") + " PARTITION OF passage FOR VALUES FROM ('"
                        + day + "') TO ('" + day.plusDays(1) + "')");
                if (d < 3) {
                    st.execute("INSERT INTO passage (at, camera_id, label) SELECT '" + day + "'::timestamp + g * interval '1 second',"
                            + " g % 700, 'row ' || g FROM generate_series(1, 3000) g");
                }
            }
            st.execute(extraDdl);
            Tables.grantApp(c, "public.passage");
            st.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO " + TestDatabase.APP);
            st.execute("ANALYZE passage");
        }
        return db;
    }

    /**
     * @param idType     the id column's type: serial, or an identity
     * @param extraDdl   indexes, constraints on the table, run by its owner after it is filled
     * @param column     the column retyped to {@code type}
     * @param blocking   what a DBA would run instead, on the clone
     * @param addPartition create a partition (2024-03-06) once the first partition was swapped
     */
    static Outcome run(String name, String idType, String extraDdl, String column, String type, String blocking,
            boolean addPartition) throws Exception {
        TestDatabase.Database db = table(name, idType, extraDdl);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, name + "_ref");

        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger appRows = new AtomicInteger();
        AtomicBoolean added = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread app = new Thread(() -> {
            try (Connection c = db.connectAsApp(); PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO passage (at, camera_id, label) VALUES ('2024-03-02 12:00:00.5'::timestamp + ? * interval '1 ms', ?, ?)")) {
                while (!stop.get()) {
                    int n = appRows.get() + 1;
                    ps.setInt(1, n);
                    ps.setInt(2, n % 700);
                    ps.setString(3, "app " + n);
                    ps.executeUpdate();
                    appRows.set(n);
                    Thread.sleep(5);
                }
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "application");
        Thread daily = new Thread(() -> {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                while (!stop.get() && addPartition) {
                    if (Tables.one(st, "SELECT count(*) FROM pg_tables WHERE schemaname = 'pgrewrite' AND tablename = 'partition_state'") > 0
                            && Tables.one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state IN ('swapped', 'retired')") > 0) {
                        st.execute("CREATE TABLE passage_20240306 PARTITION OF passage FOR VALUES FROM ('2024-03-06') TO ('2024-03-07')");
                        added.set(true);
                        return;
                    }
                    Thread.sleep(10);
                }
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "daily partitions");
        app.start();
        daily.start();
        Path job = Files.createTempFile("retype", ".yaml");
        Files.writeString(job, "name: retype\ntable: passage\noperation: alter-column-type\ncolumn: " + column + "\ntype: " + type
                + "\nworkers: 2\n");
        CliRun run;
        try {
            run = CliRun.run(db, "run", job.toString());
        } finally {
            stop.set(true);
            app.join();
            daily.join();
        }
        assertThat(failure.get()).as("the application's inserts and the daily job never fail").isNull();
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);

        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            if (added.get()) {
                st.execute("CREATE TABLE passage_20240306 PARTITION OF passage FOR VALUES FROM ('2024-03-06') TO ('2024-03-07')");
            }
            st.execute(blocking);
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO passage (at, camera_id, label) VALUES ('2024-03-02 12:00:00.5'::timestamp + ? * interval '1 ms', ?, ?)")) {
                for (int n = 1; n <= appRows.get(); n++) {
                    ps.setInt(1, n);
                    ps.setInt(2, n % 700);
                    ps.setString(3, "app " + n);
                    ps.executeUpdate();
                }
            }
        }
        try (Connection ours = db.connect(); Connection theirs = ref.connect()) {
            List<String> a = CatalogSnapshot.rows(ours, "passage");
            List<String> b = CatalogSnapshot.rows(theirs, "passage");
            assertThat(a).hasSize(9000 + appRows.get()).containsExactlyElementsOf(b);
            List<String> mine = CatalogSnapshot.full(ours, "passage");
            List<String> theirsNow = CatalogSnapshot.full(theirs, "passage");
            List<String> onlyMine = new java.util.ArrayList<>(mine);
            onlyMine.removeAll(theirsNow);
            List<String> onlyBlocking = new java.util.ArrayList<>(theirsNow);
            onlyBlocking.removeAll(mine);
            assertThat(mine).as("only after pgrewrite: %s%nonly after the blocking statements: %s", onlyMine, onlyBlocking)
                    .containsExactlyElementsOf(theirsNow);
        }
        return new Outcome(appRows.get(), added.get(), run, db);
    }
}
