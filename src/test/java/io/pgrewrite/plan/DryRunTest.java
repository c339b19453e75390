package io.pgrewrite.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A DBA reads every statement a run would issue before letting it loose: {@code plan --dry-run}
 * prints them, and the database is exactly as it was afterwards.
 */
class DryRunTest {

    static TestDatabase.Database db;

    @BeforeAll
    static void table() throws Exception {
        db = TestDatabase.newDatabase("dryrun");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 200);
        }
        CliRun.makeSchema(db); // pgrewrite's own schema exists from here on
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "alter-column-type|column: massa\\ntype: integer|ADD COLUMN IF NOT EXISTS \"massa__pgrewrite\" integer|RENAME COLUMN \"massa__pgrewrite\" TO \"massa\"",
        "compact|storage:\\n  fillfactor: 80|WITH (fillfactor = 80)|ANALYZE \"public\".\"ev_20240301\"",
        "compact|statistics: before-swap|VACUUM (ANALYZE, PARALLEL 0) \"public\".\"ev_20240301__rw\"|ATTACH PARTITION",
        "drop-column|column: extra|DROP COLUMN IF EXISTS \"extra\"|INSERT INTO \"public\".\"ev_20240301__rw\" (\"id\", \"at\", \"massa\", \"label\")",
        "backfill|set:\\n  label: upper(label)|CAST((\\nupper(label)\\n) AS text)|ATTACH PARTITION",
    })
    void printsEveryStatementAndChangesNothing(String operation, String keys, String expected1, String expected2) throws Exception {
        keys = keys.replace("\\n", "\n");
        expected1 = expected1.replace("\\n", "\n");
        Path job = Files.createTempFile("dry", ".yaml");
        Files.writeString(job, "name: dry\ntable: ev\noperation: " + operation + "\n" + keys + "\n");
        List<String> before = everything();
        CliRun r = CliRun.run(db, "plan", job.toString(), "--dry-run");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("-- capture", "CREATE TRIGGER \"pgrewrite_capture\"",
                "CREATE TABLE \"public\".\"ev_20240301__rw\" (LIKE \"public\".\"ev_20240301\"",
                "INSERT INTO \"public\".\"ev_20240301__rw\"", "CREATE UNIQUE INDEX", "PRIMARY KEY USING INDEX",
                "ADD CONSTRAINT \"pgrewrite_bound\" CHECK", "LOCK TABLE ONLY \"public\".\"ev\" IN ACCESS EXCLUSIVE MODE",
                "DETACH PARTITION \"public\".\"ev_20240301\"", "ATTACH PARTITION \"public\".\"ev_20240301\" FOR VALUES FROM",
                "DROP TABLE IF EXISTS \"public\".\"ev_20240301__old\"", "SET LOCAL lock_timeout = '200ms'", expected1, expected2);
        assertThat(everything()).containsExactlyElementsOf(before);
    }

    /** Every relation, column, trigger and function outside the system schemas, and pgrewrite's rows. */
    private static List<String> everything() throws Exception {
        List<String> all = new ArrayList<>();
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            all.addAll(CatalogSnapshot.of(c, "ev"));
            all.addAll(CatalogSnapshot.rows(c, "ev"));
            for (String sql : List.of(
                    "SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                            + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1",
                    "SELECT tgrelid::regclass || ' ' || tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1",
                    "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                            + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
                    "SELECT 'state ' || count(*) FROM pgrewrite.partition_state",
                    "SELECT 'reservations ' || count(*) FROM pgrewrite.disk_reservation",
                    "SELECT 'executions ' || count(*) FROM pgrewrite.batch_job_execution")) {
                try (ResultSet rs = st.executeQuery(sql)) {
                    while (rs.next()) {
                        all.add(rs.getString(1));
                    }
                }
            }
        }
        return all;
    }
}
