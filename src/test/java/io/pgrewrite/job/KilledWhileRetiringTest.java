package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The process is killed while retire drops the first partition's {@code P__old}: retire drops {@code P__old},
 * the change log and the capture function in one transaction (one WAL flush at its commit, where two
 * transactions paid two), so the kill leaves all three, never the log and function without the table; the
 * restart drops them and finishes, leaving nothing of pgrewrite's behind.
 */
class KilledWhileRetiringTest {

    @TempDir
    Path dir;

    @Test
    void aKillInsideRetireLeavesTheOldPartitionItsLogAndFunctionTogether() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("retirekill");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 300);
        }
        Path job = dir.resolve("massa.yaml");
        Files.writeString(job, "name: massa\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nworkers: 1\n");

        String paused;
        try (JvmProcess p = JvmProcess.start("retirekill", List.of("-D" + FaultPoints.PROPERTY + "=retire:dropped-old"), db,
                "run", job.toString())) {
            paused = p.await(l -> l.startsWith("PGREWRITE-PAUSED retire:dropped-old "), 120);
            p.kill();
        }
        String partition = paused.split(" ")[2];
        long id;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname = '" + partition + "__old'")).isOne();
            assertThat(one(st, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE n.nspname = 'pgrewrite' AND c.relname LIKE 'log\\_%' AND c.relkind = 'r'")).isOne();
            assertThat(one(st, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'pgrewrite'::regnamespace AND proname LIKE 'capture\\_%'"))
                    .isOne();
            id = one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
        }

        CliRun restart = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$' OR relname LIKE 'log\\_%'")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'pgrewrite'::regnamespace AND proname LIKE 'capture\\_%'"))
                    .isZero();
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(600);
        }
    }
}
