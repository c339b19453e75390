package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The serial key id int → bigint, with an index and a CHECK on it, meets a crash and a give-up:
 * killed (kill -9) while contract holds the table's lock, the restart contracts once and the table equals
 * the blocking ALTER's; a job that failed after its first partition was swapped (carrying prebuilt
 * indexes and CHECKs on the shadow id) is given up with {@code abandon --cleanup}, which leaves the
 * table as it was: the key, index and CHECK on the integer id, nothing prebuilt left.
 */
class KeyChangeCrashAndCleanupTest {

    static final String EXTRA = "CREATE INDEX passage_id_label_idx ON passage (id, label);"
            + " ALTER TABLE passage ADD CONSTRAINT id_positive CHECK (id > 0)";
    static final String JOB = "name: bigid\ntable: passage\noperation: alter-column-type\ncolumn: id\ntype: bigint\nworkers: 1\n";

    @Test
    void killedWhileContractHoldsTheLockTheRestartContractsOnce() throws Exception {
        TestDatabase.Database db = RetypeCase.table("bigid_crash", "serial", EXTRA);
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "bigid_crash_ref");
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE passage ALTER COLUMN id TYPE bigint; ALTER SEQUENCE passage_id_seq AS bigint");
        }
        Path job = Files.createTempFile("bigid", ".yaml");
        Files.writeString(job, JOB);
        for (String point : List.of("contract:locked", "contract:committed")) {
            CrashWindowsTest.killAt(db, point, job);
            if (point.equals("contract:locked")) {
                try (Connection c = db.connect(); Statement st = c.createStatement()) {
                    assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname LIKE 'pgrws\\_%'"))
                            .as("the prebuilt indexes wait on every partition").isEqualTo(5 * 2);
                }
            }
            CliRun restart = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
            assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
            try (Connection ours = db.connect(); Connection theirs = ref.connect(); Statement st = ours.createStatement()) {
                assertThat(CatalogSnapshot.rows(ours, "passage")).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "passage"));
                assertThat(CatalogSnapshot.full(ours, "passage")).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "passage"));
                assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname LIKE 'pgrws\\_%'")).isZero();
                assertThat(one(st, "INSERT INTO passage (at) VALUES ('2024-03-01 07:00') RETURNING id")).isEqualTo(9001);
                st.execute("DELETE FROM passage WHERE id = 9001");
                st.execute("SELECT setval('passage_id_seq', 9000)");
            }
            if (point.equals("contract:locked")) {
                // and once more from scratch for the second point
                db = RetypeCase.table("bigid_crash2", "serial", EXTRA);
            }
        }
    }

    @Test
    void aJobGivenUpWithCleanupLeavesTheKeyAsItWas() throws Exception {
        TestDatabase.Database db = RetypeCase.table("bigid_abandon", "serial", EXTRA);
        List<String> before;
        List<String> rowsBefore;
        try (Connection c = db.connect()) {
            before = CatalogSnapshot.full(c, "passage");
            rowsBefore = CatalogSnapshot.rows(c, "passage");
        }
        Path job = Files.createTempFile("bigid", ".yaml");
        // Row 3500 (the second day) does not convert: the first day is swapped with its prebuilt objects, then the job fails.
        Files.writeString(job, JOB + "using: \"(CASE WHEN id = 3500 THEN 'x' ELSE id::text END)::bigint\"\n");
        CliRun failed = CliRun.run(db, "run", job.toString());
        assertThat(failed.exitCode()).as(failed.toString()).isEqualTo(ExitCodes.JOB_FAILED);
        long execution = Long.parseLong(failed.out().replaceAll("(?s).*Execution (\\d+): FAILED.*", "$1"));
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname LIKE 'pgrws\\_%'")).as("prebuilt on the swapped day").isPositive();
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'pgrwc\\_%'")).isPositive();
        }
        CliRun cleanup = CliRun.run(db, "abandon", String.valueOf(execution), "--cleanup");
        assertThat(cleanup.exitCode()).as(cleanup.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname LIKE 'pgrw%'")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'pgrw%'")).isZero();
            assertThat(CatalogSnapshot.rows(c, "passage")).containsExactlyElementsOf(rowsBefore);
            assertThat(CatalogSnapshot.full(c, "passage")).containsExactlyElementsOf(before);
        }
    }
}
