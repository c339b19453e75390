package io.pgrewrite.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job watches the operator's own health query (gh-ost's throttle query): a one-row table the
 * application's side flips. Mid-run the value goes over the maximum: the copy holds at its next chunk
 * boundary, no swap happens, the execution stays RUNNING and {@code status} says it is throttled by the
 * query and its value. The value drops below 80 % of the maximum: the job goes on by itself and
 * completes with every row there once.
 */
class ThrottledByAQueryTest {

    static final int DAYS = 2;
    static final int ROWS = 12000;

    @TempDir
    Path dir;

    @Test
    void holdsWhileTheQueryIsOverItsMaximum() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("throttle");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            st.execute("CREATE TABLE health (load int NOT NULL)");
            st.execute("INSERT INTO health VALUES (0)");
            Tables.grantApp(c, "public.health");
        }
        Path job = dir.resolve("throttled.yaml");
        Files.writeString(job, "name: throttled\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "copy: {chunk-rows: 500, pause: 300ms}\n"
                + "throttle: {query: \"SELECT load FROM public.health\", query-max: 10, check-every: 200ms}\n");
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(db, "run", job.toString()));
        long id = Watch.copying(db);

        load(db, 100);
        Watch.until("the sampler sees it", 30, () -> Watch.number(db,
                "SELECT count(*) FROM pgrewrite.job_control WHERE throttle_signal = 'query' AND throttle_value = 100") == 1);
        long held = Watch.standsStill(db, 2);
        assertThat(held).isLessThan((long) DAYS * ROWS);
        assertThat(Watch.swapped(db)).isZero();
        CliRun status = CliRun.run(db, "status", String.valueOf(id));
        System.out.println("status while throttled:\n" + status.out());
        assertThat(status.out()).contains("STARTED", "Controls: throttled: query = 100 (max 10, since ");

        load(db, 9); // below the maximum, not below 80 % of it: still held
        Thread.sleep(1500);
        assertThat(Watch.standsStill(db, 1)).isEqualTo(held);

        load(db, 7);
        CliRun done = run.get(120, TimeUnit.SECONDS);
        assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);
        assertThat(done.err() + done.out()).doesNotContain("Exception");
        assertThat(Watch.number(db, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
        assertThat(Watch.number(db, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired' AND rows_copied = "
                + ROWS)).isEqualTo(DAYS);
        assertThat(Watch.number(db, "SELECT count(*) FROM pgrewrite.job_control WHERE throttle_signal IS NOT NULL")).isZero();
    }

    /** The application's side of the health table. */
    static void load(TestDatabase.Database db, int value) throws Exception {
        try (Connection c = db.connectAsApp(); Statement st = c.createStatement()) {
            st.executeUpdate("UPDATE public.health SET load = " + value);
        }
    }
}
