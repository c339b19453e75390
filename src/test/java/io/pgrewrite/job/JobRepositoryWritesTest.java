package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.Map;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A table of many small days: each partition's worker step {@code rewrite:P} costs the JobRepository two
 * transactions while it runs (each a commit, a WAL flush, while the partition waits): "started", and "done" with
 * its context. Spring Batch's AbstractStep took five (the end saved twice, the execution and its context each in a
 * transaction of its own). One more, before any partition starts, is the split's (the partition's context). What the JobRepository says about the partitions stays what it said: COMPLETED,
 * start and end times, the partition and Spring Batch's version in the step's context.
 */
class JobRepositoryWritesTest {

    @TempDir
    Path dir;

    @Test
    void aPartitionCostsTwoJobRepositoryTransactions() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("repowrites");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 50);
        }
        CliRun.makeSchema(db);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            // Which transactions wrote each step execution (its row or its context's), from the database's side.
            st.execute("CREATE TABLE public.step_writes (step_execution_id bigint, xid xid8)");
            st.execute("""
                    CREATE FUNCTION public.record_step_write() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                      INSERT INTO public.step_writes VALUES (NEW.step_execution_id, pg_current_xact_id());
                      RETURN NEW;
                    END $$""");
            st.execute("CREATE TRIGGER record AFTER UPDATE ON pgrewrite.batch_step_execution FOR EACH ROW"
                    + " EXECUTE FUNCTION public.record_step_write()");
            st.execute("CREATE TRIGGER record AFTER UPDATE ON pgrewrite.batch_step_execution_context FOR EACH ROW"
                    + " EXECUTE FUNCTION public.record_step_write()");
        }
        Path job = dir.resolve("small.yaml");
        Files.writeString(job, "name: small\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nworkers: 1\n");
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);

        Map<String, Long> transactions = new LinkedHashMap<>();
        try (Connection c = db.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT s.step_name, s.status, s.exit_code, s.start_time IS NOT NULL AND s.end_time >= s.start_time AS timed,
                       encode(decode(x.short_context, 'base64'), 'escape') AS context, (SELECT count(DISTINCT w.xid) FROM public.step_writes w
                                          WHERE w.step_execution_id = s.step_execution_id) AS transactions
                  FROM pgrewrite.batch_step_execution s
                  JOIN pgrewrite.batch_step_execution_context x USING (step_execution_id)
                 WHERE s.step_name LIKE 'rewrite:%' ORDER BY s.step_name""")) {
            while (rs.next()) {
                String step = rs.getString("step_name");
                assertThat(rs.getString("status")).as(step).isEqualTo("COMPLETED");
                assertThat(rs.getString("exit_code")).as(step).isEqualTo("COMPLETED");
                assertThat(rs.getBoolean("timed")).as(step + ": start and end time").isTrue();
                assertThat(rs.getString("context")).as(step + ": its context (Java serialization)")
                        .contains(step.substring("rewrite:".length()), "batch.version");
                transactions.put(step, rs.getLong("transactions"));
            }
        }
        // the split's, started, done (with AbstractStep: 6)
        assertThat(transactions).as("JobRepository transactions that wrote each partition's step").containsOnlyKeys(
                "rewrite:ev_20240301", "rewrite:ev_20240302", "rewrite:ev_20240303").allSatisfy((step, n) -> assertThat(n).as(step).isEqualTo(3));
    }
}
