package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A plain table — no publication, policy, grant, comment, statistics object or disabled trigger on any
 * partition when the job starts — gets all of those on the partition being copied while the job is
 * interrupted (a DBA's evening: the job was killed while copying the first day). The restart's swap carries
 * every one of them over: the swap reads each kind of object of P at the swap, in one round trip, not
 * only the kinds the table had when the job began. The result equals the blocking ALTER run on a clone that
 * drifted the same way ({@link CatalogSnapshot#full}).
 */
class CarryOverDriftTest {

    static final String ALTER = "ALTER TABLE ev ALTER COLUMN massa TYPE integer USING massa::integer";

    @TempDir
    Path dir;

    @Test
    void whatAPartitionGainsWhileTheJobIsInterruptedIsCarriedOverByItsSwap() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("carrydrift");
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            st.execute("DO $$ BEGIN CREATE ROLE pgrewrite_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        }
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 2000);
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "carrydriftref");
        Path job = dir.resolve("massa.yaml");
        Files.writeString(job, "name: massa\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\ncopy:\n  chunk-rows: 200\n");

        long id;
        try (JvmProcess p = JvmProcess.start("carrydrift", List.of("-D" + FaultPoints.PROPERTY + "=copy"), db, "run", job.toString())) {
            p.await(l -> l.startsWith("PGREWRITE-PAUSED copy ev_20240301"), 120);
            p.kill();
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            id = one(st, "SELECT max(job_execution_id) FROM pgrewrite.batch_job_execution e"
                    + " JOIN pgrewrite.batch_job_instance i USING (job_instance_id) WHERE i.job_name = 'rewrite'");
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname = 'ev_20240301__rw'")).isEqualTo(1);
            for (String sql : drift()) {
                st.execute(sql);
            }
        }
        CliRun restart = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);

        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            for (String sql : drift()) {
                st.execute(sql);
            }
            st.execute(ALTER);
        }
        try (Connection ours = db.connect(); Connection theirs = ref.connect(); Statement st = ours.createStatement()) {
            List<String> full = CatalogSnapshot.full(ours, "ev");
            assertThat(full).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "ev"));
            assertThat(String.join("\n", full)).contains("ev_day_one", "readers", "pgrewrite_reader", "a day of passages", "ev_20240301_stx");
            assertThat(CatalogSnapshot.rows(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
        }
    }

    /** One object of each kind the swap carries over, on the partition whose copy is under way. */
    static List<String> drift() {
        List<String> sql = new ArrayList<>(List.of(
                "CREATE PUBLICATION ev_day_one FOR TABLE ev_20240301",
                "ALTER TABLE ev_20240301 ENABLE ROW LEVEL SECURITY",
                "CREATE POLICY readers ON ev_20240301 FOR SELECT TO pgrewrite_reader USING (id > 10)",
                "GRANT SELECT ON ev_20240301 TO pgrewrite_reader",
                "COMMENT ON TABLE ev_20240301 IS 'a day of passages'",
                "ALTER TABLE ev_20240301 REPLICA IDENTITY FULL",
                "COMMENT ON COLUMN ev_20240301.label IS 'free text'",
                "GRANT UPDATE (label) ON ev_20240301 TO pgrewrite_reader",
                "ALTER TABLE ev_20240301 ALTER COLUMN label SET STATISTICS 200",
                "ALTER TABLE ev_20240301 ALTER COLUMN label SET (n_distinct = -0.5)",
                "CREATE INDEX ev_20240301_label ON ev_20240301 (label)",
                "COMMENT ON INDEX ev_20240301_label IS 'by label'",
                "ALTER TABLE ev_20240301 CLUSTER ON ev_20240301_label",
                "ALTER TABLE ev_20240301 ADD CONSTRAINT ev_20240301_positive CHECK (id > 0)",
                "COMMENT ON CONSTRAINT ev_20240301_positive ON ev_20240301 IS 'no zero ids'",
                "CREATE STATISTICS ev_20240301_stx (ndistinct) ON id, label FROM ev_20240301",
                "CREATE FUNCTION ev_touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
                "CREATE TRIGGER ev_local BEFORE UPDATE ON ev_20240301 FOR EACH ROW EXECUTE FUNCTION ev_touch()",
                "ALTER TABLE ev_20240301 DISABLE TRIGGER ev_local"));
        return sql;
    }
}
