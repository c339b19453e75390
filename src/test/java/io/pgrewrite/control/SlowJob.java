package io.pgrewrite.control;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.concurrent.CompletableFuture;

import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;

/**
 * The steering tests' job: table {@code ev} of daily partitions from 2024-03-01, its {@code massa} smallint → integer,
 * copied 500 rows a second a worker (chunk-rows 500, pause 1s), so that it is still copying when the test steers it.
 */
final class SlowJob {

    private SlowJob() {
    }

    /** Creates {@code ev} with {@code days} partitions of {@code rows} rows each. */
    static void table(TestDatabase.Database db, int days, int rows) throws SQLException {
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), days, rows);
        }
    }

    /** Writes the job file {@code name.yaml} in {@code dir}, job name {@code name}. */
    static Path file(Path dir, String name, int workers) throws IOException {
        Path job = dir.resolve(name + ".yaml");
        Files.writeString(job, "name: " + name + "\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: " + workers + "\ncopy:\n  chunk-rows: 500\n  pause: 1s\n");
        return job;
    }

    /** {@code pgrewrite run JOB} in the background, as pgrewrite's role. */
    static CompletableFuture<CliRun> run(TestDatabase.Database db, Path job) {
        return CompletableFuture.supplyAsync(() -> CliRun.run(db, "run", job.toString()));
    }
}
