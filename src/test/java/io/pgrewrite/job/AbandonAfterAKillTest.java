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
import java.util.stream.Stream;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The pgrewrite process is killed (kill -9) somewhere in a column change and the operator gives the job
 * up instead of restarting it: {@code abandon ID --cleanup [--drop-old]}. Whatever moment the kill hit,
 * the cleanup succeeds, the rows are the rows of before, the table's catalog is the one before the job
 * (or, once contract committed, the one the blocking ALTER gives), a partition already swapped stays
 * swapped, its {@code P__old} is kept or dropped as asked, and nothing of pgrewrite's working state is
 * left: no capture trigger on any table, no trigger function, no change log, no {@code P__rw}.
 */
class AbandonAfterAKillTest {

    static final int DAYS = 3;
    static final int ROWS = 500;
    static final String JOB = CrashWindowsTest.JOB;

    static TestDatabase.Database template;
    static TestDatabase.Database reference;
    static List<String> catalogBefore;
    static List<String> rowsBefore;

    @BeforeAll
    static void tableAndWhatTheBlockingAlterMakesOfIt() throws Exception {
        template = TestDatabase.newDatabase("abandon_kill_template");
        try (Connection c = template.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            st.execute("ALTER TABLE ev ALTER COLUMN massa SET NOT NULL, ALTER COLUMN massa SET DEFAULT 7");
            catalogBefore = CatalogSnapshot.of(c, "ev");
            rowsBefore = CatalogSnapshot.rows(c, "ev");
        }
        reference = TestDatabase.cloneDatabase(template, "abandon_kill_ref");
        try (Connection c = reference.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE integer USING massa::integer");
        }
    }

    /**
     * The report: killed after the first day's swap committed and before its retire, the day's old rows
     * sit in {@code ev_20240301__old}, detached, still carrying the capture trigger; the cleanup must drop
     * that trigger before the function it calls, and keep or drop the table as asked.
     */
    @ParameterizedTest(name = "--drop-old {0}")
    @ValueSource(booleans = {false, true})
    void killedBetweenSwapAndRetire(boolean dropOld) throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_swapped_" + dropOld);
        String paused = killAt(db, "after-swap");
        String day = paused.split(" ")[2];

        CliRun cleanup = cleanup(db, dropOld);
        assertThat(cleanup.out()).contains("swapped and staying so").contains(day);
        if (dropOld) {
            assertThat(cleanup.out()).contains("dropped the kept old partitions " + day + "__old");
        } else {
            assertThat(cleanup.out()).contains("kept " + day + "__old");
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(CatalogSnapshot.of(c, "ev")).containsExactlyElementsOf(catalogBefore);
            assertThat(CatalogSnapshot.rows(c, "ev")).hasSize(DAYS * ROWS).containsExactlyElementsOf(rowsBefore);
            assertThat(leftovers(st)).isEmpty();
            assertThat(oldPartitions(st)).isEqualTo(dropOld ? List.of() : List.of(day + "__old"));
            if (!dropOld) {
                // The day's original rows, intact: the same count as the rewritten day attached in its place.
                assertThat(one(st, "SELECT count(*) FROM " + day + "__old")).isEqualTo(ROWS);
            }
        }
        if (!dropOld) {
            // As the output says: the same command again with --drop-old drops what it kept, and only that.
            CliRun again = CliRun.run(db, "abandon", String.valueOf(CrashWindowsTest.lastExecution(db)), "--cleanup", "--drop-old");
            assertThat(again.exitCode()).as(again.toString()).isEqualTo(ExitCodes.OK);
            assertThat(again.out()).contains("cleaned up before").contains("dropped the kept old partitions " + day + "__old")
                    .doesNotContain("no partition had been swapped");
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(oldPartitions(st)).isEmpty();
                assertThat(CatalogSnapshot.of(c, "ev")).containsExactlyElementsOf(catalogBefore);
                assertThat(CatalogSnapshot.rows(c, "ev")).containsExactlyElementsOf(rowsBefore);
                assertThat(leftovers(st)).isEmpty();
            }
            CliRun third = CliRun.run(db, "abandon", String.valueOf(CrashWindowsTest.lastExecution(db)), "--cleanup", "--drop-old");
            assertThat(third.exitCode()).as(third.toString()).isEqualTo(ExitCodes.NOTHING_TO_DO);
        }
    }

    /**
     * Killed with the first day verified, and that partition renamed before the operator gives the job up: its copy,
     * capture trigger and change log are named after the name the job knew. The cleanup still finds and removes them
     * all (before, the trigger stayed on the renamed partition, logging the application's writes for ever, and the
     * cleanup said it was done).
     */
    @org.junit.jupiter.api.Test
    void killedThenAPartitionRenamed() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_renamed");
        killAt(db, "verify:recorded");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ev_20240301 RENAME TO ev_20240301_renamed");
        }
        cleanup(db, true);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(leftovers(st)).isEmpty();
            st.execute("ALTER TABLE ev_20240301_renamed RENAME TO ev_20240301");
            assertThat(CatalogSnapshot.of(c, "ev")).containsExactlyElementsOf(catalogBefore);
            assertThat(CatalogSnapshot.rows(c, "ev")).containsExactlyElementsOf(rowsBefore);
        }
    }

    /**
     * Killed with the first day verified; then a retention job drops that day and someone creates a table of its own
     * under the name a swapped day's old partition would have. The cleanup removes the job's copy of the day, and
     * leaves that table as it is (it is not the job's: no day was swapped).
     */
    @org.junit.jupiter.api.Test
    void killedThenAPartitionDroppedAndItsOldNameTakenByAnotherTable() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_taken");
        killAt(db, "verify:recorded");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE ev_20240301");
            st.execute("CREATE TABLE ev_20240301__old (keep_me text, other_col int)");
            st.execute("INSERT INTO ev_20240301__old VALUES ('mine', 1)");
        }
        cleanup(db, false);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(leftovers(st)).isEmpty();
            assertThat(one(st, "SELECT count(*) FROM ev_20240301__old WHERE keep_me = 'mine' AND other_col = 1")).isOne();
        }
        // Asked again, to drop the old partitions it kept: it kept none.
        CliRun again = CliRun.run(db, "abandon", String.valueOf(CrashWindowsTest.lastExecution(db)), "--cleanup", "--drop-old");
        assertThat(again.exitCode()).as(again.toString()).isEqualTo(ExitCodes.NOTHING_TO_DO);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev_20240301__old")).isOne();
        }
    }

    /**
     * Killed with the first day verified, and that partition left pending detach (an interrupted DETACH … CONCURRENTLY)
     * before the operator gives the job up: no ALTER TABLE can change it until the detach is finished, and dropping the
     * shadow column from the table would leave it an inherited column without a parent. The cleanup refuses, naming
     * the FINALIZE; after it, the cleanup completes, and the detached table keeps the shadow column, as the message said.
     */
    @org.junit.jupiter.api.Test
    void killedThenAPartitionLeftPendingDetach() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_pending");
        killAt(db, "verify:recorded");
        Tables.leavePendingDetach(db, "ev", "ev_20240301");
        String execution = String.valueOf(CrashWindowsTest.lastExecution(db));
        CliRun refused = CliRun.run(db, "abandon", execution, "--cleanup", "--drop-old");
        assertThat(refused.exitCode()).as(refused.toString()).isNotEqualTo(ExitCodes.OK);
        assertThat(refused.toString()).contains("partition \"public\".\"ev_20240301\" of \"public\".\"ev\" is pending detach",
                "Nothing was retracted", "DETACH PARTITION \"public\".\"ev_20240301\" FINALIZE", "\"massa__pgrewrite\", which you may drop");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'massa__pgrewrite'"))
                    .as("nothing retracted").isOne();
            st.execute("ALTER TABLE ev DETACH PARTITION ev_20240301 FINALIZE");
        }
        cleanup(db, true);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(leftovers(st)).containsExactly("column massa__pgrewrite");
            st.execute("ALTER TABLE ev_20240301 DROP COLUMN massa__pgrewrite");
            assertThat(leftovers(st)).isEmpty();
            assertThat(CatalogSnapshot.rows(c, "ev")).hasSize((DAYS - 1) * ROWS);
            assertThat(CatalogSnapshot.rows(c, "ev_20240301")).hasSize(ROWS);
        }
    }

    /**
     * Killed after the first day's swap, and that day (the rewritten one) dropped by a retention job before the operator
     * gives the job up: its {@code P__old} still carries the capture trigger and the shadow column, and its log and
     * function are there. The cleanup removes them all and keeps that {@code P__old} as the day's original rows, or
     * drops it with {@code --drop-old} (before, it walked no swapped partition that the table no longer had: the
     * trigger, log, function and column stayed, and the table was neither reported nor reachable with --drop-old).
     */
    @ParameterizedTest(name = "--drop-old {0}")
    @ValueSource(booleans = {false, true})
    void killedAfterASwapThenThatDayDropped(boolean dropOld) throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_swapped_dropped_" + dropOld);
        String day = killAt(db, "after-swap").split(" ")[2];
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE " + day);
        }

        CliRun cleanup = cleanup(db, dropOld);
        assertThat(cleanup.out()).contains(dropOld ? "dropped the kept old partitions " + day + "__old" : "kept " + day + "__old");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(leftovers(st)).isEmpty();
            assertThat(oldPartitions(st)).isEqualTo(dropOld ? List.of() : List.of(day + "__old"));
            assertThat(CatalogSnapshot.rows(c, "ev")).hasSize((DAYS - 1) * ROWS);
            if (!dropOld) {
                assertOriginalRows(st, day + "__old");
            }
        }
        if (!dropOld) {
            CliRun again = CliRun.run(db, "abandon", String.valueOf(CrashWindowsTest.lastExecution(db)), "--cleanup", "--drop-old");
            assertThat(again.exitCode()).as(again.toString()).isEqualTo(ExitCodes.OK);
            assertThat(again.out()).contains("dropped the kept old partitions " + day + "__old");
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(oldPartitions(st)).isEmpty();
            }
        }
    }

    /**
     * Killed after the first day's swap, and that day (the rewritten one, still a partition) renamed: the cleanup finds
     * its {@code P__old} as it found the dropped day's, and the table is the one before the job once the name is back.
     */
    @org.junit.jupiter.api.Test
    void killedAfterASwapThenThatDayRenamed() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_swapped_renamed");
        String day = killAt(db, "after-swap").split(" ")[2];
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE " + day + " RENAME TO " + day + "_renamed");
        }

        CliRun cleanup = cleanup(db, false);
        assertThat(cleanup.out()).contains("kept " + day + "__old");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(leftovers(st)).isEmpty();
            assertOriginalRows(st, day + "__old");
            st.execute("ALTER TABLE " + day + "_renamed RENAME TO " + day);
            assertThat(CatalogSnapshot.of(c, "ev")).containsExactlyElementsOf(catalogBefore);
            assertThat(CatalogSnapshot.rows(c, "ev")).containsExactlyElementsOf(rowsBefore);
        }
    }

    /**
     * Killed after the first day's swap, and its {@code P__old} renamed by the DBA (to keep it): it is still the table
     * the job swapped out, so the capture trigger and the shadow column go from it; it stays under its new name, also
     * with {@code --drop-old}, which drops only {@code *__old} tables.
     */
    @org.junit.jupiter.api.Test
    void killedAfterASwapThenItsOldPartitionRenamed() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_old_renamed");
        String day = killAt(db, "after-swap").split(" ")[2];
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE " + day + "__old RENAME TO " + day + "_backup");
        }

        CliRun cleanup = cleanup(db, true);
        assertThat(cleanup.out()).contains("kept \"public\".\"" + day + "_backup\"").doesNotContain("dropped the kept old");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(leftovers(st)).isEmpty();
            assertOriginalRows(st, day + "_backup");
            assertThat(CatalogSnapshot.of(c, "ev")).containsExactlyElementsOf(catalogBefore);
            assertThat(CatalogSnapshot.rows(c, "ev")).containsExactlyElementsOf(rowsBefore);
        }
    }

    /**
     * Another job, a compact with {@code retire: keep} of the first two days, completed before: their {@code *__old} are
     * the operator's backup. This job, a compact of the third day, is killed once its capture committed and given up.
     * Its cleanup leaves the other job's kept tables as they are, with or without {@code --drop-old}, and does not
     * count them among its own for a later {@code --drop-old} (before, it dropped them, or kept them as its own: any
     * table named after one of the table's partitions with {@code __old} was taken for the job's).
     */
    @ParameterizedTest(name = "--drop-old {0}")
    @ValueSource(booleans = {false, true})
    void killedWhileAnotherJobsKeptOldPartitionsAreThere(boolean dropOld) throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_others_old_" + dropOld);
        Path keepers = Files.createTempFile("abandon-kill-keepers", ".yaml");
        Files.writeString(keepers, "name: keepers\ntable: ev\noperation: compact\nretire: keep\nworkers: 1\n"
                + "partitions:\n  from: 2024-03-01\n  to: 2024-03-03\n");
        CliRun before = CliRun.run(db, "run", keepers.toString());
        assertThat(before.exitCode()).as(before.toString()).isEqualTo(ExitCodes.OK);
        List<String> theirs = List.of("ev_20240301__old", "ev_20240302__old");
        List<String> theirColumns;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(oldPartitions(st)).isEqualTo(theirs);
            theirColumns = columns(st, theirs);
        }
        killAt(db, "capture:committed", "name: later\ntable: ev\noperation: compact\nworkers: 1\ncopy:\n  chunk-rows: 100\n"
                + "partitions:\n  from: 2024-03-03\n");

        CliRun cleanup = cleanup(db, dropOld);
        assertThat(cleanup.out()).contains("no partition had been swapped").doesNotContain("__old");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(oldPartitions(st)).isEqualTo(theirs);
            assertThat(columns(st, theirs)).isEqualTo(theirColumns);
            for (String old : theirs) {
                assertThat(one(st, "SELECT count(*) FROM " + old)).isEqualTo(ROWS);
            }
            assertThat(leftovers(st)).isEmpty();
            assertThat(CatalogSnapshot.rows(c, "ev")).containsExactlyElementsOf(rowsBefore);
        }
        if (!dropOld) {
            CliRun again = CliRun.run(db, "abandon", String.valueOf(CrashWindowsTest.lastExecution(db)), "--cleanup", "--drop-old");
            assertThat(again.exitCode()).as("it kept none of its own: " + again).isEqualTo(ExitCodes.NOTHING_TO_DO);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                assertThat(oldPartitions(st)).isEqualTo(theirs);
            }
        }
    }

    /**
     * Killed after the first day's swap and cleaned up without {@code --drop-old}: the day's {@code P__old} is kept. Then
     * the DBA renames it and creates a table of their own under its name, or attaches it again as the day's partition (in
     * place of the rewritten one). The later {@code --drop-old} drops neither: it drops the table it kept (its oid), while
     * it is no partition; before, it dropped whatever bore the name, a live partition too.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"its name taken by another table", "attached again as the partition"})
    void keptOldPartitionChangedBeforeTheLaterDropOld(String change) throws Exception {
        boolean taken = change.startsWith("its name");
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kept_changed_" + taken);
        String day = killAt(db, "after-swap").split(" ")[2];
        cleanup(db, false);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            if (taken) {
                st.execute("ALTER TABLE " + day + "__old RENAME TO " + day + "_orig");
                st.execute("CREATE TABLE " + day + "__old (keep_me text)");
                st.execute("INSERT INTO " + day + "__old VALUES ('mine')");
            } else {
                st.execute("ALTER TABLE ev DETACH PARTITION " + day);
                st.execute("ALTER TABLE ev ATTACH PARTITION " + day + "__old FOR VALUES FROM ('2024-03-01') TO ('2024-03-02')");
            }
        }
        CliRun again = CliRun.run(db, "abandon", String.valueOf(CrashWindowsTest.lastExecution(db)), "--cleanup", "--drop-old");
        assertThat(again.exitCode()).as(again.toString()).isEqualTo(ExitCodes.OK);
        assertThat(again.out()).contains("nothing dropped").contains("left \"public\".\"" + day + "__old\" as it is");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(oldPartitions(st)).contains(day + "__old");
            if (taken) {
                assertThat(one(st, "SELECT count(*) FROM " + day + "__old WHERE keep_me = 'mine'")).isEqualTo(1);
                assertOriginalRows(st, day + "_orig");
            } else {
                assertThat(one(st, "SELECT count(*) FROM ev WHERE at < '2024-03-02'")).isEqualTo(ROWS);
            }
        }
    }

    /**
     * Killed after the first day's swap; the DBA adds a column of their own to its {@code P__old} (renamed, to keep it),
     * and drops a column from the table. The cleanup drops the job's shadow column from it and nothing else: the DBA's
     * column, and the column the table no longer has, stay with their data (before, every column the table lacks went).
     */
    @org.junit.jupiter.api.Test
    void killedAfterASwapThenTheDbaChangedColumns() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_dba_columns");
        String day = killAt(db, "after-swap").split(" ")[2];
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE " + day + "__old RENAME TO " + day + "_backup");
            st.execute("ALTER TABLE " + day + "_backup ADD COLUMN archived_note text DEFAULT 'kept by the DBA'");
            st.execute("ALTER TABLE ev DROP COLUMN extra");
        }
        cleanup(db, false);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(leftovers(st)).isEmpty();
            assertThat(columns(st, List.of(day + "_backup"))).contains(day + "_backup.archived_note text", day + "_backup.extra jsonb");
            assertThat(one(st, "SELECT count(*) FROM " + day + "_backup WHERE extra IS NOT NULL AND archived_note IS NOT NULL"))
                    .isEqualTo(ROWS);
        }
    }

    /**
     * Killed after the first day's swap; while {@code --drop-old} waits for its lock on the day's {@code P__old} (a query
     * of the DBA's holds it), the DBA puts that table back as the day's partition (detaches the rewritten day, attaches
     * the old one). Granted its lock, the cleanup finds the name is a partition now and leaves it; before, it had read the
     * identity before the wait and dropped the live partition, with the day's rows.
     */
    @org.junit.jupiter.api.Test
    void killedAfterASwapThenTheOldPartitionAttachedAgainWhileTheCleanupWaits() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_attached_meanwhile");
        String day = killAt(db, "after-swap").split(" ")[2];
        try (Connection dba = db.connect(); Statement st = dba.createStatement()) {
            dba.setAutoCommit(false);
            st.execute("LOCK TABLE " + day + "__old IN ACCESS SHARE MODE");
            java.util.concurrent.CompletableFuture<CliRun> cleanup = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return cleanup(db, true);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
            while (one(st, "SELECT count(*) FROM pg_locks WHERE relation = '" + day + "__old'::regclass AND NOT granted") == 0) {
                assertThat(System.nanoTime()).as("the cleanup waits for its lock on " + day + "__old").isLessThan(until);
                Thread.sleep(50);
            }
            st.execute("ALTER TABLE ev DETACH PARTITION " + day);
            st.execute("ALTER TABLE ev ATTACH PARTITION " + day + "__old FOR VALUES FROM ('2024-03-01') TO ('2024-03-02')");
            dba.commit();
            CliRun done = cleanup.get(120, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(done.out()).contains("left \"public\".\"" + day + "__old\" as it is");
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev WHERE at < '2024-03-02'")).isEqualTo(ROWS);
            // The rewritten day the DBA detached keeps the shadow column it had then: the DBA's table now, not the job's.
            assertThat(leftovers(st)).containsExactly("column massa__pgrewrite");
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attname = 'massa__pgrewrite' AND NOT attisdropped"
                    + " AND attrelid <> '" + day + "'::regclass")).isZero();
        }
    }

    /**
     * The table's partitions in schema {@code arch}; killed once the first day's retire (retire: keep) committed, its
     * capture function gone with it; the day dropped, and its name taken in the table's own schema by another table's
     * partition, with that table's job's trigger, function, log and copy. The cleanup leaves every one of them: a
     * version that looked for a swapped or retired partition's schema by its capture function fell back to the table's
     * schema and removed them (a review reproduced it).
     */
    @org.junit.jupiter.api.Test
    void killedAfterAKeptRetireThenTheDayDroppedAndItsNameTakenInTheTablesSchemaByAnotherJobsPartition() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_namesake");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            List<String> days = new java.util.ArrayList<>();
            try (java.sql.ResultSet rs = st.executeQuery("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                    + " WHERE i.inhparent = 'ev'::regclass")) {
                while (rs.next()) {
                    days.add(rs.getString(1));
                }
            }
            st.execute("CREATE SCHEMA arch");
            for (String d : days) {
                st.execute("ALTER TABLE public." + d + " SET SCHEMA arch");
            }
        }
        String day = killAt(db, "retire:committed", JOB + "retire: keep\n").split(" ")[2];
        day = day.substring(day.lastIndexOf('.') + 1).replace("\"", "");
        io.pgrewrite.plan.PartitionNames tenant = new io.pgrewrite.plan.PartitionNames("public", day, "public", "other");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE arch." + day);
            st.execute("CREATE TABLE public.other (id bigint, at timestamp NOT NULL) PARTITION BY RANGE (at)");
            st.execute("CREATE TABLE public." + day + " PARTITION OF public.other DEFAULT");
            st.execute("CREATE FUNCTION " + tenant.qCaptureFunction() + "() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$");
            st.execute("CREATE TABLE " + tenant.qLog() + " (id bigint)");
            st.execute("CREATE TRIGGER pgrewrite_capture AFTER INSERT ON public." + day + " FOR EACH ROW EXECUTE FUNCTION "
                    + tenant.qCaptureFunction() + "()");
            st.execute("CREATE TABLE public." + day + "__rw (id bigint)");
        }
        CliRun cleanup = cleanup(db, false);
        assertThat(cleanup.exitCode()).as(cleanup.toString()).isZero();
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public." + day + "'::regclass"
                    + " AND tgname = 'pgrewrite_capture'")).as("the other job's trigger").isOne();
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE oid = to_regclass('public." + day + "__rw')"))
                    .as("the other job's copy").isOne();
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE oid = to_regclass('" + tenant.qLog() + "')"))
                    .as("the other job's log").isOne();
        }
    }

    /**
     * Killed once the first day's retire (retire: drop) committed: the day's row no longer names the dropped P__old's oid,
     * which PostgreSQL may give another table later (which the cleanup would then take for the job's P__old).
     */
    @org.junit.jupiter.api.Test
    void killedAfterARetireThatDroppedTheOldPartition() throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_retired_dropped");
        killAt(db, "retire:committed");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired'")).isPositive();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired' AND source_relid IS NOT NULL"))
                    .isZero();
        }
        cleanup(db, true);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(leftovers(st)).isEmpty();
            assertThat(CatalogSnapshot.rows(c, "ev")).containsExactlyElementsOf(rowsBefore);
        }
    }

    /** CrashWindowsTest's points (all 15 with -Dpgrewrite.test.all-crash-points=true), and the steps between. */
    static Stream<String> points() {
        List<String> extra = Boolean.getBoolean("pgrewrite.test.all-crash-points")
                ? List.of("copy", "index", "verify:before-snapshot", "swap:before-lock") : List.of("copy");
        return Stream.concat(extra.stream(), CrashWindowsTest.points().stream());
    }

    @ParameterizedTest(name = "killed at {0}")
    @MethodSource("points")
    void killedAnywhereIsCleanedUpToTheTableOfBefore(String point) throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_kill_" + point.replaceAll("[^a-z]", "_"));
        killAt(db, point);

        cleanup(db, true);
        try (Connection c = db.connect(); Connection theirs = reference.connect(); Statement st = c.createStatement()) {
            // Once contract committed, the column change is complete: nothing is left to undo.
            List<String> expected = point.equals("contract:committed") ? CatalogSnapshot.of(theirs, "ev") : catalogBefore;
            assertThat(CatalogSnapshot.of(c, "ev")).containsExactlyElementsOf(expected);
            assertThat(CatalogSnapshot.rows(c, "ev")).hasSize(DAYS * ROWS).containsExactlyElementsOf(rowsBefore);
            assertThat(leftovers(st)).isEmpty();
            assertThat(oldPartitions(st)).isEmpty();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.disk_reservation")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.shape_change")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.sync_error")).isZero();
        }
    }

    /**
     * With {@code retire: keep}, every partition retired so far left its {@code P__old} too: without
     * {@code --drop-old} they all stay, each with the partition's original rows in the table's original
     * columns (the shadow column goes with the rest of the job's state), and nothing else of the job stays.
     */
    @ParameterizedTest(name = "retire: keep, killed at {0}")
    @ValueSource(strings = {"after-swap", "retire:committed", "contract:locked"})
    void keptOldPartitionsStayAsTheOriginalRows(String point) throws Exception {
        TestDatabase.Database db = TestDatabase.cloneDatabase(template, "abandon_keep_" + point.replaceAll("[^a-z]", "_"));
        killAt(db, point, JOB + "retire: keep\n");

        CliRun cleanup = cleanup(db, false);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(CatalogSnapshot.of(c, "ev")).containsExactlyElementsOf(catalogBefore);
            assertThat(CatalogSnapshot.rows(c, "ev")).hasSize(DAYS * ROWS).containsExactlyElementsOf(rowsBefore);
            assertThat(leftovers(st)).isEmpty();
            List<String> olds = oldPartitions(st);
            assertThat(olds).isNotEmpty().hasSizeLessThanOrEqualTo(DAYS);
            assertThat(cleanup.out()).contains("kept " + String.join(", ", olds));
            for (String old : olds) {
                assertOriginalRows(st, old);
            }
        }
    }

    static String killAt(TestDatabase.Database db, String point) throws Exception {
        return killAt(db, point, JOB);
    }

    static String killAt(TestDatabase.Database db, String point, String definition) throws Exception {
        Path job = Files.createTempFile("abandon-kill", ".yaml");
        Files.writeString(job, definition);
        return CrashWindowsTest.killAt(db, point, job);
    }

    static CliRun cleanup(TestDatabase.Database db, boolean dropOld) throws Exception {
        String execution = String.valueOf(CrashWindowsTest.lastExecution(db));
        CliRun cleanup = dropOld ? CliRun.run(db, "abandon", execution, "--cleanup", "--drop-old")
                : CliRun.run(db, "abandon", execution, "--cleanup");
        assertThat(cleanup.exitCode()).as(cleanup.toString()).isEqualTo(ExitCodes.OK);
        assertThat(cleanup.out()).contains("Execution " + execution + " abandoned and cleaned up");
        return cleanup;
    }

    /** pgrewrite's working state: copies, change logs, functions, checks, triggers on any table, the shadow column. */
    static List<String> leftovers(Statement st) throws Exception {
        List<String> found = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT 'table ' || relname FROM pg_class WHERE relname ~ '__rw$'"
                + " OR (relnamespace = 'pgrewrite'::regnamespace AND relname ~ '^log_')"
                + " UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = 'pgrewrite'::regnamespace"
                + " UNION ALL SELECT 'constraint ' || conname FROM pg_constraint WHERE conname LIKE 'pgrewrite%'"
                + " UNION ALL SELECT 'trigger ' || tgname || ' on ' || tgrelid::regclass FROM pg_trigger WHERE tgname LIKE '%pgrewrite%'"
                + " UNION ALL SELECT 'column ' || attname FROM pg_attribute WHERE attname LIKE '%\\_\\_pgrewrite' AND NOT attisdropped")) {
            while (rs.next()) {
                found.add(rs.getString(1));
            }
        }
        return found;
    }

    /** {@code old} holds a day's original rows in the table's original columns, with their types. */
    static void assertOriginalRows(Statement st, String old) throws Exception {
        assertThat(one(st, "SELECT count(*) FROM " + old)).isEqualTo(ROWS);
        assertThat(one(st, "SELECT count(*) FROM pg_attribute a WHERE a.attrelid = '" + old + "'::regclass AND a.attnum > 0"
                + " AND NOT a.attisdropped AND NOT EXISTS (SELECT 1 FROM pg_attribute p WHERE p.attrelid = 'ev'::regclass"
                + " AND p.attname = a.attname AND p.atttypid = a.atttypid AND NOT p.attisdropped)"))
                .as(old + ": only the table's columns, with their types").isZero();
    }

    /** The columns of {@code tables}, with their types, in order: "table.column type". */
    static List<String> columns(Statement st, List<String> tables) throws Exception {
        List<String> found = new ArrayList<>();
        for (String table : tables) {
            try (ResultSet rs = st.executeQuery("SELECT attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid = '" + table + "'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum")) {
                while (rs.next()) {
                    found.add(table + "." + rs.getString(1));
                }
            }
        }
        return found;
    }

    static List<String> oldPartitions(Statement st) throws Exception {
        List<String> found = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT relname FROM pg_class WHERE relname ~ '__old$' AND relkind = 'r' ORDER BY 1")) {
            while (rs.next()) {
                found.add(rs.getString(1));
            }
        }
        return found;
    }
}
