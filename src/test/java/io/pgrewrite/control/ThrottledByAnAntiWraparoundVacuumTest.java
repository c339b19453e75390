package io.pgrewrite.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.OwnServer;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job with {@code throttle.anti-wraparound: true} runs while the cluster's transaction ids age the table
 * past {@code autovacuum_freeze_max_age} (100 000 on this server of the test's own, so it takes a second of
 * burnt ids): PostgreSQL starts an anti-wraparound autovacuum on a partition, slowed down so that it lasts.
 * The copy holds at its next chunk boundary, no swap starts, and {@code status} says it is throttled by
 * anti-wraparound. The DBA ends the autovacuum and freezes the partition by hand: the job goes on by
 * itself and completes with every row there once.
 */
class ThrottledByAnAntiWraparoundVacuumTest {

    static final int DAYS = 2;
    static final int ROWS = 12000;
    static final String SLOW = "ev_20240302";

    @TempDir
    Path dir;

    @Test
    void holdsWhileAnAntiWraparoundAutovacuumWorksOnThePartition() throws Exception {
        try (OwnServer server = OwnServer.start(Map.of("autovacuum_freeze_max_age", "100000", "autovacuum_naptime", "1s"))) {
            TestDatabase.Database db = server.newDatabase("wrap");
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
                // no routine autovacuum here (anti-wraparound comes all the same), and a slow one: a page per 100 ms
                st.execute("ALTER TABLE " + SLOW + " SET (autovacuum_enabled = false, autovacuum_vacuum_cost_delay = 100,"
                        + " autovacuum_vacuum_cost_limit = 1)");
            }
            try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
                st.execute("GRANT pg_monitor TO " + TestDatabase.OWNER); // to see autovacuum workers (plan refuses without)
            }
            Path job = dir.resolve("wrap.yaml");
            Files.writeString(job, "name: wrap\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                    + "copy: {chunk-rows: 500, pause: 300ms}\nthrottle: {anti-wraparound: true, check-every: 200ms}\n");
            CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(db, "run", job.toString()));
            long id = Watch.copying(db);

            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                st.execute("DO $$ BEGIN FOR i IN 1..110000 LOOP PERFORM txid_current(); COMMIT; END LOOP; END $$");
            }
            Watch.until("the sampler sees the anti-wraparound autovacuum", 60, () -> Watch.number(db,
                    "SELECT count(*) FROM pgrewrite.job_control WHERE throttle_signal = 'anti-wraparound'") == 1);
            long held = Watch.standsStill(db, 2);
            assertThat(Watch.swapped(db)).isZero();
            CliRun status = CliRun.run(db, "status", String.valueOf(id));
            System.out.println("status while an anti-wraparound autovacuum works on " + SLOW + ":\n" + status.out());
            assertThat(status.out()).contains("STARTED", "Controls: throttled: anti-wraparound = 1 autovacuums (max 0 autovacuums, since ");

            try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
                // the worker's own vacuum would take its time (and an ALTER of its settings waits for it): end it, and
                // freeze the partition at once, before the launcher (1 s naptime) sends another worker
                st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_progress_vacuum WHERE relid = '" + SLOW + "'::regclass");
                st.execute("VACUUM (FREEZE) " + SLOW);
            }
            CliRun done = run.get(120, TimeUnit.SECONDS);
            assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);
            assertThat(done.err() + done.out()).doesNotContain("Exception");
            assertThat(Watch.number(db, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(Watch.number(db, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired' AND rows_copied = "
                    + ROWS)).isEqualTo(DAYS);
            assertThat(held).isLessThanOrEqualTo((long) DAYS * ROWS);
        }
    }
}
