package io.pgrewrite.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The machine running a job dies (kill -9) in the middle of a copy. While the process lived, recover was
 * refused; once it is gone, status says so, stop points at recover, recover marks the execution failed,
 * and restart completes it with every row once.
 */
class RecoverAfterKillTest {

    static final int DAYS = 2;
    static final int ROWS = 3000;

    @TempDir
    Path dir;

    @Test
    void recoverThenRestartAfterTheProcessWasKilled() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("recover");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
        }
        Path job = dir.resolve("recover.yaml");
        Files.writeString(job, "name: recover\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\ncopy:\n  chunk-rows: 1000\n");

        long id;
        try (JvmProcess p = JvmProcess.start("run", List.of("-D" + FaultPoints.PROPERTY + "=copy"), db, "run", job.toString())) {
            p.await(l -> l.startsWith("PGREWRITE-PAUSED copy"), 120);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                id = StopAndResumeTest.lastExecution(st);
            }
            CliRun refused = CliRun.run(db, "recover", String.valueOf(id));
            assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.ALREADY_RUNNING);
            assertThat(refused.err()).contains("live process", "pgrewrite stop " + id);
            assertThat(CliRun.run(db, "status", String.valueOf(id)).out()).contains("STARTED", "Running.", "copying");
            p.kill();
        }

        CliRun status = CliRun.run(db, "status", String.valueOf(id));
        assertThat(status.out()).contains("STARTED", "No process is running it", "pgrewrite recover " + id);
        CliRun stop = CliRun.run(db, "stop", String.valueOf(id));
        assertThat(stop.exitCode()).isEqualTo(ExitCodes.NOTHING_TO_DO);
        assertThat(stop.err()).contains("pgrewrite recover " + id);

        CliRun recover = CliRun.run(db, "recover", String.valueOf(id));
        assertThat(recover.exitCode()).as(recover.toString()).isEqualTo(ExitCodes.OK);
        assertThat(recover.out()).contains("recovered: FAILED", "pgrewrite restart " + id);
        assertThat(CliRun.run(db, "recover", String.valueOf(id)).exitCode()).isEqualTo(ExitCodes.NOTHING_TO_DO);

        CliRun restart = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(Tables.one(st, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(Tables.one(st, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(Tables.one(st, "SELECT sum(rows_copied) FROM pgrewrite.partition_state")).isEqualTo((long) DAYS * ROWS);
            assertThat(Tables.one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
        }
    }
}
