package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A multi-night job meets the schema's ordinary life. The job is interrupted (killed while copying the
 * first partition, or failed at a swap), the table drifts — a deploy adds a column, an index or a
 * CHECK to the parent, a retention job drops a partition, the daily job creates one — and the restart
 * completes, with the same rows and catalog as the blocking statement run on a copy that drifted the
 * same way. A partition dropped meanwhile is reported gone; one created meanwhile is rewritten by the
 * restart, which lists the partitions again; one created while the job runs, after it listed them, is
 * not rewritten, has the new column through the parent, and the report says so. A parent with a NOT VALID CHECK that legacy rows violate keeps it NOT VALID.
 * A partition attached again with another bound is copied again for it; one changed behind its triggers again and
 * again fails clean, and restart completes it.
 */
class SchemaDriftTest {

    static final LocalDate START = LocalDate.of(2024, 3, 1);
    static final String ALTER = "ALTER TABLE ev ALTER COLUMN massa TYPE integer USING massa::integer";

    /** ev_20240301 detached and attached again with a bound a day wider (2024-02-29 too). */
    static final String WIDER = "ALTER TABLE ev DETACH PARTITION ev_20240301;"
            + " ALTER TABLE ev ATTACH PARTITION ev_20240301 FOR VALUES FROM ('2024-02-29') TO ('2024-03-02')";

    /** {@code rows} new rows on 2024-02-29, a minute apart. */
    static String leap(int rows) {
        return "INSERT INTO ev (id, at, massa, label) SELECT 8000000 + g, '2024-02-29'::timestamp + g * interval '1 minute',"
                + " g::smallint, 'leap' FROM generate_series(1, " + rows + ") g";
    }

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "column added by a deploy|ALTER TABLE ev ADD COLUMN source text DEFAULT 'cam'|",
        "CHECK added by a deploy|ALTER TABLE ev ADD CONSTRAINT label_set CHECK (label <> '')|",
        "partition dropped by retention|DROP TABLE ev_20240301|gone: ev_20240301",
        "partition created by the daily job|CREATE TABLE ev_20240310 PARTITION OF ev FOR VALUES FROM ('2024-03-10') TO ('2024-03-11');"
                + " INSERT INTO ev (id, at, massa, label) SELECT 9000000 + g, '2024-03-10'::timestamp + g * interval '1 second',"
                + " (g % 3000)::smallint, concat('late ', g) FROM generate_series(1, 500) g|ev_20240310",
    })
    void aKilledJobRestartsAfterTheTableDrifted(String story, String drift, String reported) throws Exception {
        TestDatabase.Database db = table("drift", 3, 2000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "driftref");
        Path job = massaJob("workers: 1\ncopy:\n  chunk-rows: 200\n");

        long id = killWhileCopying(db, job);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname = 'ev_20240301__rw'")).isEqualTo(1);
            st.execute(drift);
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        if (reported != null) {
            assertThat(restart.out()).contains(reported);
        }

        onRef(ref, drift, ALTER);
        assertSameAsBlockingAlter(db, ref);
    }

    /**
     * The swap goes on from the catalog as the index phase read it (before catch up and verify, which take minutes on
     * a big partition): a partition a retention job drops, or someone detaches, after its verify is found by the swap's
     * own catalog read, reported gone, and the job goes on with the others.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
        "dropped by retention|DROP TABLE ev_20240301",
        "detached|ALTER TABLE ev DETACH PARTITION ev_20240301",
        "moved to an archive table|ALTER TABLE ev DETACH PARTITION ev_20240301;"
                + " CREATE TABLE ev_archive (LIKE ev) PARTITION BY RANGE (at);"
                + " ALTER TABLE ev_archive ATTACH PARTITION ev_20240301 FOR VALUES FROM ('2024-03-01') TO ('2024-03-02')",
    })
    void aPartitionGoneBetweenItsVerifyAndItsSwapIsReportedGone(String story, String drift) throws Exception {
        TestDatabase.Database db = table("drift_verified", 3, 1000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_verifiedref");
        assertThat(runDriftingAt(db, "verify:recorded", drift)).contains("gone: ev_20240301");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE partition_name = 'ev_20240301'"
                    + " AND state = '" + PartitionState.GONE + "'")).isOne();
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgname = 'pgrewrite_capture'")).as("no capture left").isZero();
        }
        onRef(ref, drift, ALTER);
        assertSameAsBlockingAlter(db, ref);
    }

    /**
     * A partition in another schema than its table's, dropped between its verify and its swap: its copy, capture function
     * and log are named after its own schema, and the job, which knows it by name only once it is gone, finds them
     * there (before, it looked in the table's schema, found nothing, and left the copy, a partition's worth of disk,
     * with the log and the function).
     */
    @Test
    void aPartitionInAnotherSchemaDroppedBeforeItsSwapLeavesNothingBehind() throws Exception {
        TestDatabase.Database db = table("drift_schema", 3, 1000);
        // Another tenant's table, with a partition of the same name that another job is capturing (its own trigger and
        // function, named after its schema): not this job's, though its schema comes first.
        io.pgrewrite.plan.PartitionNames tenant = new io.pgrewrite.plan.PartitionNames("aaa", "ev_20240301", "aaa", "ev");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA arch");
            st.execute("ALTER TABLE ev_20240301 SET SCHEMA arch");
            st.execute("CREATE SCHEMA aaa");
            st.execute("CREATE TABLE aaa.ev (id bigint, at timestamp NOT NULL) PARTITION BY RANGE (at)");
            st.execute("CREATE TABLE aaa.ev_20240301 PARTITION OF aaa.ev FOR VALUES FROM ('2024-03-01') TO ('2024-03-02')");
            CliRun.makeSchema(db);
            st.execute("CREATE FUNCTION " + tenant.qCaptureFunction() + "() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$");
            st.execute("CREATE TRIGGER pgrewrite_capture AFTER INSERT ON aaa.ev_20240301 FOR EACH ROW EXECUTE FUNCTION "
                    + tenant.qCaptureFunction() + "()");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_schemaref");
        assertThat(runDriftingAt(db, "verify:recorded", "DROP TABLE arch.ev_20240301")).contains("gone: ev_20240301");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'pgrewrite'::regnamespace AND proname LIKE 'capture\\_%'"))
                    .as("no capture function of this job left, the other job's kept").isOne();
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'aaa.ev_20240301'::regclass AND tgname = 'pgrewrite_capture'"))
                    .as("the other job's trigger kept").isOne();
        }
        onRef(ref, "DROP TABLE arch.ev_20240301", ALTER);
        assertSameAsBlockingAlter(db, ref); // no copy and no log left either
    }

    /**
     * A DBA's {@code DETACH PARTITION … CONCURRENTLY} interrupted in its wait leaves the partition pending detach: it is
     * leaving the table (its swap's DETACH would fail, every time, and no ALTER TABLE can change it). The job takes it
     * for gone, as a detached one, whether its rewrite had begun or not, and the others are rewritten. Contract would leave it, still in the table's catalog, with columns neither the table's
     * nor its own: it refuses, names the statement that finishes the detach, and changes nothing; once that ran,
     * {@code restart} contracts. The table, and the detached partition's rows and its column, are then the blocking
     * ALTER's after the same detach (the partition also keeps the job's shadow column, which the message names).
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"ev_20240301", "ev_20240303"}) // being rewritten; not begun
    void aPartitionLeftPendingDetachBeforeItsSwapIsReportedGoneAndHoldsContractUntilTheDetachIsFinished(String day) throws Exception {
        TestDatabase.Database db = table("drift_pending_" + day.substring(3), 3, 1000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_pendingref_" + day.substring(3));
        String output = runDriftingAt(db, "verify:recorded", () -> Tables.leavePendingDetach(db, "ev", day), false);
        assertThat(output).contains(day + ": no longer a partition of ev", "partition \"public\".\"" + day + "\" of \"public\".\"ev\""
                + " is pending detach", "Nothing was contracted", "ALTER TABLE \"public\".\"ev\" DETACH PARTITION \"public\".\"" + day
                + "\" FINALIZE", "\"massa__pgrewrite\", which you may drop");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'massa__pgrewrite'"))
                    .as("not contracted").isOne();
            st.execute("ALTER TABLE ev DETACH PARTITION " + day + " FINALIZE");
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        onRef(ref, "ALTER TABLE ev DETACH PARTITION " + day + " CONCURRENTLY", ALTER); // which leaves its bound as a CHECK
        assertSameAsBlockingAlter(db, ref);
        try (Connection ours = db.connect(); Connection theirs = ref.connect(); Statement st = ours.createStatement()) {
            st.execute("ALTER TABLE " + day + " DROP COLUMN massa__pgrewrite");
            assertThat(CatalogSnapshot.rows(ours, day)).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, day));
            assertThat(CatalogSnapshot.of(ours, day)).containsExactlyElementsOf(CatalogSnapshot.of(theirs, day));
        }
    }

    /**
     * A partition renamed while the job runs is still the table's, under a name the job does not know: the job leaves
     * it (its copy dropped) and says so, and removes its capture trigger from it under its new name (before, that
     * removal failed, every time, on the function the renamed table's trigger still used, and the trigger went on
     * logging the application's writes). A column change's contract then finds the renamed partition's rows without
     * their new value and names the UPDATE that fills them; after it, {@code restart} completes.
     */
    @Test
    void aPartitionRenamedBeforeItsSwapIsLeftWithoutItsCaptureAndContractNamesWhatFillsIt() throws Exception {
        TestDatabase.Database db = table("drift_renamed", 3, 1000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_renamedref");
        String drift = "ALTER TABLE ev_20240301 RENAME TO ev_20240301_renamed";
        String output = runDriftingAt(db, "verify:recorded", ownerThenApp(db, drift, null), false);
        assertThat(output).contains("ev_20240301: renamed to ev_20240301_renamed while the job ran",
                "UPDATE \"public\".\"ev_20240301_renamed\" SET \"massa\" = \"massa\"");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgname = 'pgrewrite_capture'")).as("no capture left").isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE n.nspname = 'pgrewrite' AND c.relname LIKE 'log\\_%' AND c.relkind = 'r'")).as("no log left").isZero();
        }
        try (Connection c = db.connectAsApp(); Statement st = c.createStatement()) {
            st.execute("UPDATE ev SET label = 'seen' WHERE id = 17"); // the application, on the renamed partition
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("UPDATE ev_20240301_renamed SET massa = massa");
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        onRef(ref, drift, "UPDATE ev SET label = 'seen' WHERE id = 17", ALTER);
        assertSameAsBlockingAlter(db, ref);
    }

    /**
     * The swap reads P's bound before it locks (and catches up, and may wait out lock attempts, meanwhile): a DBA
     * who detaches P then and attaches it again with a wider bound must not get the old bound back from the swap's
     * ATTACH, after which the application's rows of the new range would find no partition. Read again under the
     * lock, the changed bound makes the swap copy P again (for the bound P has now); the application then writes
     * into the widened range, as the blocking ALTER's table lets it.
     */
    @Test
    void aPartitionAttachedAgainWithAnotherBoundBeforeItsSwapKeepsTheNewBound() throws Exception {
        TestDatabase.Database db = table("drift_bound", 3, 1000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_boundref");
        String drift = WIDER;
        assertThat(runDriftingAt(db, "swap:before-lock", drift)).contains("its bound changed while the swap waited");
        String late = leap(50);
        try (Connection c = db.connectAsApp(); Statement st = c.createStatement()) {
            st.execute(late); // the application, into the widened range
        }
        onRef(ref, drift, ALTER, late);
        assertSameAsBlockingAlter(db, ref);
    }

    /**
     * The copy's bound CHECK (which lets ATTACH skip its scan of the copy under the parent's lock) is made at the index
     * phase, for P's bound then. A DBA who attaches P again with a narrower bound after that (here after its verify,
     * before the swap's own catalog read) leaves the copy with a CHECK that does not imply the new bound: attached
     * as it is, the copy would be scanned under the parent's lock, every application statement on the table waiting
     * behind it. The swap compares the CHECK's bound with P's and copies P again for the bound it has now.
     */
    @Test
    void aPartitionAttachedAgainWithANarrowerBoundAfterItsIndexesIsCopiedAgainForIt() throws Exception {
        TestDatabase.Database db = table("drift_narrower", 3, 1000); // each day's rows in its first 17 minutes
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_narrowerref");
        String drift = "ALTER TABLE ev DETACH PARTITION ev_20240301;"
                + " ALTER TABLE ev ATTACH PARTITION ev_20240301 FOR VALUES FROM ('2024-03-01') TO ('2024-03-01 12:00')";
        String output = runDriftingAt(db, "verify:recorded", drift);
        assertThat(output).contains("ev_20240301: not swapped, because its bound changed since its copy's bound CHECK was made");
        assertThat(output.split("its bound changed", -1)).as("the other partitions are not copied again").hasSize(2);
        String later = "INSERT INTO ev (id, at, massa, label) SELECT 8000000 + g, '2024-03-01 12:00'::timestamp + g * interval '1 minute',"
                + " g::smallint, 'afternoon' FROM generate_series(1, 50) g";
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE ev_20240301_pm PARTITION OF ev FOR VALUES FROM ('2024-03-01 12:00') TO ('2024-03-02')");
            st.execute(later);
        }
        onRef(ref, drift, ALTER, "CREATE TABLE ev_20240301_pm PARTITION OF ev FOR VALUES FROM ('2024-03-01 12:00') TO ('2024-03-02')", later);
        assertSameAsBlockingAlter(db, ref);
    }

    /**
     * Attached again with a wider bound after its index phase, with the application writing into the new range at once:
     * the catch-up cannot put those rows into a copy whose bound CHECK was made for the old bound (the server refuses
     * them, naming the CHECK). That is not a failure of the job: P is copied again, for the bound it has now, and the
     * application's rows of the new range are in the result.
     */
    @Test
    void aPartitionAttachedAgainWithAWiderBoundAndWrittenIntoIsCopiedAgainForIt() throws Exception {
        TestDatabase.Database db = table("drift_wider", 3, 1000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_widerref");
        String drift = WIDER;
        // More than the catch-up phase leaves for the swap (500), so that the catch-up phase replays them.
        String leap = leap(700);
        // the application, into the widened range: logged by P's capture trigger
        String output = runDriftingAt(db, "index:committed", ownerThenApp(db, drift, leap), true);
        assertThat(output).contains("ev_20240301: not caught up, because a changed row lies outside the bound its copy's CHECK"
                + " was made for");
        onRef(ref, drift, ALTER, leap);
        assertSameAsBlockingAlter(db, ref);
    }

    /**
     * The same, found under the swap's lock: a copy whose bound CHECK has no comment (as an earlier version made them, so
     * the swap cannot compare its bound before the lock), P attached again with a wider bound after its verify and
     * written into with fewer rows than a catch-up takes before the lock. The replay under the lock meets the CHECK: the
     * attempt rolls back and P is copied again, instead of the job failing.
     */
    @Test
    void aCopyWithoutItsBoundsFingerprintMeetsTheWiderBoundUnderTheSwapsLockAndIsCopiedAgain() throws Exception {
        TestDatabase.Database db = table("drift_unmarked", 3, 1000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_unmarkedref");
        String drift = WIDER;
        String leap = leap(20);
        String output = runDriftingAt(db, "verify:recorded",
                ownerThenApp(db, "COMMENT ON CONSTRAINT pgrewrite_bound ON ev_20240301__rw IS NULL; " + drift, leap), true);
        assertThat(output).contains("ev_20240301: not caught up, because a changed row lies outside the bound its copy's CHECK");
        onRef(ref, drift, ALTER, leap);
        assertSameAsBlockingAlter(db, ref);
    }

    /**
     * A partition whose capture trigger is altered again and again (here disabled and enabled again in one transaction,
     * every 100 ms: no write is missed, but the swap cannot tell) is copied again three times, then fails. It fails
     * clean: its copy, capture trigger and change log are gone (no trigger goes on logging the application's writes
     * while nobody copies the partition), the message says what to stop, and once that stopped, {@code restart}
     * completes the job.
     */
    @Test
    void aPartitionChangedBehindItsTriggersAgainAndAgainFailsCleanAndRestartCompletesIt() throws Exception {
        TestDatabase.Database db = table("drift_again", 2, 1000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_againref");
        changedAgainAndAgain(db, i -> List.of("ALTER TABLE ev_20240301 DISABLE TRIGGER pgrewrite_capture",
                "ALTER TABLE ev_20240301 ENABLE ALWAYS TRIGGER pgrewrite_capture"),
                "ev_20240301: not swapped, because its capture trigger was disabled or altered",
                "stop what keeps changing it behind its triggers");
        CliRun restart = CliRun.run(db, "restart", String.valueOf(lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        onRef(ref, ALTER);
        assertSameAsBlockingAlter(db, ref);
    }

    /**
     * A deploy that adds a column to the table again and again while a partition is copied: each copy is found of the
     * old shape before its index phase and thrown away with its capture, within the same budget as any other reason to
     * copy again, so the 4th time fails the partition clean (before, it left the capture trigger logging every write
     * and its log growing), and {@code restart} completes it.
     */
    @Test
    void aTableWhoseColumnsChangeAgainAndAgainFailsThePartitionCleanAndRestartCompletesIt() throws Exception {
        TestDatabase.Database db = table("drift_columns", 2, 1000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_columnsref");
        int added = changedAgainAndAgain(db, i -> List.of("ALTER TABLE ev ADD COLUMN x" + i + " text"),
                "ev_20240301: the columns of ev_20240301 changed since ev_20240301__rw was created",
                io.pgrewrite.plan.PartitionWork.ITS_SHAPE);
        CliRun restart = CliRun.run(db, "restart", String.valueOf(lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        for (int i = 0; i < added; i++) {
            onRef(ref, "ALTER TABLE ev ADD COLUMN x" + i + " text");
        }
        onRef(ref, ALTER);
        assertSameAsBlockingAlter(db, ref);
    }

    /**
     * Runs the type change with 1 worker, its copy slowed to about a second (10 chunks, 100 ms apart), while the table's
     * owner runs {@code change.apply(i)} in one transaction every 100 ms (i counting the ones that committed) until the
     * second partition is begun; asserts the run failed the 4th time with {@code message} and {@code remedy}, leaving no
     * copy, capture trigger or log of that partition while the other one went on. Returns how many changes committed.
     */
    private int changedAgainAndAgain(TestDatabase.Database db, java.util.function.IntFunction<List<String>> change,
            String message, String remedy) throws Exception {
        Path job = massaJob("workers: 1\ncopy:\n  chunk-rows: 100\n  pause: 100ms\n");
        java.util.concurrent.atomic.AtomicBoolean changing = new java.util.concurrent.atomic.AtomicBoolean(true);
        CompletableFuture<Integer> changes = CompletableFuture.supplyAsync(() -> {
            int done = 0;
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                st.execute("SET lock_timeout = '50ms'");
                while (changing.get() && !begun(st, "ev_20240302")) { // 1 worker: the first one is done

                    try {
                        c.setAutoCommit(false);
                        for (String sql : change.apply(done)) {
                            st.execute(sql);
                        }
                        c.commit();
                        done++;
                    } catch (java.sql.SQLException e) { // no capture trigger yet (or any more), or a lock wait
                        c.rollback();
                    }
                    c.setAutoCommit(true);
                    Thread.sleep(100);
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            return done;
        });
        CliRun run;
        try {
            run = CliRun.run(db, "run", job.toString());
        } finally {
            changing.set(false);
        }
        int done = changes.get(30, TimeUnit.SECONDS);
        assertThat(done).isPositive();
        assertThat(run.exitCode()).as(run.toString()).isNotEqualTo(ExitCodes.OK);
        assertThat(run.toString()).contains(message, "for the 4th time in this run",
                "its copy and change log were dropped; " + remedy);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname = 'ev_20240301__rw'")).as("no copy left").isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ev_20240301'::regclass AND tgname = 'pgrewrite_capture'"))
                    .as("no capture trigger left").isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE n.nspname = 'pgrewrite' AND c.relname LIKE 'log\\_%' AND c.relname LIKE '%20240301%'")).as("no log left").isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname = 'ev_20240302__old'")
                    + one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE partition_name = 'ev_20240302'"
                    + " AND state IN ('" + PartitionState.SWAPPED + "', '" + PartitionState.RETIRED + "')")).as("the other partition went on").isPositive();
        }
        return done;
    }

    /** Whether the job recorded {@code partition} in any state (before its first run, it has no table to record it in). */
    private static boolean begun(Statement st, String partition) {
        try {
            return one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE partition_name = '" + partition + "'") > 0;
        } catch (java.sql.SQLException e) {
            return false;
        }
    }

    @Test
    void anIndexAddedToTheParentAfterThePartitionWasIndexedIsBuiltBeforeTheSwap() throws Exception {
        TestDatabase.Database db = table("drift_index", 3, 1000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_indexref");
        Path job = dir.resolve("compact.yaml");
        Files.writeString(job, "name: compact\ntable: ev\noperation: compact\nswap:\n  lock-timeout: 50ms\n  max-attempts: 2\n");
        try (Connection holder = db.connect(); Statement st = holder.createStatement()) {
            holder.setAutoCommit(false);
            st.executeQuery("SELECT count(*) FROM ev_20240302").close(); // a long report: the swap of day 2 fails
            CliRun failed = CliRun.run(db, "run", job.toString());
            assertThat(failed.exitCode()).as(failed.toString()).isEqualTo(ExitCodes.JOB_FAILED);
            holder.rollback();
        }
        // A deploy adds an index; the daily job creates tomorrow's partition and today's rows arrive there.
        String index = "CREATE INDEX ev_label ON ev (label);"
                + " CREATE TABLE ev_20240310 PARTITION OF ev FOR VALUES FROM ('2024-03-10') TO ('2024-03-11');"
                + " INSERT INTO ev (id, at, massa, label) SELECT 9000000 + g, '2024-03-10'::timestamp + g * interval '1 second',"
                + " (g % 3000)::smallint, 'late' FROM generate_series(1, 300) g";
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            // day 2's copy is indexed and verified, waiting for its swap
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'ev_20240302__rw'::regclass"
                    + " AND conname = 'pgrewrite_bound'")).isEqualTo(1);
            st.execute(index);
        }
        CliRun again = CliRun.run(db, "run", job.toString());
        assertThat(again.exitCode()).as(again.toString()).isEqualTo(ExitCodes.OK);
        // The restart lists the partitions again: the new one is rewritten too.
        assertThat(again.out()).contains("ev_20240310").doesNotContain("not rewritten");
        onRef(ref, index);
        assertSameAsBlockingAlter(db, ref);
    }

    @Test
    void aPartitionCreatedWhileTheJobRunsHasTheNewColumnAndIsReportedNotRewritten() throws Exception {
        TestDatabase.Database db = table("drift_newday", 2, 2000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_newdayref");
        Path job = massaJob("workers: 1\ncopy:\n  chunk-rows: 200\n  pause: 100ms\n");
        String newDay = "CREATE TABLE ev_20240310 PARTITION OF ev FOR VALUES FROM ('2024-03-10') TO ('2024-03-11');"
                + " INSERT INTO ev (id, at, massa, label) SELECT 9000000 + g, '2024-03-10'::timestamp + g * interval '1 second',"
                + " (g % 3000)::smallint, 'late' FROM generate_series(1, 300) g";
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(db, "run", job.toString()));
        OneJobPerTableTest.awaitCopying(db);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute(newDay); // the daily job, while the first day is being copied
            st.execute("UPDATE ev SET massa = 2999 WHERE id = 9000001");
        }
        CliRun done = run.get(180, TimeUnit.SECONDS);
        assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);
        assertThat(done.out()).contains("not rewritten by this job: ev_20240310");
        onRef(ref, newDay, "UPDATE ev SET massa = 2999 WHERE id = 9000001", ALTER);
        assertSameAsBlockingAlter(db, ref);
    }

    /**
     * While the job runs, someone ATTACHes a table that already holds a day of rows (a reload from an
     * archive). Its rows never passed the sync trigger: their new column is empty. Contract must not drop
     * the old column over them; it refuses and says how to fill them (an UPDATE the sync trigger sees),
     * and restart then contracts.
     */
    @Test
    void aTableAttachedWithRowsWhileTheJobRunsIsRewrittenBeforeContract() throws Exception {
        TestDatabase.Database db = table("drift_attach", 2, 2000);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_attachref");
        Path job = massaJob("workers: 1\ncopy:\n  chunk-rows: 200\n  pause: 100ms\n");
        String attach = "CREATE TABLE ev_20240310 (LIKE ev INCLUDING DEFAULTS);"
                + " INSERT INTO ev_20240310 (id, at, massa, label) SELECT 9000000 + g, '2024-03-10'::timestamp + g * interval '1 second',"
                + " (g % 3000)::smallint, 'reloaded' FROM generate_series(1, 300) g;"
                + " ALTER TABLE ev ATTACH PARTITION ev_20240310 FOR VALUES FROM ('2024-03-10') TO ('2024-03-11')";
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(db, "run", job.toString()));
        long id = OneJobPerTableTest.awaitCopying(db);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute(attach);
        }
        CliRun first = run.get(180, TimeUnit.SECONDS);
        assertThat(first.exitCode()).as(first.toString()).isEqualTo(ExitCodes.JOB_FAILED);
        assertThat(first.toString()).contains("ev_20240310: 300 row(s)").contains("Nothing was contracted");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(massa) FROM ev WHERE label = 'reloaded'")).as("old values still there").isEqualTo(300);
        }
        assertThat(first.toString()).contains("UPDATE \"public\".\"ev_20240310\" SET \"massa\" = \"massa\"");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("UPDATE public.ev_20240310 SET massa = massa"); // as the message says
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        onRef(ref, attach, ALTER);
        assertSameAsBlockingAlter(db, ref);
    }

    @Test
    void aNotValidCheckWithLegacyViolationsStaysNotValid() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("drift_notvalid");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", START, 2, 1000);
            st.execute("UPDATE ev SET label = '' WHERE id IN (17, 1000017)"); // legacy rows from before the rule
            st.execute("ALTER TABLE ev ADD CONSTRAINT label_set CHECK (label <> '') NOT VALID");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "drift_notvalidref");
        Path job = massaJob("");
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);
        onRef(ref, ALTER);
        assertSameAsBlockingAlter(db, ref);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conname = 'label_set' AND NOT convalidated")).isEqualTo(3);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE label = ''")).isEqualTo(2);
        }
    }

    /** Kills a run of the job with kill -9 while it copies the first partition; returns its execution id. */
    private static long killWhileCopying(TestDatabase.Database db, Path job) throws Exception {
        try (JvmProcess p = JvmProcess.start("drift", List.of("-D" + FaultPoints.PROPERTY + "=copy"), db, "run", job.toString())) {
            p.await(l -> l.startsWith("PGREWRITE-PAUSED copy ev_20240301"), 120);
            p.kill();
        }
        return lastExecution(db);
    }

    private static long lastExecution(TestDatabase.Database db) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            return one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
        }
    }

    /**
     * Runs the type change with 1 worker; while it waits at {@code point} of the first partition (5 s), the table drifts.
     * The job ends OK; returns its output.
     */
    private String runDriftingAt(TestDatabase.Database db, String point, String drift) throws Exception {
        return runDriftingAt(db, point, ownerThenApp(db, drift, null), true);
    }

    /** The table's owner runs {@code owner}, then the application's role {@code app} (if not null). */
    private static Drift ownerThenApp(TestDatabase.Database db, String owner, String app) {
        return () -> {
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                st.execute(owner);
            }
            if (app != null) {
                try (Connection c = db.connectAsApp(); Statement st = c.createStatement()) {
                    st.execute(app);
                }
            }
        };
    }

    /** What a DBA does to the table while the job waits. */
    interface Drift {
        void run() throws Exception;
    }

    /** @param ok whether the job ends OK, else it fails */
    private String runDriftingAt(TestDatabase.Database db, String point, Drift drift, boolean ok) throws Exception {
        Path job = massaJob("workers: 1\n");
        try (JvmProcess p = JvmProcess.start(db.name(), List.of("-D" + FaultPoints.ANNOUNCE + "=" + point,
                "-Dpgrewrite.test.announce-ms=5000"), db, "run", job.toString())) {
            assertThat(p.await(l -> l.startsWith("PGREWRITE-REACHED " + point + " "), 120)).endsWith(" ev_20240301");
            drift.run();
            if (ok) {
                assertThat(p.waitFor(180)).as(p.output()).isEqualTo(ExitCodes.OK);
            } else {
                assertThat(p.waitFor(180)).as(p.output()).isNotEqualTo(ExitCodes.OK);
            }
            return p.output();
        }
    }

    /** The type change of ev.massa, with {@code more} keys of the job definition. */
    private Path massaJob(String more) throws Exception {
        Path job = dir.resolve("massa.yaml");
        Files.writeString(job, "name: massa\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n" + more);
        return job;
    }

    /** A database with table ev (daily partitions from {@link #START}), its DML granted to the application's role. */
    private static TestDatabase.Database table(String name, int days, int rowsPerDay) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase(name);
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", START, days, rowsPerDay);
            Tables.grantApp(c, "public.ev");
        }
        return db;
    }

    /** Runs {@code statements} on the reference database, in order: the drift, the blocking ALTER, what came after. */
    private static void onRef(TestDatabase.Database ref, String... statements) throws Exception {
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            for (String sql : statements) {
                st.execute(sql);
            }
        }
    }

    private static void assertSameAsBlockingAlter(TestDatabase.Database db, TestDatabase.Database ref) throws Exception {
        try (Connection ours = db.connect(); Connection theirs = ref.connect(); Statement st = ours.createStatement()) {
            assertThat(CatalogSnapshot.rows(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            assertThat(CatalogSnapshot.of(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.of(theirs, "ev"));
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE n.nspname = 'pgrewrite' AND c.relname LIKE 'log\\_%' AND c.relkind = 'r'")).isZero();
        }
    }
}
