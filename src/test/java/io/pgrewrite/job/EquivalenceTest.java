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
 * For each operation, the demo table changed by pgrewrite equals an identical copy changed by the plain
 * SQL statement a DBA would have run: the same rows (compared both ways), and the same columns, types,
 * NOT NULLs, defaults, indexes, constraints, grants, owners, comments and bounds in the catalog.
 */
class EquivalenceTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "alter-column-type|column: massa_ledig_voertuig\\ntype: integer|ALTER TABLE passage ALTER COLUMN massa_ledig_voertuig TYPE integer USING massa_ledig_voertuig::integer",
        "backfill|set:\\n  passage_id: id|UPDATE passage SET passage_id = id",
        "add-column|column: kenteken_hash\\ntype: text\\nusing: md5(kenteken)|ALTER TABLE passage ADD COLUMN kenteken_hash text; UPDATE passage SET kenteken_hash = md5(kenteken)",
        "drop-column|column: extra_data|ALTER TABLE passage DROP COLUMN extra_data",
        "compact|storage:\\n  fillfactor: 90|SELECT 1",
    })
    void sameResultAsThePlainStatement(String operation, String keys, String plainSql) throws Exception {
        keys = keys.replace("\\n", "\n");
        TestDatabase.Database db = TestDatabase.newDatabase("eq_" + operation.replace('-', '_'));
        DemoTable.create(db.dataSource(), "public", "passage", 3, 2000, LocalDate.of(2024, 3, 3));
        try (Connection su = db.connectAsSuperuser(); Statement st = su.createStatement()) {
            // Creating a role needs CREATEROLE, which pgrewrite's role has not: setup, not pgrewrite's job.
            st.execute("DO $$ BEGIN CREATE ROLE pgrewrite_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
        }
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("GRANT SELECT ON passage, passage_20240302 TO pgrewrite_reader");
            st.execute("COMMENT ON TABLE passage_20240302 IS 'day two, it''s commented'");
            st.execute("ALTER TABLE passage_20240301 SET (autovacuum_enabled = false)");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "eqref_" + operation.replace('-', '_'));
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute(plainSql);
            if (operation.equals("compact")) {
                // what VACUUM FULL after ALTER TABLE … SET (fillfactor = 90) on every partition gives
                st.execute("DO $$ DECLARE p regclass; BEGIN FOR p IN SELECT inhrelid::regclass FROM pg_inherits"
                        + " WHERE inhparent = 'passage'::regclass LOOP EXECUTE format('ALTER TABLE %s SET (fillfactor = 90)', p);"
                        + " END LOOP; END $$");
            }
        }
        Path job = Files.createTempFile("eq", ".yaml");
        Files.writeString(job, "name: eq\ntable: passage\noperation: " + operation + "\n" + keys + "\nworkers: 2\n");
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);

        try (Connection ours = db.connect(); Connection theirs = ref.connect()) {
            List<String> a = CatalogSnapshot.rows(ours, "passage");
            List<String> b = CatalogSnapshot.rows(theirs, "passage");
            assertThat(a).hasSize(3 * 2000).containsExactlyElementsOf(b);
            assertThat(CatalogSnapshot.full(ours, "passage")).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "passage"));
        }
    }
}
