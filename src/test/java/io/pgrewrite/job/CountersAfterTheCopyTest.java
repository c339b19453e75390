package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * A DBA rewrites a table and afterwards finds nothing for autovacuum to redo: the swapped-in days count no
 * row as inserted since their VACUUM nor changed since their ANALYZE, as after the blocking ALTER (whose
 * rewrite counts no inserts at all). Before, the copy's inserts reached the shared statistics up to 10 s after
 * its commit, after the VACUUM and ANALYZE had reset the counters: autovacuum then vacuumed and analyzed every
 * rewritten day again, on the same two cores, holding locks that the job's next statements waited for. The
 * days have autovacuum off, so that nothing but pgrewrite's own VACUUM and ANALYZE resets their counters; the
 * counters are read once every backend of the run has ended (each hands over what it still had as it exits).
 */
class CountersAfterTheCopyTest {

    static final int DAYS = 3;
    static final int ROWS = 3000;

    @Test
    void theRewrittenDaysLeaveAutovacuumNothingToRedo() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("counters");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            Tables.grantApp(c, "public.ev");
            for (int d = 1; d <= DAYS; d++) {
                st.execute("ALTER TABLE ev_2024030" + d + " SET (autovacuum_enabled = false)");
            }
        }
        try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
            st.execute("INSERT INTO ev (id, at, massa) SELECT 9000000 + g, '2024-03-02 12:00', 7 FROM generate_series(1, 10) g");
        }
        Path job = Files.createTempFile("counters", ".yaml");
        Files.writeString(job, "name: counters\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nworkers: 1\n");

        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            awaitOnlyThisBackend(st);
            st.execute("SELECT pg_stat_clear_snapshot()");
            for (int d = 1; d <= DAYS; d++) {
                String p = "ev_2024030" + d;
                assertThat(one(st, "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = '" + p + "'"))
                        .as(p + ": the copy's rows are counted").isGreaterThanOrEqualTo(ROWS);
                assertThat(one(st, "SELECT n_ins_since_vacuum FROM pg_stat_user_tables WHERE relname = '" + p + "'"))
                        .as(p + ": rows counted as inserted since its VACUUM (autovacuum would vacuum it again)").isZero();
                assertThat(one(st, "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = '" + p + "'"))
                        .as(p + ": rows counted as changed since its ANALYZE (autovacuum would analyze it again)").isZero();
            }
        }
    }

    /** Until every other backend of this database has exited (and so handed over its pending counters). */
    static void awaitOnlyThisBackend(Statement st) throws Exception {
        for (int i = 0; ; i++) {
            long others = one(st, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
            if (others == 0) {
                return;
            }
            assertThat(i).as("the run's connections are closed").isLessThan(100);
            Thread.sleep(100);
        }
    }
}
