package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CatalogSnapshot;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A day made as a table of its own and attached (its columns in another order than the parent's), with a default and a
 * NOT NULL of its own: every rewrite made its copy LIKE the parent, so the day lost both and took the parent's column
 * order, and the application's positional INSERT into the day failed, or its insert without the column stored NULL.
 * After a compact, the day's columns, defaults and NOT NULLs are as before (as after VACUUM FULL), and so are the
 * application's writes into it.
 */
class PartitionOwnColumnsTest {

    /** Written by the application's role into the day, after the job: positional, and without label. */
    static final String[] APP_WRITES = {
        "INSERT INTO ev_20240301 VALUES ('2024-03-01 10:00', 9000001, 7, 'app', NULL)",
        "INSERT INTO ev_20240301 (id, at) VALUES (9000002, '2024-03-01 11:00')"};

    @TempDir
    Path dir;

    @Test
    void aPartitionKeepsItsOwnColumnOrderDefaultsAndNotNulls() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("own_columns");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 2), 1, 500);
            st.execute("ALTER TABLE ev ALTER COLUMN label DROP NOT NULL, ALTER COLUMN label DROP DEFAULT");
            st.execute("CREATE TABLE ev_20240301 (at timestamp NOT NULL, id bigint NOT NULL, massa smallint,"
                    + " label text NOT NULL DEFAULT 'loader', extra jsonb)");
            st.execute("INSERT INTO ev_20240301 SELECT '2024-03-01'::timestamp + g * interval '1 minute', g, g, 'l' || g, NULL"
                    + " FROM generate_series(1, 500) g");
            st.execute("ALTER TABLE ev ATTACH PARTITION ev_20240301 FOR VALUES FROM ('2024-03-01') TO ('2024-03-02')");
            Tables.grantApp(c, "public.ev");
        }
        TestDatabase.Database ref = TestDatabase.cloneDatabase(db, "own_columnsref");
        Path job = dir.resolve("compact.yaml");
        Files.writeString(job, "name: compact\ntable: ev\noperation: compact\n");
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);
        for (TestDatabase.Database d : new TestDatabase.Database[] {db, ref}) {
            try (Connection c = d.connectAsApp(); Statement st = c.createStatement()) {
                for (String w : APP_WRITES) {
                    st.execute(w);
                }
            }
        }
        try (Connection ours = db.connect(); Connection theirs = ref.connect(); Statement st = ours.createStatement()) {
            assertThat(columns(ours)).isEqualTo(columns(theirs)).startsWith("at timestamp without time zone NOT NULL; id bigint NOT NULL; ");
            assertThat(CatalogSnapshot.rows(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.rows(theirs, "ev"));
            assertThat(CatalogSnapshot.of(ours, "ev")).containsExactlyElementsOf(CatalogSnapshot.of(theirs, "ev"));
            assertThat(one(st, "SELECT count(*) FROM ev_20240301 WHERE id = 9000002 AND label = 'loader'")).isEqualTo(1);
        }
    }

    /** The day's columns in order, each with its type, NOT NULL and default. */
    private static String columns(Connection c) throws Exception {
        StringBuilder b = new StringBuilder();
        try (Statement st = c.createStatement(); java.sql.ResultSet rs = st.executeQuery("SELECT a.attname, format_type(a.atttypid,"
                + " a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a LEFT JOIN pg_attrdef d"
                + " ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = 'ev_20240301'::regclass AND a.attnum > 0"
                + " AND NOT a.attisdropped ORDER BY a.attnum")) {
            while (rs.next()) {
                b.append(rs.getString(1)).append(' ').append(rs.getString(2)).append(rs.getBoolean(3) ? " NOT NULL" : "")
                        .append(rs.getString(4) == null ? "" : " DEFAULT " + rs.getString(4)).append("; ");
            }
        }
        return b.toString();
    }
}
