package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
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
import org.junit.jupiter.api.Test;

/**
 * A day-partitioned table with an empty day before its three full days and an empty day made ahead. The
 * smallint → integer job skips both empty days (no copy, no swap: they are the same tables afterwards).
 * While it copies the first full day, the application writes into the empty day it skipped; pgrewrite is
 * killed with kill -9 and restarted: every row is there, those of the skipped day with their new value
 * (the sync trigger gave it). And when rows get into a skipped day without passing the sync trigger,
 * contract refuses and names the day instead of dropping the column they have their only value in.
 */
class EmptyPartitionsTest {

    static final String JOB = "name: empty\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
            + "workers: 1\ncopy:\n  chunk-rows: 1000\n";

    @Test
    void emptyDaysAreSkippedAndRowsWrittenThereMeanwhileKeepTheirValue() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("empty_days");
        long[] oids = setUp(db);
        long id = runUntilCopyThenKill(db, "INSERT INTO ev SELECT 9000000 + g, '2024-02-29'::timestamp + g * interval '1 minute',"
                + " 1000 + g, 'app', NULL FROM generate_series(1, 50) g", false);
        CliRun restart = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(3 * 3000 + 50);
            assertThat(one(st, "SELECT count(*) FROM ev_20240229 WHERE massa = id - 9000000 + 1000")).isEqualTo(50);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE id < 9000000 AND massa = (id % 1000000) % 3000")).isEqualTo(3 * 3000);
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'massa'"
                    + " AND atttypid = 'integer'::regtype")).isEqualTo(1);
            // Not copied, not swapped: the same tables, recorded as empty; the full days were rewritten.
            assertThat(one(st, "SELECT 'ev_20240229'::regclass::oid")).isEqualTo(oids[0]);
            assertThat(one(st, "SELECT 'ev_20240304'::regclass::oid")).isEqualTo(oids[1]);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'empty'"
                    + " AND partition_name IN ('ev_20240229', 'ev_20240304') AND phases->'copy' IS NULL")).isEqualTo(2);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired'")).isEqualTo(3);
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
        }
        assertThat(CliRun.run(db, "status", String.valueOf(id)).out()).contains("ev_20240229", "done");
    }

    @Test
    void rowsThatMissedTheSyncTriggerInASkippedDayStopContract() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("empty_bypass");
        setUp(db);
        // The owner writes with the sync trigger disabled: the row's new column stays NULL.
        long id = runUntilCopyThenKill(db, "ALTER TABLE ev DISABLE TRIGGER \"~pgrewrite_sync\"; INSERT INTO ev VALUES (9000001,"
                + " '2024-02-29 12:00', 7, 'bypass', NULL); ALTER TABLE ev ENABLE ALWAYS TRIGGER \"~pgrewrite_sync\"", true);
        CliRun restart = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.JOB_FAILED);
        assertThat(restart.err()).contains("ev_20240229", "Nothing was contracted");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev WHERE id = 9000001 AND massa = 7")).isEqualTo(1); // the old column is still there
        }
    }

    /** Three full days, an empty day before them and one made ahead; returns the empty days' oids. */
    private static long[] setUp(TestDatabase.Database db) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 3000);
            st.execute("CREATE TABLE ev_20240229 PARTITION OF ev FOR VALUES FROM ('2024-02-29') TO ('2024-03-01')");
            st.execute("CREATE TABLE ev_20240304 PARTITION OF ev FOR VALUES FROM ('2024-03-04') TO ('2024-03-05')");
            Tables.grantApp(c, "public.ev");
            return new long[] {one(st, "SELECT 'ev_20240229'::regclass::oid"), one(st, "SELECT 'ev_20240304'::regclass::oid")};
        }
    }

    /** Runs the job until it copies the first full day, runs {@code meanwhile}, kills it; returns the execution. */
    private static long runUntilCopyThenKill(TestDatabase.Database db, String meanwhile, boolean asOwner) throws Exception {
        Path job = Files.createTempFile("empty", ".yaml");
        Files.writeString(job, JOB);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-D" + FaultPoints.PROPERTY + "=copy", "-cp", System.getProperty("java.class.path"),
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
        try {
            assertThat(paused).isEqualTo("PGREWRITE-PAUSED copy ev_20240301");
            try (Connection c = asOwner ? db.connect() : db.connectAsApp(); Statement st = c.createStatement()) {
                st.execute(meanwhile);
            }
        } finally {
            p.destroyForcibly(); // SIGKILL
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE partition_name = 'ev_20240229'"
                    + " AND state = 'empty'")).as("the empty day was skipped before the first full day's copy").isEqualTo(1);
            return one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
        }
    }
}
