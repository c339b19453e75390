package io.pgrewrite.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import io.pgrewrite.pg.Identifiers;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An operator builds the demo passage table to try pgrewrite on: it looks like the reference table
 * (design.md §1), its rows look like camera passages, and building it again replaces it.
 */
class DemoTableTest {

    private static final LocalDate TODAY = LocalDate.of(2024, 3, 12);

    private static DataSource ds;

    @BeforeAll
    static void database() {
        ds = TestDatabase.newDatabase("demo").dataSource();
    }

    @Test
    void threeDaysOfPassagesLookLikeTheReferenceTable() throws SQLException {
        DemoTable.Result result = DemoTable.create(ds, "public", "passage", 3, 2000, TODAY);

        assertThat(result.table()).isEqualTo("passage");
        assertThat(result.partitions()).isEqualTo(3 + 5);
        assertThat(result.rows()).isEqualTo(6000);
        assertThat(result.bytes()).isGreaterThan(6000L * 1000);  // ~1 KB a row before indexes

        // One partition per day, three filled up to today and five empty days ahead, none DEFAULT.
        assertThat(strings("""
                SELECT c.relname || ':' || count(p.id)
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                LEFT JOIN passage p ON p.tableoid = c.oid
                WHERE i.inhparent = 'public.passage'::regclass
                GROUP BY c.relname ORDER BY c.relname""")).containsExactly(
                "passage_20240310:2000", "passage_20240311:2000", "passage_20240312:2000",
                "passage_20240313:0", "passage_20240314:0", "passage_20240315:0", "passage_20240316:0",
                "passage_20240317:0");
        assertThat(number("""
                SELECT count(*) FROM pg_partitioned_table pt
                WHERE pt.partrelid = 'public.passage'::regclass AND pt.partdefid <> 0""")).isZero();

        // Every row lies in the UTC day its partition is named after.
        assertThat(number("""
                SELECT count(*) FROM passage p JOIN pg_class c ON c.oid = p.tableoid
                WHERE c.relname <> 'passage_' || to_char(p.passage_at, 'YYYYMMDD')""")).isZero();

        assertThat(number("""
                SELECT count(*) FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name = 'passage'""")).isGreaterThanOrEqualTo(45);
        assertThat(strings("""
                SELECT column_name || ' ' || data_type FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name = 'passage'
                  AND column_name IN ('id', 'passage_at', 'massa_ledig_voertuig', 'brandstoffen', 'locatie')
                ORDER BY column_name""")).containsExactly(
                "brandstoffen jsonb", "id uuid", "locatie point", "massa_ledig_voertuig smallint",
                "passage_at timestamp without time zone");

        // The keys, the check and the GiST index of the reference table, on the parent and,
        // adopted, on every partition.
        assertThat(strings("""
                SELECT contype::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
                WHERE conrelid = 'public.passage'::regclass AND contype IN ('p', 'u', 'c')
                ORDER BY contype""")).containsExactly(
                "c passage_volgnummer_check CHECK ((volgnummer >= 0))",
                "p passage_pkey PRIMARY KEY (id, passage_at)",
                "u passage_passage_id_volgnummer_passage_at_key UNIQUE (passage_id, volgnummer, passage_at)");
        assertThat(strings("""
                SELECT indexname FROM pg_indexes
                WHERE schemaname = 'public' AND tablename = 'passage' AND indexdef LIKE '%USING gist (locatie)%'"""))
                .containsExactly("passage_locatie_idx");
        assertThat(number("""
                SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indexrelid = i.inhparent
                WHERE x.indrelid = 'public.passage'::regclass""")).isEqualTo(3 * 8);

        // Camera passages: mostly Dutch plates, some fields left empty, values in their domains.
        double dutch = number("SELECT count(*) FILTER (WHERE land_code = 'NL') FROM passage") / 6000.0;
        assertThat(dutch).isBetween(0.90, 0.99);
        assertThat(number("SELECT count(DISTINCT camera_id) FROM passage")).isGreaterThan(50);
        assertThat(number("SELECT count(*) FROM passage WHERE merk IS NULL")).isPositive();
        assertThat(number("SELECT count(*) FROM passage WHERE passage_id IS NULL")).isPositive();
        assertThat(number("""
                SELECT count(*) FROM passage
                WHERE massa_ledig_voertuig NOT BETWEEN 600 AND 3500 OR volgnummer <> 1
                   OR jsonb_typeof(brandstoffen) <> 'array'""")).isZero();
    }

    @Test
    void aNameThatNeedsQuotingWorks() throws SQLException {
        String schema = "Demo Schema";
        String table = "Passage Archive \"x\"";

        DemoTable.Result result = DemoTable.create(ds, schema, table, 1, 100, TODAY);

        assertThat(result.rows()).isEqualTo(100);
        assertThat(number("SELECT count(*) FROM " + Identifiers.qualified(schema, table))).isEqualTo(100);
        assertThat(number("SELECT count(*) FROM " + Identifiers.qualified(schema, table + "_20240312")))
                .isEqualTo(100);
        assertThat(number("SELECT count(*) FROM " + Identifiers.qualified(schema, table + "_20240317"))).isZero();
    }

    /** `pgrewrite demo --id integer`: the table of "ids running out", a serial id in the primary key. */
    @Test
    void anIntegerIdComesFromItsSequence() throws SQLException {
        DemoTable.Result result = DemoTable.create(ds, "public", "counted", 2, 300, TODAY, false, true);
        assertThat(result.rows()).isEqualTo(600);
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT format_type(atttypid, NULL), pg_get_expr(d.adbin, d.adrelid), pg_get_serial_sequence('counted', 'id'),"
                        + " (SELECT count(DISTINCT id) FROM counted), (SELECT max(id) FROM counted), (SELECT last_value FROM counted_id_seq),"
                        + " (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'counted'::regclass AND contype = 'p')"
                        + " FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
                        + " WHERE a.attrelid = 'counted'::regclass AND a.attname = 'id'");
                ResultSet rs = ps.executeQuery()) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("integer");
            assertThat(rs.getString(2)).isEqualTo("nextval('counted_id_seq'::regclass)");
            assertThat(rs.getString(3)).isEqualTo("public.counted_id_seq");
            assertThat(rs.getLong(4)).isEqualTo(600);
            assertThat(rs.getLong(5)).isEqualTo(600);
            assertThat(rs.getLong(6)).isEqualTo(600);
            assertThat(rs.getString(7)).isEqualTo("PRIMARY KEY (id, passage_at)");
        }
    }

    @Test
    void creatingAgainReplacesTheTable() throws SQLException {
        DemoTable.create(ds, "public", "again", 2, 500, TODAY);

        DemoTable.Result result = DemoTable.create(ds, "public", "again", 1, 300, TODAY.plusDays(1));

        assertThat(result.partitions()).isEqualTo(1 + 5);
        assertThat(result.rows()).isEqualTo(300);
        assertThat(number("SELECT count(*) FROM again")).isEqualTo(300);
        assertThat(strings("""
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'public.again'::regclass ORDER BY 1""")).first().isEqualTo("again_20240313");
    }

    /** The size the design's measurements were made at; run with {@code -Dpgrewrite.demo.big=true}. */
    @Test
    void thirtyDaysOfAHundredThousandRows() {
        assumeTrue(Boolean.getBoolean("pgrewrite.demo.big"),
                "3 GB and most of a minute: run with -Dpgrewrite.demo.big=true");
        DataSource big = TestDatabase.newDatabase("demo_big").dataSource();

        DemoTable.Result result = DemoTable.create(big, "public", "passage", 30, 100_000, TODAY);

        System.out.printf("demo table %s: %d partitions, %d rows, %d MB, %.1f s, %d bytes a row with indexes%n",
                result.table(), result.partitions(), result.rows(), result.bytes() >> 20,
                result.elapsed().toMillis() / 1000.0, result.bytes() / result.rows());
        assertThat(result.rows()).isEqualTo(3_000_000);
    }

    private static long number(String sql) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql);
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static List<String> strings(String sql) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql);
                ResultSet rs = ps.executeQuery()) {
            List<String> values = new ArrayList<>();
            while (rs.next()) {
                values.add(rs.getString(1));
            }
            return values;
        }
    }
}
