package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * With {@code statistics: after-swap}, the pgrewrite process is killed (kill -9) right after the first
 * day's swap committed, before its ANALYZE started. The day is swapped in without statistics and recorded
 * as pending; the application goes on writing. {@code restart} finishes the other days and, before
 * contract, analyzes the one left pending: the job completes with every column that had statistics after
 * the blocking ALTER on a copy having them here too, on every day.
 */
class KilledBeforeTheAnalyzeTest {

    static final int DAYS = 3;
    static final int ROWS = 1500;

    @Test
    void theDayLeftWithoutStatisticsIsAnalyzedBeforeTheJobCompletes() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("killed_analyze");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            Tables.grantApp(c, "public.ev");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "killed_analyze_ref");
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ev ALTER COLUMN massa TYPE integer USING massa::integer");
        }
        Path job = Files.createTempFile("killed", ".yaml");
        Files.writeString(job, "name: ka\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\nstatistics: after-swap\n");

        String day;
        try (JvmProcess run = JvmProcess.start("run", List.of("-D" + FaultPoints.PROPERTY + "=statistics:before-analyze"), db,
                "run", job.toString())) {
            String paused = run.await(l -> l.startsWith("PGREWRITE-PAUSED statistics:before-analyze "), 180);
            day = paused.split(" ")[2];
            run.kill();
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE partition_name = '" + day
                    + "' AND state = 'swapped' AND statistics = 'pending'")).as("swapped, its ANALYZE still to run").isOne();
            if (one(st, "SELECT current_setting('server_version_num')::int") < 180000) { // 18 copies the unchanged columns'
                assertThat(one(st, "SELECT count(*) FROM pg_stats WHERE tablename = '" + day + "' AND NOT inherited"))
                        .as("the swapped-in copy was only vacuumed").isZero();
            }
        }
        CliRun status = CliRun.run(db, "status", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(status.out()).as(status.toString()).contains("statistics: 1 pending");
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            st.execute("INSERT INTO ev (id, at, massa) SELECT 9000000 + g, '2024-03-01 12:00', 5 FROM generate_series(1, 20) g");
        }

        CliRun restart = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);

        try (Connection ours = db.connect(); Connection theirs = ref.connect(); Statement st = ours.createStatement()) {
            List<String> expected = CatalogSnapshot.statistics(theirs, "ev");
            assertThat(expected).contains("stats " + day + ".label", "stats " + day + ".extra"); // not massa: the ALTER drops its
            assertThat(CatalogSnapshot.statistics(ours, "ev")).containsAll(expected);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE statistics = 'pending'")).isZero();
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(DAYS * ROWS + 20L);
        }
    }
}
