package io.pgrewrite.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.LocalDate;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server whose lock table cannot hold an ALTER TABLE over every partition: the type change is
 * refused at plan time with the setting to raise, instead of failing half-way with "out of shared memory".
 * 300 slots (10 a transaction, 30 connections: enough of those for plan's connection check) for 40 partitions.
 */
class LockSlotsTest {

    @TempDir
    Path dir;

    @Test
    void tooFewLockSlotsForTheNumberOfPartitions() throws Exception {
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder().setServerConfig("max_locks_per_transaction", "10")
                .setServerConfig("max_connections", "30").start()) {
            String url = pg.getJdbcUrl("postgres", "postgres");
            try (Connection c = DriverManager.getConnection(url)) {
                Tables.daily(c, "public", "ev", LocalDate.of(2024, 1, 1), 40, 1);
            }
            Path job = dir.resolve("job.yaml");
            Files.writeString(job, "name: t\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
            CliRun r = CliRun.run(null, "plan", job.toString(), "--url", "jdbc:postgresql://localhost:" + pg.getPort() + "/postgres",
                    "--username", "postgres");
            assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(r.err()).contains("lock all 40 partitions", "Raise max_locks_per_transaction to at least");
            // compact never alters the parent: no lock slots needed
            Files.writeString(job, "name: t\ntable: ev\noperation: compact\n");
            assertThat(CliRun.run(null, "plan", job.toString(), "--url", "jdbc:postgresql://localhost:" + pg.getPort() + "/postgres",
                    "--username", "postgres").exitCode()).isEqualTo(ExitCodes.OK);
        }
    }
}
