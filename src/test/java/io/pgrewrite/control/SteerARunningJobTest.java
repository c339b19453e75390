package io.pgrewrite.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator steers a running local job from another shell (and the dashboard, through the same
 * {@link JobControls}). She postpones the swaps and pauses it: no
 * chunk is copied while it is paused, and {@code status} says it is RUNNING, paused, swaps postponed. She
 * resumes it: the first partition is copied and verified and waits before its swap. She gives it a second
 * worker and no pause between chunks ({@code set}): the next partition copies while the first still waits.
 * She allows the swaps: the job completes with every row there once.
 */
class SteerARunningJobTest {

    static final int DAYS = 3;
    static final int ROWS = 12000;

    @TempDir
    Path dir;

    @Test
    void pauseResumePostponeSetAllow() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("steer");
        SlowJob.table(db, DAYS, ROWS);
        CompletableFuture<CliRun> run = SlowJob.run(db, SlowJob.file(dir, "steer", 1));
        long id = Watch.started(db);
        String ID = String.valueOf(id);
        // as the dashboard does it: at once, before the first partition can reach its swap
        new JobControls(db.dataSource()).postponeSwap(id);
        Watch.copying(db);

        assertThat(ok(CliRun.run(db, "pause", ID)).out()).contains("Execution " + id + " (steer@public.ev): paused");
        long held = Watch.standsStill(db, 2);
        assertThat(held).as("paused in the middle of the first partition").isLessThan(ROWS);
        assertThat(Watch.state(db, "ev_20240301")).isEqualTo("copying");
        CliRun status = ok(CliRun.run(db, "status", ID));
        System.out.println("status while paused:\n" + status.out());
        assertThat(status.out()).contains("STARTED", "Controls: paused by an operator", "swaps postponed",
                "Copy rate: - (copies held: see Controls); ETA: -;");
        assertThat(run).isNotDone();

        ok(CliRun.run(db, "resume", ID));
        Watch.until("the first partition is verified", 60, () -> "verified".equals(Watch.state(db, "ev_20240301")));
        Thread.sleep(2000);
        assertThat(Watch.state(db, "ev_20240301")).as("waits before its swap").isEqualTo("verified");
        assertThat(Watch.swapped(db)).isZero();
        assertThat(ok(CliRun.run(db, "postpone-swap", ID)).out()).contains("swaps postponed"); // again: no harm

        CliRun set = ok(CliRun.run(db, "set", ID, "workers=2", "copy.pause=0ms"));
        assertThat(set.out()).contains("changed while running: copy.pause=0ms workers=2");
        Watch.until("a second partition copies while the first waits", 60,
                () -> Watch.number(db, "SELECT count(*) FROM pgrewrite.partition_state WHERE rows_copied > 0") >= 2);
        assertThat(Watch.swapped(db)).isZero();

        CliRun bad = CliRun.run(db, "set", ID, "workers=100");
        assertThat(bad.exitCode()).isEqualTo(ExitCodes.USAGE);
        assertThat(bad.err()).contains("'workers' is '100'; allowed: 1 to 64");

        ok(CliRun.run(db, "allow-swap", ID));
        CliRun done = run.get(120, TimeUnit.SECONDS);
        assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);
        assertThat(Watch.number(db, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
        assertThat(Watch.number(db, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
        assertThat(Watch.number(db, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired' AND rows_copied = "
                + ROWS)).isEqualTo(DAYS);
        CliRun after = CliRun.run(db, "pause", ID);
        assertThat(after.exitCode()).isEqualTo(ExitCodes.NOTHING_TO_DO);
        assertThat(after.err()).contains("is COMPLETED, not running");
    }

    static CliRun ok(CliRun r) {
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.OK);
        return r;
    }
}
