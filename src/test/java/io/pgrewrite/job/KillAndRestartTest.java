package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.PgrewriteApplication;
import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The pgrewrite process is killed with kill -9 at a known point — while copying (two chunks committed,
 * the third open), while building indexes (the share built beside committed, the phase's own not), right after a
 * swap committed — and
 * {@code restart} completes the job: every row is there once, and no partition's rows were copied
 * more than once (the interrupted one resumed after its last committed chunk).
 */
class KillAndRestartTest {

    static final int DAYS = 4;
    static final int ROWS = 3000;

    @ParameterizedTest
    @ValueSource(strings = {"copy", "index", "after-swap"})
    void killedProcessIsRestartedToCompletion(String point) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("kill_" + point.replace('-', '_'));
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            try (Statement st = c.createStatement()) {
                // wider than the primary key: its build is the index phase's own, the key's goes on the connection beside
                st.execute("CREATE INDEX ev_wide ON ev (label, massa, id, at)");
                st.execute("ANALYZE ev");
            }
        }
        Path job = Files.createTempFile("kill", ".yaml");
        Files.writeString(job, "name: kill\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\ncopy:\n  chunk-rows: 1000\n");

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-D" + FaultPoints.PROPERTY + "=" + point, "-cp", System.getProperty("java.class.path"),
                PgrewriteApplication.class.getName(), "run", job.toString()));
        cmd.addAll(List.of(db.cliOptions()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String paused = CompletableFuture.supplyAsync(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.startsWith("PGREWRITE-PAUSED")) {
                        return line;
                    }
                }
                return "exited without pausing";
            } catch (Exception e) {
                return e.toString();
            }
        }).get(120, TimeUnit.SECONDS);
        assertThat(paused).startsWith("PGREWRITE-PAUSED " + point);
        p.destroyForcibly(); // SIGKILL: no shutdown hooks, no rollback from our side
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();

        long executionId;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            executionId = one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
            if (point.equals("index")) {
                // The key's index committed beside the phase's transaction, which the kill rolled back: built, not yet a key.
                assertThat(one(st, "SELECT count(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname ~ '__rw$'"
                        + " AND i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"))
                        .as("unique index built beside, without its constraint").isEqualTo(1);
            }
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(executionId));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(one(st, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE massa = (id % 1000000) % 3000")).isEqualTo((long) DAYS * ROWS);
            try (ResultSet rs = st.executeQuery("SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid = 'ev'::regclass AND attname = 'massa'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("integer");
            }
            // Copied exactly once: a chunk's row count commits with the chunk, so a re-copy would show.
            try (ResultSet rs = st.executeQuery("SELECT partition_name, state, rows_copied FROM pgrewrite.partition_state")) {
                int n = 0;
                while (rs.next()) {
                    n++;
                    assertThat(rs.getString("state")).isEqualTo("retired");
                    assertThat(rs.getLong("rows_copied")).as(rs.getString(1)).isEqualTo(ROWS);
                }
                assertThat(n).isEqualTo(DAYS);
            }
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
            // every day with its primary key and the wide index, attached to the parent's
            assertThat(one(st, "SELECT count(*) FROM pg_constraint k JOIN pg_inherits h ON h.inhrelid = k.conrelid"
                    + " WHERE h.inhparent = 'ev'::regclass AND k.contype = 'p' AND k.conparentid <> 0")).isEqualTo(DAYS);
            assertThat(one(st, "SELECT count(*) FROM pg_index i JOIN pg_inherits h ON h.inhrelid = i.indrelid"
                    + " JOIN pg_inherits x ON x.inhrelid = i.indexrelid WHERE h.inhparent = 'ev'::regclass"
                    + " AND x.inhparent = 'ev_wide'::regclass")).isEqualTo(DAYS);
        }
    }
}
