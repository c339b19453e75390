package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A DBA's table with extended statistics that use the column being retyped: one on the parent (with a
 * target and a comment), one of three columns on a partition (dropping the old column would leave it
 * narrowed to two), one on an expression of the column, one with an odd name, and one that does not use it. While the
 * application writes, {@code alter-column-type} ends with the same statistics objects as the blocking
 * ALTER, which rebuilds them on the retyped column: same names, kinds, columns, expressions and
 * comments, and the statistics target back to the default as the ALTER leaves it.
 */
class ExtendedStatisticsEquivalenceTest {

    static final String ALTER = "ALTER TABLE ev ALTER COLUMN massa TYPE integer USING massa::integer";

    /** Each statistics object: its columns as a set (the new column is the table's last, so the definition lists it last). */
    static final String OBJECTS = "SELECT stxname || ' ' || stxrelid::regclass || ' ' || stxkind::text || ' '"
            + " || coalesce((SELECT string_agg(attname, ',' ORDER BY attname) FROM pg_attribute WHERE attrelid = stxrelid"
            + " AND attnum = ANY (stxkeys)), '-') || ' ' || coalesce(pg_get_expr(stxexprs, stxrelid), '-') || ' target '"
            + " || coalesce(stxstattarget::int, -1) || ' comment ' || coalesce(obj_description(oid, 'pg_statistic_ext'), '-')"
            + " || ' owner ' || pg_get_userbyid(stxowner) FROM pg_statistic_ext ORDER BY stxname";

    @TempDir
    Path dir;

    @Test
    void theStatisticsObjectsOnTheRetypedColumnAreRebuiltOnTheNewColumn() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("extstats");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 500);
            Tables.grantApp(c, "public.ev");
            st.execute("CREATE STATISTICS ev_massa_label (ndistinct, dependencies) ON massa, label FROM ev");
            st.execute("ALTER STATISTICS ev_massa_label SET STATISTICS 300");
            st.execute("COMMENT ON STATISTICS ev_massa_label IS 'mass by label'");
            st.execute("CREATE STATISTICS ev_20240301_three (mcv) ON id, massa, label FROM ev_20240301");
            st.execute("CREATE STATISTICS ev_20240302_double ON (massa * 2) FROM ev_20240302");
            st.execute("CREATE STATISTICS ev_20240303_other ON id, label FROM ev_20240303");
            // an odd name: quotes, a space and a semicolon must stay one quoted name in contract's DDL
            st.execute("CREATE STATISTICS \"Odd \"\"stx\"\"; DROP TABLE ev\" ON id, massa FROM ev_20240303");
            st.execute("COMMENT ON STATISTICS \"Odd \"\"stx\"\"; DROP TABLE ev\" IS 'it''s odd'");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "extstatsref");
        Path job = dir.resolve("massa.yaml");
        Files.writeString(job, "name: massa\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\ncopy:\n  chunk-rows: 200\n");

        CliRun plan = CliRun.run(db, "plan", job.toString());
        assertThat(plan.exitCode()).as(plan.toString()).isEqualTo(ExitCodes.OK);
        assertThat(plan.out()).contains("the extended statistics that use it");

        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger written = new AtomicInteger();
        AtomicReference<Throwable> appError = new AtomicReference<>();
        Thread app = new Thread(() -> {
            try (Connection c = db.connectAsApp(); Statement st = c.createStatement()) {
                for (int i = 1; !stop.get(); i++) {
                    st.execute("INSERT INTO ev (id, at, massa, label) VALUES (" + (900_000 + i) + ", '2024-03-02 12:00', 7, 'app')");
                    written.incrementAndGet();
                    Thread.sleep(20);
                }
            } catch (Throwable e) {
                appError.set(e);
            }
        }, "application");
        app.start();
        CliRun run;
        try {
            run = CliRun.run(db, "run", job.toString());
        } finally {
            stop.set(true);
            app.join(10_000);
        }
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);
        assertThat(appError.get()).as("the application's inserts").isNull();
        assertThat(written.get()).isPositive();

        try (Connection c = ref.connect(); Statement st = c.createStatement()) {
            st.execute(ALTER);
        }
        try (Connection ours = db.connect(); Connection theirs = ref.connect(); Statement st = ours.createStatement()) {
            List<String> objects = lines(ours, OBJECTS);
            assertThat(objects).hasSize(5).containsExactlyElementsOf(lines(theirs, OBJECTS));
            assertThat(String.join("\n", objects)).contains("ev_massa_label ev {d,f} label,massa", "ev_20240301_three ev_20240301 {m} id,label,massa",
                    "ev_20240302_double ev_20240302 {e} - (massa * 2)", "ev_20240303_other ev_20240303 {d,f,m} id,label",
                    "ev_massa_label ev {d,f} label,massa - target -1 comment mass by label",
                    "Odd \"stx\"; DROP TABLE ev ev_20240303 {d,f,m} id,massa - target -1 comment it's odd");
            assertThat(CatalogSnapshot.full(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.full(theirs, "ev"));
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(3 * 500 + written.get());
            assertThat(one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'massa'"
                    + " AND atttypid = 'integer'::regtype")).isEqualTo(1);
        }
    }

    private static List<String> lines(Connection c, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }
}
