package io.pgrewrite.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cut-overs only in a quiet hour: a job with a {@code swap.window} that is not now copies and verifies
 * its partition, then waits before the swap. The operator widens the window while it runs
 * ({@code set ID swap.window=always}): the swap happens and the job completes.
 */
class SwapWindowTest {

    @TempDir
    Path dir;

    @Test
    void noSwapOutsideTheWindowUntilItChanges() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("window");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 2000);
        }
        LocalTime now = LocalTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MINUTES);
        String window = now.plusHours(2) + "-" + now.plusHours(3);
        Path job = dir.resolve("window.yaml");
        Files.writeString(job, "name: window\ntable: ev\noperation: compact\nswap: {window: \"" + window + "\"}\n");
        CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(db, "run", job.toString()));

        Watch.until("the partition is verified", 90, () -> Watch.number(db, "SELECT count(*) FROM pg_tables"
                + " WHERE schemaname = 'pgrewrite' AND tablename = 'partition_state'") > 0
                && "verified".equals(Watch.state(db, "ev_20240301")));
        Thread.sleep(3000);
        assertThat(Watch.state(db, "ev_20240301")).isEqualTo("verified");
        assertThat(run).isNotDone();

        long id = Watch.started(db);
        CliRun set = CliRun.run(db, "set", String.valueOf(id), "swap.window=always");
        assertThat(set.exitCode()).as(set.toString()).isEqualTo(ExitCodes.OK);
        CliRun done = run.get(60, TimeUnit.SECONDS);
        assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);
        assertThat(Watch.state(db, "ev_20240301")).isEqualTo("retired");
        assertThat(Watch.number(db, "SELECT count(*) FROM ev")).isEqualTo(2000);
    }
}
