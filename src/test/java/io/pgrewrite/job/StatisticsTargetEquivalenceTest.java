package io.pgrewrite.job;

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
import io.pgrewrite.demo.DemoTable;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The DBA keeps the planner's statistics of {@code straat} (16 streets) and {@code massa_ledig_voertuig} small:
 * {@code SET STATISTICS 10} on the passage table, so every day samples them at 10 (at most 10 most common values,
 * 11 histogram bounds). The blocking ALTER keeps each column's target, the retyped column's too, and its next ANALYZE
 * samples at it. After pgrewrite the days have the same targets and their statistics are as small: the copy carries
 * P's targets before it is sampled (the copy's VACUUM (ANALYZE), or the ANALYZE after the swap for the shadow column,
 * which got the retyped column's target only at contract). Before, a column sampled on the copy had up to the default
 * target's 100 entries.
 */
class StatisticsTargetEquivalenceTest {

    static final List<String> COLUMNS = List.of("straat", "massa_ledig_voertuig");

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {
        "alter-column-type|after-swap|column: massa_ledig_voertuig\\ntype: integer|ALTER TABLE passage ALTER COLUMN massa_ledig_voertuig TYPE integer",
        "alter-column-type|before-swap|column: massa_ledig_voertuig\\ntype: integer|ALTER TABLE passage ALTER COLUMN massa_ledig_voertuig TYPE integer",
        "compact|before-swap||VACUUM FULL passage",
    })
    void theRewrittenDaysAreSampledAtTheColumnsTargets(String operation, String statistics, String keys, String plainSql) throws Exception {
        keys = keys == null ? "" : keys.replace("\\n", "\n");
        String suffix = operation.replace('-', '_') + "_" + statistics.replace('-', '_');
        TestDatabase.Database db = TestDatabase.newDatabase("sttg_" + suffix);
        DemoTable.create(db.dataSource(), "public", "passage", 3, 2000, LocalDate.of(2024, 3, 3));
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            for (String col : COLUMNS) {
                st.execute("ALTER TABLE passage ALTER COLUMN " + col + " SET STATISTICS 10"); // the parent and every day
            }
            st.execute("ANALYZE passage");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "sttgref_" + suffix);
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute(plainSql);
            st.execute("ANALYZE passage"); // the blocking ALTER's next ANALYZE (it leaves the retyped column without statistics)
        }
        Path job = Files.createTempFile("sttg", ".yaml");
        Files.writeString(job, "name: sttg\ntable: passage\noperation: " + operation + "\n" + keys + "\nstatistics: " + statistics
                + "\nworkers: 2\n");
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);

        try (Connection ours = db.connect(); Connection theirs = ref.connect()) {
            assertThat(CatalogSnapshot.full(ours, "passage")).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "passage"));
            List<String> expected = sizes(theirs);
            assertThat(expected).as("the blocking ALTER's days, sampled at 10").hasSize(3 * COLUMNS.size())
                    .allMatch(s -> number(s, "most common") <= 10 && number(s, "bounds") <= 11);
            assertThat(sizes(ours)).as("the rewritten days' statistics").containsExactlyElementsOf(expected);
        }
    }

    private static int number(String s, String label) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(label + " (\\d+)").matcher(s);
        return m.find() ? Integer.parseInt(m.group(1)) : Integer.MAX_VALUE;
    }

    /** Per day and column: how many most common values and histogram bounds its statistics have. */
    private static List<String> sizes(Connection c) throws Exception {
        List<String> rows = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT tablename || '.' || attname"
                + " || ' most common ' || coalesce(array_length(most_common_freqs, 1), 0)"
                + " || ' bounds ' || coalesce(array_length(histogram_bounds, 1), 0)"
                + " FROM pg_stats WHERE schemaname = 'public' AND tablename LIKE 'passage\\_2024%' AND NOT inherited"
                + " AND attname IN ('straat', 'massa_ledig_voertuig') ORDER BY 1")) {
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
        }
        return rows;
    }
}
