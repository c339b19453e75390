package io.pgrewrite.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
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
 * A DBA analyzed the whole passage table last night, so every column of every day has statistics. After
 * a type change (or a compact) by pgrewrite, every column that has statistics after the blocking ALTER
 * (or VACUUM FULL) on an identical copy has them too: the planner's estimates for a filter on
 * {@code straat} are as good the next morning. On PostgreSQL 18 the statistics of the columns whose
 * values the rewrite did not change are P's own, copied: a value the DBA set on P comes through as set.
 */
class StatisticsEquivalenceTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "alter-column-type|column: massa_ledig_voertuig\\ntype: integer|ALTER TABLE passage ALTER COLUMN massa_ledig_voertuig TYPE integer USING massa_ledig_voertuig::integer",
        "compact||VACUUM FULL passage",
    })
    void everyColumnThatHadStatisticsHasThemAfterTheRewrite(String operation, String keys, String plainSql) throws Exception {
        keys = keys == null ? "" : keys.replace("\\n", "\n");
        String suffix = operation.replace('-', '_');
        TestDatabase.Database db = TestDatabase.newDatabase("stats_" + suffix);
        DemoTable.create(db.dataSource(), "public", "passage", 3, 2000, LocalDate.of(2024, 3, 3));
        boolean pg18 = false;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ANALYZE passage"); // the parent's inherited statistics and every partition's own, every column
            try (ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int >= 180000")) {
                rs.next();
                pg18 = rs.getBoolean(1);
            }
            if (pg18) {
                // Autovacuum off on this day (a storage parameter the rewrite carries over): the restored
                // statistics do not reset the change counter, so autovacuum would sample the day again later.
                st.execute("ALTER TABLE passage_20240302 SET (autovacuum_enabled = false)");
                // A value no ANALYZE of these rows would produce: it survives only if it is copied.
                st.execute("SELECT pg_restore_attribute_stats('schemaname', 'public', 'relname', 'passage_20240302',"
                        + " 'attname', 'straat', 'inherited', false, 'null_frac', 0.123::real)");
            }
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "statsref_" + suffix);
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute(plainSql);
        }
        Path job = Files.createTempFile("stats", ".yaml");
        Files.writeString(job, "name: st\ntable: passage\noperation: " + operation + "\n" + keys + "\nworkers: 2\n");
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);

        try (Connection ours = db.connect(); Connection theirs = ref.connect()) {
            List<String> expected = CatalogSnapshot.statistics(theirs, "passage");
            assertThat(expected).as("the blocking statement keeps the statistics of the columns it does not change")
                    .contains("stats passage_20240302.straat", "stats passage_20240302.extra_data");
            assertThat(CatalogSnapshot.statistics(ours, "passage")).containsAll(expected);
            if (pg18) {
                try (Statement st = ours.createStatement(); ResultSet rs = st.executeQuery("SELECT null_frac FROM pg_stats"
                        + " WHERE tablename = 'passage_20240302' AND attname = 'straat' AND NOT inherited")) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getFloat(1)).as("copied by pg_restore_attribute_stats, not sampled again").isEqualTo(0.123f);
                }
            }
        }
    }
}
