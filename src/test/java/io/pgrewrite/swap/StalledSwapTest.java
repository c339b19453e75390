package io.pgrewrite.swap;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The pgrewrite host stalls (here: the JVM is stopped with SIGSTOP) the moment its swap holds the
 * parent's ACCESS EXCLUSIVE lock. The application's INSERT through the parent must not wait for the
 * host to come back: the server ends the stalled transaction within a few seconds
 * (idle_in_transaction_session_timeout) and the INSERT goes through. The process is then killed;
 * {@code restart} completes the job with every row once, the application's too.
 */
class StalledSwapTest {

    static final int DAYS = 3;
    static final int ROWS = 2000;

    @Test
    void theApplicationResumesWithinSecondsWhenPgrewriteStallsHoldingTheLock() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("stalled_swap");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            Tables.grantApp(c, "public.ev");
        }
        Path job = Files.createTempFile("stalled", ".yaml");
        Files.writeString(job, "name: stalled\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\n");

        double waitedS;
        try (JvmProcess run = JvmProcess.start("run", List.of("-D" + FaultPoints.ANNOUNCE + "=swap:locked",
                "-Dpgrewrite.test.announce-ms=1000"), db, "run", job.toString())) {
            run.await(l -> l.startsWith("PGREWRITE-REACHED swap:locked"), 180);
            run.signal("STOP"); // the host stalls with the parent locked; it never comes back by itself
            try (Connection app = db.connectAsApp(); Statement st = app.createStatement()) {
                st.execute("SET statement_timeout = '30s'"); // without the fix it would wait for ever
                long start = System.nanoTime();
                st.execute("INSERT INTO ev (id, at, massa) VALUES (-1, '2024-03-02 12:00', 7)");
                waitedS = (System.nanoTime() - start) / 1e9;
            }
            assertThat(Files.readString(Path.of("/proc/" + run.pid() + "/stat")).split(" ")[2])
                    .as("pgrewrite was still stopped while the application wrote").isEqualTo("T");
            run.kill(); // SIGKILL ends a stopped process too
        }
        System.out.printf("application INSERT waited %.2f s behind the stalled swap%n", waitedS);
        assertThat(waitedS).as("seconds the application's INSERT waited").isLessThan(6);

        long executionId;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            executionId = one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(executionId));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(DAYS * ROWS + 1L);
            assertThat(one(st, "SELECT count(DISTINCT id) FROM ev")).isEqualTo(DAYS * ROWS + 1L);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE id = -1 AND massa = 7")).isEqualTo(1);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE id > 0 AND massa = (id % 1000000) % 3000")).isEqualTo(DAYS * ROWS);
            try (ResultSet rs = st.executeQuery("SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid = 'ev'::regclass AND attname = 'massa'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("integer");
            }
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
        }
    }
}
