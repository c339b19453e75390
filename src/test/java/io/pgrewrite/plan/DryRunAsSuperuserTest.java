package io.pgrewrite.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.demo.DemoTable;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;

/**
 * The DBA will run pgrewrite as the server's superuser on a table with a statistics target of her own, and reads
 * the dry run first: it lists what the run does to the copy's statistics too, the target carried from P, the copy of
 * P's statistics into pg_statistic (in its locked transaction) and the change counter's reset (targets 0, ANALYZE,
 * targets back; on PostgreSQL 18 pg_restore_attribute_stats instead of pg_statistic), and the database is as it was. Before, the dry run printed none of these.
 */
class DryRunAsSuperuserTest {

    @Test
    void theDryRunListsTheStatisticsStatements() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("dry_super", TestDatabase.server().user());
        try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
            st.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC, " + TestDatabase.OWNER);
        }
        // ~10 MB: the change counter is reset from 8 MB on.
        DemoTable.create(db.superuserDataSource(), "public", "passage", 1, 10000, LocalDate.of(2024, 3, 3));
        try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE passage ALTER COLUMN straat SET STATISTICS 10");
            st.execute("ANALYZE passage");
        }
        Path job = Files.createTempFile("dry-super", ".yaml");
        Files.writeString(job, "name: drysu\ntable: passage\noperation: compact\nstatistics: before-swap\n");
        List<String> before = everything(db);
        List<String> args = new ArrayList<>(List.of("plan", job.toString(), "--dry-run"));
        args.addAll(List.of(db.cliOptions(db.server().user(), db.server().password())));
        CliRun r = CliRun.run(null, args.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.OK);
        String rw = "\"public\".\"passage_20240303__rw\"";
        assertThat(r.out()).as(r.toString()).contains(
                "ALTER TABLE " + rw + " ALTER COLUMN \"straat\" SET STATISTICS 10;",
                "ALTER COLUMN \"straat\" SET STATISTICS 0",
                "ANALYZE " + rw + ";");
        boolean pg18;
        try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
            pg18 = io.pgrewrite.testsupport.Tables.one(st, "SELECT current_setting('server_version_num')::int") >= 180000;
        }
        if (pg18) { // any owner copies with pg_restore_attribute_stats there
            assertThat(r.out()).as(r.toString()).contains("pg_restore_attribute_stats(");
        } else {
            assertThat(r.out()).as(r.toString()).contains("LOCK TABLE " + rw + " IN SHARE UPDATE EXCLUSIVE MODE;",
                    "DELETE FROM pg_statistic", "INSERT INTO pg_statistic");
        }
        assertThat(everything(db)).containsExactlyElementsOf(before);
    }

    private static List<String> everything(TestDatabase.Database db) throws Exception {
        try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
            List<String> all = new ArrayList<>(CatalogSnapshot.full(c, "passage"));
            all.add("relations " + io.pgrewrite.testsupport.Tables.one(st, "SELECT count(*) FROM pg_class WHERE relname LIKE 'passage%'"));
            all.add("statistics " + io.pgrewrite.testsupport.Tables.one(st, "SELECT count(*) FROM pg_statistic"));
            return all;
        }
    }
}
