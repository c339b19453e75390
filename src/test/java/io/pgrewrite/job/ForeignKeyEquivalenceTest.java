package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.demo.DemoTable;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The demo table with a foreign key to a table of cameras (its own, and one a partition has of its own),
 * changed by pgrewrite, equals an identical copy changed by the plain statement: the same rows both ways
 * and the same catalog ({@link CatalogSnapshot#full}: every partition's foreign keys, valid, with their
 * definitions), and the cameras keep exactly the action triggers they had.
 */
class ForeignKeyEquivalenceTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "compact||SELECT 1",
        "backfill|set:\\n  passage_id: id|UPDATE passage SET passage_id = id",
        "add-column|column: kenteken_hash\\ntype: text\\nusing: md5(kenteken)|ALTER TABLE passage ADD COLUMN kenteken_hash text; UPDATE passage SET kenteken_hash = md5(kenteken)",
        "drop-column|column: extra_data|ALTER TABLE passage DROP COLUMN extra_data",
        "alter-column-type|column: massa_ledig_voertuig\\ntype: integer|ALTER TABLE passage ALTER COLUMN massa_ledig_voertuig TYPE integer USING massa_ledig_voertuig::integer",
    })
    void sameResultAsThePlainStatement(String operation, String keys, String plainSql) throws Exception {
        keys = keys == null ? "" : keys.replace("\\n", "\n");
        String name = "fkeq_" + operation.replace('-', '_');
        TestDatabase.Database db = TestDatabase.newDatabase(name);
        DemoTable.create(db.dataSource(), "public", "passage", 3, 2000, LocalDate.of(2024, 3, 3));
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE cameras (id varchar(64) PRIMARY KEY)");
            st.execute("INSERT INTO cameras SELECT DISTINCT camera_id FROM passage WHERE camera_id IS NOT NULL");
            st.execute("ALTER TABLE passage ADD CONSTRAINT passage_camera_fkey FOREIGN KEY (camera_id) REFERENCES cameras (id)"
                    + " ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED");
            // one day's partition has a key of its own, not the parent's
            st.execute("CREATE TABLE kentekens (kenteken text PRIMARY KEY)");
            st.execute("INSERT INTO kentekens SELECT DISTINCT kenteken FROM passage_20240302 WHERE kenteken IS NOT NULL");
            st.execute("ALTER TABLE passage_20240302 ADD CONSTRAINT day_two_kenteken FOREIGN KEY (kenteken) REFERENCES kentekens ON DELETE CASCADE");
            // comments on the keys: the parent's, a partition's own, and one on a partition's copy of the parent's key
            st.execute("COMMENT ON CONSTRAINT passage_camera_fkey ON passage IS 'every camera is registered'");
            st.execute("COMMENT ON CONSTRAINT day_two_kenteken ON passage_20240302 IS 'day two''s own; checked'");
            st.execute("COMMENT ON CONSTRAINT passage_camera_fkey ON passage_20240303 IS 'day three'");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, name + "_ref");
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute(plainSql);
        }
        Path job = Files.createTempFile("fkeq", ".yaml");
        Files.writeString(job, "name: fkeq\ntable: passage\noperation: " + operation + "\n" + keys + "\nworkers: 2\n");
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);

        try (Connection ours = db.connect(); Connection theirs = ref.connect()) {
            assertThat(CatalogSnapshot.rows(ours, "passage")).hasSize(3 * 2000).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "passage"));
            List<String> catalog = CatalogSnapshot.full(ours, "passage");
            assertThat(catalog).filteredOn(l -> l.startsWith("constraint-meta ") && l.contains("FOREIGN KEY")).hasSize(1 + 8 + 1); // the parent, 3 days and 5 empty days ahead, day two's own
            assertThat(catalog).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "passage"));
            assertThat(actionTriggers(ours)).containsExactlyElementsOf(actionTriggers(theirs));
        }
    }

    /**
     * {@code cam int → bigint} where {@code cam} references {@code cameras(id)}: the key is rebuilt on the new
     * column (each partition's built and validated before contract, the parent's attaching them at contract),
     * as the blocking ALTER rebuilds it.
     */
    @org.junit.jupiter.api.Test
    void theRetypedColumnsForeignKeyIsRebuiltAsTheBlockingAlterRebuildsIt() throws Exception {
        TestDatabase.Database db = ForeignKeyRewriteTest.withCameras("fkeq_retype");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            // the blocking ALTER keeps a rebuilt key's comment, on the parent and on a partition
            st.execute("COMMENT ON CONSTRAINT ev_cam_fkey ON ev IS 'cameras; registered'");
            st.execute("COMMENT ON CONSTRAINT ev_cam_fkey ON ev_20240302 IS 'day two'");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "fkeq_retype_ref");
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE ev ALTER COLUMN cam TYPE bigint");
        }
        Path job = Files.createTempFile("fkeq", ".yaml");
        Files.writeString(job, "name: fkeq\ntable: ev\noperation: alter-column-type\ncolumn: cam\ntype: bigint\nworkers: 2\n");
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);
        try (Connection ours = db.connect(); Connection theirs = ref.connect()) {
            assertThat(CatalogSnapshot.rows(ours, "ev")).hasSize(4 * 4000).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            List<String> catalog = CatalogSnapshot.full(ours, "ev");
            assertThat(catalog).filteredOn(l -> l.startsWith("constraint-meta ") && l.contains("FOREIGN KEY")).hasSize(1 + 4)
                    .allMatch(l -> l.contains("ev_cam_fkey FOREIGN KEY (cam) REFERENCES cameras(id) validated true"));
            assertThat(catalog).contains("column ev.cam bigint").containsExactlyElementsOf(CatalogSnapshot.full(theirs, "ev"));
            assertThat(ForeignKeyRewriteTest.foreignKeys(ours.createStatement())).allMatch(k -> k.endsWith("valid attached") || k.endsWith("valid top"));
        }
    }

    /** The referenced tables' RI triggers, by table, function and timing: what the keys' actions run. */
    static List<String> actionTriggers(Connection c) throws Exception {
        List<String> lines = new java.util.ArrayList<>();
        try (Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery("SELECT tgrelid::regclass || ' ' || tgfoid::regproc"
                + " || ' ' || tgdeferrable || ' ' || tginitdeferred || ' ' || tgenabled::text FROM pg_trigger"
                + " WHERE tgrelid IN (SELECT oid FROM pg_class WHERE relname IN ('cameras', 'kentekens')) ORDER BY 1")) {
            while (rs.next()) {
                lines.add(rs.getString(1));
            }
        }
        return lines;
    }
}
