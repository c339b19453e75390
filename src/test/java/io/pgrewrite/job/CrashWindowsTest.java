package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The pgrewrite process is killed (kill -9) at every statement boundary of expand, capture, swap,
 * retire and contract, and right after each of them committed but before Spring Batch recorded the
 * step; {@code restart} then finishes the job, and the table equals the one the blocking
 * {@code ALTER TABLE … TYPE} gives on a copy: the same rows both ways, the same columns, types, NOT
 * NULLs, defaults, indexes, constraints and triggers, and nothing of pgrewrite's left behind.
 */
class CrashWindowsTest {

    static final int DAYS = 3;
    static final int ROWS = 500;
    static final String JOB = "name: crash\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
            + "workers: 1\ncopy:\n  chunk-rows: 200\n";

    static TestDatabase.Database template;
    static TestDatabase.Database reference;

    @BeforeAll
    static void tableAndWhatTheBlockingAlterMakesOfIt() throws Exception {
        template = TestDatabase.newDatabase("crash_template");
        try (Connection c = template.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            // NOT NULL and a default on the retyped column: contract must carry both (via a validated check).
            st.execute("ALTER TABLE ev ALTER COLUMN massa SET NOT NULL, ALTER COLUMN massa SET DEFAULT 7");
        }
        reference = TestDatabase.cloneDatabase(template, "crash_ref");
        try (Connection c = reference.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE integer USING massa::integer");
        }
    }

    /**
     * Every fault point with {@code -Dpgrewrite.test.all-crash-points}; by default (the suite must stay
     * fast on a small machine) the moments after each step committed and the points where a partial
     * commit would matter most. The points left out by default are inside one transaction, where a kill
     * rolls back exactly as a lock timeout does: expand:column-added, expand:before-commit,
     * capture:log-created, capture:before-commit, swap:locked, contract:before-commit, and
     * contract:not-null-added (its own story below). retire:dropped-old is inside retire's one transaction too
     * (P__old, the log and the function are dropped together): it stays in the default list, a kill there must
     * leave all three for the restart.
     */
    static List<String> points() {
        List<String> often = List.of("expand:committed", "capture:committed", "swap:before-commit", "after-swap",
                "retire:dropped-old", "retire:committed", "contract:locked", "contract:committed");
        if (!Boolean.getBoolean("pgrewrite.test.all-crash-points")) {
            return often;
        }
        return List.of("expand:column-added", "expand:before-commit", "expand:committed",
                "capture:reserving", "capture:log-created", "capture:before-commit", "capture:committed",
                "verify:recorded", "swap:locked", "swap:before-commit", "after-swap",
                "retire:dropped-old", "retire:committed",
                "contract:not-null-added", "contract:locked", "contract:before-commit", "contract:committed");
    }

    @ParameterizedTest(name = "killed at {0}")
    @MethodSource("points")
    void killedAtAnyPointRestartsToTheBlockingAltersResult(String point) throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "crash_" + point.replaceAll("[^a-z]", "_"));
        Path job = Files.createTempFile("crash", ".yaml");
        Files.writeString(job, JOB);

        killAt(db, point, job);
        CliRun restart = CliRun.run(db, "restart", String.valueOf(lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);

        assertSameAsReference(db);
    }

    /**
     * The story of the report: the column is nullable (no check to trip over), the process dies after
     * contract committed; the restart must not run contract again, which would drop the converted
     * column and rename a freshly added, empty shadow into its place.
     */
    @Test
    void aRestartAfterTheContractCommittedKeepsTheConvertedValues() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "crash_nullable");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ev ALTER COLUMN massa DROP NOT NULL");
        }
        Path job = Files.createTempFile("crash", ".yaml");
        Files.writeString(job, JOB);

        killAt(db, "contract:committed", job);
        CliRun restart = CliRun.run(db, "restart", String.valueOf(lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);

        try (Connection ours = db.connect(); Connection theirs = reference.connect(); Statement st = ours.createStatement()) {
            assertThat(one(st, "SELECT count(massa) FROM ev")).isEqualTo(DAYS * ROWS);
            assertThat(CatalogSnapshot.rows(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'massa'"
                    + " AND atttypid = 'integer'::regtype")).isOne();
            assertThat(leftovers(st)).isEmpty();
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%pgrewrite_sync'")).isZero();
        }
    }

    /**
     * Killed between adding a partition's NOT NULL check (NOT VALID) and validating it: the restart
     * validates it before contract, so contract's SET NOT NULL finds a valid check on every partition
     * and does not scan one under the lock of the whole table.
     */
    @Test
    void aCheckLeftNotValidIsValidatedBeforeContractLocks() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "crash_not_valid");
        Path job = Files.createTempFile("crash", ".yaml");
        Files.writeString(job, JOB);

        String killedOn = killAt(db, "contract:not-null-added", job).split(" ")[2];
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conname = 'pgrewrite_not_null' AND NOT convalidated"
                    + " AND conrelid = '" + killedOn + "'::regclass")).isOne();
        }
        // The restart, held at the moment contract has the table locked: every check is valid by then.
        long execution = lastExecution(db);
        try (JvmProcess restart = JvmProcess.start("restart", List.of("-D" + FaultPoints.PROPERTY + "=contract:locked"), db,
                "restart", String.valueOf(execution))) {
            restart.await(l -> l.startsWith("PGREWRITE-PAUSED contract:locked"), 180);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conname = 'pgrewrite_not_null' AND convalidated"))
                        .isEqualTo(DAYS);
                assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conname = 'pgrewrite_not_null' AND NOT convalidated"))
                        .isZero();
            }
            restart.kill();
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        assertSameAsReference(db);
    }

    /**
     * Killed inside the transaction that reserves the first partition's disk and records it capturing (one commit
     * for both since they were two): neither is there after the kill, so nothing holds disk budget for a partition
     * no run is working on; the restart starts that partition afresh and finishes the job as the blocking ALTER.
     */
    @Test
    void aKillInsideTheReservationLeavesNeitherTheReservationNorTheStateBehind() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "crash_reserving");
        Path job = Files.createTempFile("crash", ".yaml");
        Files.writeString(job, JOB);

        String killedOn = killAt(db, "capture:reserving", job).split(" ")[2];
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.disk_reservation")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE partition_name = '" + killedOn + "'")).isZero();
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        assertSameAsReference(db);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.disk_reservation")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired'")).isEqualTo(DAYS);
        }
    }

    /** The retyped column references a table of its own (as cameras): the points where foreign keys are built. */
    static final String CAMERAS = "CREATE TABLE cams (id int PRIMARY KEY);"
            + " INSERT INTO cams SELECT generate_series(0, 2999);"
            + " ALTER TABLE ev ADD CONSTRAINT ev_massa_fkey FOREIGN KEY (massa) REFERENCES cams (id)";

    static TestDatabase.Database fkTemplate;
    static TestDatabase.Database fkReference;

    static synchronized void withForeignKey() throws Exception {
        if (fkTemplate != null) {
            return;
        }
        fkTemplate = TestDatabase.cloneDatabase(template, "crash_fk_template");
        try (Connection c = fkTemplate.connect(); Statement st = c.createStatement()) {
            st.execute(CAMERAS);
            Tables.grantApp(c, "public.ev");
            Tables.grantApp(c, "public.cams");
        }
        fkReference = TestDatabase.cloneDatabase(fkTemplate, "crash_fk_ref");
        try (Connection c = fkReference.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE integer USING massa::integer");
        }
    }

    /**
     * The points where the table's foreign key on the retyped column is built: on each copy NOT VALID
     * (foreign-keys:added), on the new column (foreign-keys:shadow-added), and all of them validated, right
     * before the swap (foreign-keys:validated). The application writes meanwhile, as its own role: it inserts,
     * re-points and deletes rows, and deletes cameras whose rows it deleted. The process is killed (kill -9) at
     * the first partition that reaches the point; then either {@code restart} finishes the job, and the table
     * equals what the blocking ALTER makes of it (the rows the application left, the foreign key attached on every
     * partition), or {@code abandon --cleanup} gives it up, and the table is as it was, with those rows.
     */
    static List<String> foreignKeyPoints() {
        List<String> cases = new ArrayList<>();
        for (String point : List.of("foreign-keys:added", "foreign-keys:shadow-added", "foreign-keys:validated")) {
            cases.add(point + " restart");
            cases.add(point + " cleanup");
        }
        return cases;
    }

    @ParameterizedTest(name = "killed at {0}")
    @MethodSource("foreignKeyPoints")
    void killedWhileBuildingForeignKeysRestartsToTheBlockingAltersResultOrCleansUp(String story) throws Exception {
        withForeignKey();
        String point = story.split(" ")[0];
        boolean restart = story.endsWith("restart");
        TestDatabase.Database db = TestDatabase.cloneDatabase(fkTemplate, "crash_" + story.replaceAll("[^a-z]", "_"));
        List<String> before;
        long camTriggers;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            before = CatalogSnapshot.full(c, "ev");
            camTriggers = one(st, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'cams'::regclass");
        }
        Path job = Files.createTempFile("crash", ".yaml");
        Files.writeString(job, JOB);

        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.ConcurrentLinkedQueue<Throwable> errors = new java.util.concurrent.ConcurrentLinkedQueue<>();
        java.util.concurrent.atomic.AtomicLong writes = new java.util.concurrent.atomic.AtomicLong();
        Thread writer = new Thread(() -> {
            try (Connection c = db.connectAsApp(); Statement st = c.createStatement()) {
                for (int i = 0; !done.get(); i++) {
                    int day = i % DAYS;
                    String from = "'" + LocalDate.of(2024, 3, 1).plusDays(day) + "'::timestamp";
                    long id = day * 1_000_000L + 1 + (i * 37L) % ROWS;
                    st.execute("INSERT INTO cams VALUES (" + (5000 + i) + ")");
                    st.execute("INSERT INTO ev (id, at, massa) VALUES (" + (day * 1_000_000L + 900_000 + i) + ", " + from
                            + " + interval '12 hours', " + (5000 + i) + ")");
                    st.execute("UPDATE ev SET massa = " + (i % 3000) + " WHERE id = " + id + " AND at >= " + from
                            + " AND at < " + from + " + interval '1 day'");
                    if (i % 3 == 0) { // the camera's rows go, then the camera
                        st.execute("DELETE FROM ev WHERE massa = " + (5000 + i));
                        st.execute("DELETE FROM cams WHERE id = " + (5000 + i));
                    }
                    if (i % 5 == 0) {
                        st.execute("DELETE FROM ev WHERE id = " + (id + 1) + " AND at >= " + from + " AND at < " + from
                                + " + interval '1 day'");
                    }
                    writes.incrementAndGet();
                    Thread.sleep(5);
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        }, "app-writer");
        writer.start();
        try {
            killAt(db, point, job);
        } finally {
            done.set(true);
            writer.join();
        }
        assertThat(errors).as("the application's statements").isEmpty();
        assertThat(writes.get()).isGreaterThan(3);
        List<String> rows;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            rows = tableRows(st);
        }

        CliRun next = restart ? CliRun.run(db, "restart", String.valueOf(lastExecution(db)))
                : CliRun.run(db, "abandon", String.valueOf(lastExecution(db)), "--cleanup");
        assertThat(next.exitCode()).as(next.toString()).isEqualTo(ExitCodes.OK);

        try (Connection ours = db.connect(); Statement st = ours.createStatement()) {
            assertThat(tableRows(st)).as("the rows the application left").containsExactlyElementsOf(rows);
            if (restart) {
                try (Connection theirs = fkReference.connect()) {
                    assertThat(CatalogSnapshot.of(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.of(theirs, "ev"));
                    assertThat(CatalogSnapshot.full(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "ev"));
                }
            } else {
                assertThat(CatalogSnapshot.full(ours, "ev")).as("as it was").containsExactlyElementsOf(before);
            }
            assertThat(leftovers(st)).isEmpty();
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'cams'::regclass")).isEqualTo(camTriggers);
            assertThat(one(st, "SELECT count(*) FROM ev LEFT JOIN cams k ON k.id = ev.massa WHERE k.id IS NULL")).isZero();
        }
    }

    /** The rows of the table's own columns (not the shadow column a killed run left), as text, sorted. */
    static List<String> tableRows(Statement st) throws Exception {
        List<String> rows = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT concat_ws(',', id, at, massa, label, extra) AS r FROM ev ORDER BY 1")) {
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
        }
        return rows;
    }

    /**
     * The column has an index and a CHECK, which contract prepares (outside the parent's lock) only on a
     * partition the job did not rewrite: here ev_20240304, created by the daily job while the first run lay
     * dead inside contract. The restart is killed where that preparation commits each piece (the shadow
     * index built, the shadow CHECK added NOT VALID), with the application writing while it is paused there
     * (the NOT NULL checks are on every partition by then); the next restart ends with the table the blocking
     * ALTER gives. (contract:not-null-added has its own story above and in
     * UnconvertibleWriteWhileContractPreparesTest.)
     */
    @ParameterizedTest(name = "killed at {0}")
    @ValueSource(strings = {"contract:shadow-index", "contract:shadow-check-added"})
    void killedWhileContractPreparesANewPartition(String point) throws Exception {
        TestDatabase.Database db = killedWhilePreparing(point, "crash_prep_" + point.replaceAll("[^a-z]", "_"));
        CliRun restart = CliRun.run(db, "restart", String.valueOf(lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection ours = db.connect(); Connection theirs = objects()[2].connect(); Statement st = ours.createStatement()) {
            assertThat(CatalogSnapshot.rows(ours, "ev")).hasSize(DAYS * ROWS + 2 * APP_ROWS)
                    .containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            assertThat(CatalogSnapshot.full(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "ev"));
            assertThat(leftovers(st)).isEmpty();
        }
    }

    /** The same kill, then the operator gives the job up: {@code abandon --cleanup} leaves the table as it was. */
    @Test
    void abandonedWhileContractPreparesANewPartition() throws Exception {
        TestDatabase.Database db = killedWhilePreparing("contract:shadow-check-added", "crash_prep_abandon");
        String execution = String.valueOf(lastExecution(db));
        CliRun cleanup = CliRun.run(db, "abandon", execution, "--cleanup");
        assertThat(cleanup.exitCode()).as(cleanup.toString()).isEqualTo(ExitCodes.OK);
        try (Connection ours = db.connect(); Connection before = objects()[1].connect(); Statement st = ours.createStatement()) {
            assertThat(CatalogSnapshot.rows(ours, "ev")).hasSize(DAYS * ROWS + 2 * APP_ROWS)
                    .containsExactlyElementsOf(CatalogSnapshot.rows(before, "ev"));
            assertThat(CatalogSnapshot.of(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.of(before, "ev"));
            assertThat(leftovers(st)).isEmpty();
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname LIKE '%massa%'"
                    + " AND NOT attisdropped")).isOne();
        }
    }

    static final int APP_ROWS = 20;
    static TestDatabase.Database[] objects;

    /**
     * [0] the table with an index and a CHECK on massa, granted to the application; [1] that table after the
     * daily job's new partition and the application's writes below; [2] the same after the blocking ALTER.
     */
    static synchronized TestDatabase.Database[] objects() throws Exception {
        if (objects == null) {
            TestDatabase.Database t = TestDatabase.cloneDatabase(template, "crash_obj_template");
            try (Connection c = t.connect(); Statement st = c.createStatement()) {
                st.execute("CREATE INDEX ev_massa ON ev (massa)");
                st.execute("ALTER TABLE ev ADD CONSTRAINT massa_positive CHECK (massa >= 0)");
                Tables.grantApp(c, "public.ev");
            }
            TestDatabase.Database before = TestDatabase.cloneDatabase(t, "crash_obj_before");
            try (Connection c = before.connect()) {
                newPartition(c);
                applicationWrites(c, 0);
                applicationWrites(c, 1);
            }
            TestDatabase.Database after = TestDatabase.cloneDatabase(before, "crash_obj_after");
            try (Connection c = after.connect(); Statement st = c.createStatement()) {
                st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE integer USING massa::integer");
            }
            objects = new TestDatabase.Database[] {t, before, after};
        }
        return objects;
    }

    /** Killed in contract; the new partition; the application writes; restarted and killed at {@code point}. */
    static TestDatabase.Database killedWhilePreparing(String point, String name) throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(objects()[0], name);
        Path job = Files.createTempFile("crash", ".yaml");
        Files.writeString(job, JOB);
        killAt(db, "contract:not-null-added", job);
        try (Connection c = db.connect()) {
            newPartition(c);
        }
        try (Connection app = db.connectAsApp()) {
            applicationWrites(app, 0);
        }
        try (JvmProcess restart = JvmProcess.start("restart", List.of("-D" + FaultPoints.PROPERTY + "=" + point), db,
                "restart", String.valueOf(lastExecution(db)))) {
            restart.await(l -> l.startsWith("PGREWRITE-PAUSED " + point + " "), 180);
            try (Connection app = db.connectAsApp()) {
                applicationWrites(app, 1); // while contract prepares: the checks are there (NOT VALID or valid)
            }
            restart.kill();
        }
        return db;
    }

    static void newPartition(Connection c) throws Exception {
        try (Statement st = c.createStatement()) {
            st.execute("CREATE TABLE ev_20240304 PARTITION OF ev FOR VALUES FROM ('2024-03-04') TO ('2024-03-05')");
        }
    }

    /** Rows into the new partition and an old one, and an update of an old row; {@code round} keeps the keys apart. */
    static void applicationWrites(Connection c, int round) throws Exception {
        try (Statement st = c.createStatement()) {
            for (int i = 0; i < APP_ROWS / 2; i++) {
                long n = 5_000_000L + round * 1000 + i;
                st.executeUpdate("INSERT INTO ev (id, at, massa, label) VALUES (" + n + ", '2024-03-04 10:00:00', " + (i + round) + ", 'new day')");
                st.executeUpdate("INSERT INTO ev (id, at, massa, label) VALUES (" + (n + 100) + ", '2024-03-02 10:00:00', " + i + ", 'old day')");
            }
            st.executeUpdate("UPDATE ev SET massa = massa + 1 WHERE id = " + (1_000_000L + 10 + round));
        }
    }

    /** Runs the job in a JVM of its own until it reaches {@code point}, then kill -9; returns the PAUSED line. */
    static String killAt(TestDatabase.Database db, String point, Path job) throws Exception {
        try (JvmProcess run = JvmProcess.start("run", List.of("-D" + FaultPoints.PROPERTY + "=" + point), db, "run", job.toString())) {
            String paused = run.await(l -> l.startsWith("PGREWRITE-PAUSED " + point + " "), 180);
            run.kill();
            return paused;
        }
    }

    static long lastExecution(TestDatabase.Database db) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            return one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
        }
    }

    static void assertSameAsReference(TestDatabase.Database db) throws Exception {
        try (Connection ours = db.connect(); Connection theirs = reference.connect(); Statement st = ours.createStatement()) {
            List<String> a = CatalogSnapshot.rows(ours, "ev");
            assertThat(a).hasSize(DAYS * ROWS).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            assertThat(CatalogSnapshot.of(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.of(theirs, "ev"));
            assertThat(leftovers(st)).isEmpty();
        }
    }

    /** Whatever pgrewrite creates on the way: copies, old partitions, logs, trigger functions. */
    static List<String> leftovers(Statement st) throws Exception {
        List<String> found = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT relname FROM pg_class WHERE relname ~ '__(rw|old)$' OR relname ~ '^log_'"
                + " UNION ALL SELECT proname FROM pg_proc WHERE pronamespace = 'pgrewrite'::regnamespace"
                + " UNION ALL SELECT conname FROM pg_constraint WHERE conname LIKE 'pgrewrite%'")) {
            while (rs.next()) {
                found.add(rs.getString(1));
            }
        }
        return found;
    }
}
