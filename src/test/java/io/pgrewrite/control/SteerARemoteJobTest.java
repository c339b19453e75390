package io.pgrewrite.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The operator pauses a job whose partitions run on a worker process on another "host" (a separate JVM
 * with nothing but the database in common): the worker's copy holds at its chunk boundary. She postpones
 * the swaps, resumes it and drops the pause between chunks ({@code set copy.pause=0ms}): the worker copies
 * the rest of the partition at once, verifies it and waits before its swap. She allows the swaps: the job
 * completes with every row there once.
 */
class SteerARemoteJobTest {

    static final int ROWS = 12000;

    @Test
    void aRemoteWorkerObeysPauseResumePostponeSetAndAllow() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("steer_remote");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, ROWS);
        }
        Path job = Files.createTempFile("steer-remote", ".yaml");
        Files.writeString(job, "name: steered\ntable: ev\noperation: compact\ncopy: {chunk-rows: 500, pause: 1s}\n");
        List<String> noArgs = List.of();
        try (JvmProcess worker = JvmProcess.start("worker", noArgs, db, "worker", "--max-idle", "60s")) {
            worker.await(l -> l.contains("taking partition requests"), 90);
            try (JvmProcess manager = JvmProcess.start("manager", List.of("-Dpgrewrite.progress.every=1"), db, "run", job.toString(),
                    "--remote")) {
                long id = Watch.copying(db);
                CliRun pause = CliRun.run(db, "pause", String.valueOf(id));
                assertThat(pause.exitCode()).as(pause.toString()).isEqualTo(ExitCodes.OK);
                assertThat(Watch.standsStill(db, 2)).isLessThan(2L * ROWS);
                // held at its chunk boundary, or (when the copy was done before the pause was seen) before its swap
                worker.await(l -> l.contains(": paused by an operator"), 10);
                // the manager's progress lines (no terminal) say so too
                manager.await(l -> l.contains("partitions done") && l.contains("; paused by an operator (`pgrewrite resume " + id), 10);

                CliRun resume = CliRun.run(db, "resume", String.valueOf(id), "--help");
                assertThat(resume.out()).contains("Resume a paused execution");
                CliRun postpone = CliRun.run(db, "postpone-swap", String.valueOf(id));
                assertThat(postpone.exitCode()).as(postpone.toString()).isEqualTo(ExitCodes.OK);
                resume = CliRun.run(db, "resume", String.valueOf(id));
                assertThat(resume.exitCode()).as(resume.toString()).isEqualTo(ExitCodes.OK);
                // the worker copies the rest of the first partition without the 1 s pause (20-odd chunks: > 20 s with it)
                CliRun set = CliRun.run(db, "set", String.valueOf(id), "copy.pause=0ms");
                assertThat(set.exitCode()).as(set.toString()).isEqualTo(ExitCodes.OK);
                Watch.until("the worker copies on without pauses", 15, () -> Watch.number(db,
                        "SELECT count(*) FROM pgrewrite.partition_state WHERE rows_copied = " + ROWS) >= 1);
                // and then waits before the swap, as postponed
                worker.await(l -> l.contains("copied and verified; the swap waits: swaps postponed"), 30);
                Thread.sleep(1500);
                assertThat(Watch.swapped(db)).isZero();

                CliRun allow = CliRun.run(db, "allow-swap", String.valueOf(id));
                assertThat(allow.exitCode()).as(allow.toString()).isEqualTo(ExitCodes.OK);
                assertThat(manager.waitFor(180)).as(manager.output()).isZero();
            }
        }
        assertThat(Watch.number(db, "SELECT count(DISTINCT id) FROM ev")).isEqualTo(2L * ROWS);
        assertThat(Watch.number(db, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired' AND rows_copied = "
                + ROWS)).isEqualTo(2);
    }
}
