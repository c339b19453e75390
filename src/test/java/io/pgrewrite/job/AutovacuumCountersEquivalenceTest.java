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
 * A DBA analyzed the whole passage table last night and set a statistics target of her own on one day's
 * {@code straat}. After a type change (or a compact) by pgrewrite, autovacuum finds as little to redo on the
 * rewritten days as after the blocking statement on an identical copy: no day counts rows changed since its
 * last ANALYZE, so none is analyzed again in full a minute later, and the statistics targets are as the
 * blocking statement leaves them. On PostgreSQL 18, where pgrewrite copies P's statistics and samples only the
 * columns it changes (an ANALYZE with a column list, which leaves the counter alone), every copied row counted as
 * changed before: autovacuum analyzed each rewritten day again, ~1.3 CPU-s a day of the demo table. The days have
 * autovacuum off (a storage parameter both sides keep), so that nothing but the statements of each side moves
 * their counters; the counters are read once every backend of the run has ended.
 */
class AutovacuumCountersEquivalenceTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "alter-column-type|column: massa_ledig_voertuig\\ntype: integer|ALTER TABLE passage ALTER COLUMN massa_ledig_voertuig TYPE integer USING massa_ledig_voertuig::integer",
        "compact||VACUUM FULL passage",
    })
    void autovacuumHasNothingMoreToAnalyzeThanAfterTheBlockingStatement(String operation, String keys, String plainSql) throws Exception {
        keys = keys == null ? "" : keys.replace("\\n", "\n");
        String suffix = operation.replace('-', '_');
        TestDatabase.Database db = TestDatabase.newDatabase("avc_" + suffix);
        try (Connection c = db.connect(); Statement st = c.createStatement();
                java.sql.ResultSet rs = st.executeQuery("SELECT current_setting('server_version_num')::int")) {
            rs.next();
            // Seen failing on 14 in CI (10000 changed since analyze on 2 of 3 days): README Limits.
            org.junit.jupiter.api.Assumptions.assumeTrue(rs.getInt(1) >= 150000, "PostgreSQL 14's statistics collector"
                    + " receives a pooled connection's counts when that connection next reports, which can be after the ANALYZE");
        }
        // Days of ~10 MB: below 8 MB pgrewrite leaves a small day's second ANALYZE to autovacuum (cheap there).
        DemoTable.create(db.dataSource(), "public", "passage", 3, 10000, LocalDate.of(2024, 3, 3));
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ANALYZE passage");
            for (String p : days(st)) {
                st.execute("ALTER TABLE " + p + " SET (autovacuum_enabled = false)");
            }
            st.execute("ALTER TABLE passage_20240302 ALTER COLUMN straat SET STATISTICS 250");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "avcref_" + suffix);
        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute(plainSql);
        }
        Path job = Files.createTempFile("avc", ".yaml");
        Files.writeString(job, "name: avc\ntable: passage\noperation: " + operation + "\n" + keys + "\nworkers: 1\n");
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);

        try (Connection ours = db.connect(); Connection theirs = ref.connect();
                Statement o = ours.createStatement(); Statement t = theirs.createStatement()) {
            CountersAfterTheCopyTest.awaitOnlyThisBackend(o);
            CountersAfterTheCopyTest.awaitOnlyThisBackend(t);
            List<String> expected = counters(t);
            assertThat(expected).as("the blocking statement leaves the days' change counters at 0").hasSize(3)
                    .allMatch(s -> s.endsWith(" changed since analyze 0"));
            assertThat(counters(o)).as("the rewritten days, as autovacuum sees them").containsExactlyElementsOf(expected);
            assertThat(CatalogSnapshot.full(ours, "passage")).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "passage"));
        }
    }

    /** The partitions with rows. */
    private static List<String> days(Statement st) throws Exception {
        List<String> days = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT c.relname FROM pg_partition_tree('passage') t JOIN pg_class c ON c.oid = t.relid"
                + " WHERE t.isleaf AND c.reltuples > 0 ORDER BY 1")) {
            while (rs.next()) {
                days.add(rs.getString(1));
            }
        }
        return days;
    }

    /** Each day's rows changed since its last ANALYZE, the count autovacuum's ANALYZE threshold is compared with. */
    private static List<String> counters(Statement st) throws Exception {
        st.execute("SELECT pg_stat_clear_snapshot()");
        List<String> rows = new ArrayList<>();
        try (ResultSet rs = st.executeQuery("SELECT s.relname, s.n_mod_since_analyze FROM pg_stat_user_tables s"
                + " WHERE s.relname IN ('passage_20240301', 'passage_20240302', 'passage_20240303') ORDER BY 1")) {
            while (rs.next()) {
                rows.add(rs.getString(1) + " changed since analyze " + rs.getLong(2));
            }
        }
        return rows;
    }
}
