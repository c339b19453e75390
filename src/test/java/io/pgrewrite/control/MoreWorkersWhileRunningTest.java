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
 * A job started with one worker at night; in the morning the DBA raises it to twelve with {@code pgrewrite set}.
 * The process's connection pool was opened for one worker (11 connections); twelve workers each hold their slot's
 * locks on a connection of their own while they copy, verify and wait for their swap, and work on another. With the
 * swaps postponed all twelve partitions must reach their swap at once, and the job end with every row there once.
 * With the pool left at its size, the workers' locks took every connection and no partition got further (not all
 * twelve had reached their swap after 120 s).
 */
class MoreWorkersWhileRunningTest {

    static final int DAYS = 12;
    static final int ROWS = 2000;

    @TempDir
    Path dir;

    @Test
    void raisingWorkersGrowsTheConnectionPoolWithThem() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("more_workers");
        SlowJob.table(db, DAYS, ROWS);
        CompletableFuture<CliRun> run = SlowJob.run(db, SlowJob.file(dir, "more", 1));
        long id = Watch.started(db);
        String ID = String.valueOf(id);
        new JobControls(db.dataSource()).postponeSwap(id);
        Watch.copying(db);

        SteerARunningJobTest.ok(CliRun.run(db, "set", ID, "workers=" + DAYS, "copy.pause=200ms"));
        Watch.until("all " + DAYS + " partitions wait for their swap at once", 120, () -> {
            assertThat(run).as("the run ended early").isNotDone();
            return Watch.number(db, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'verified'") == DAYS;
        });
        SteerARunningJobTest.ok(CliRun.run(db, "allow-swap", ID));
        CliRun done = run.get(180, TimeUnit.SECONDS);
        assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);
        assertThat(Watch.number(db, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
        assertThat(Watch.number(db, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
    }
}
