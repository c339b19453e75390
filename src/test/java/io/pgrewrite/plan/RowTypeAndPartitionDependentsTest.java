package io.pgrewrite.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator plans jobs on tables that something outside them refers to in a way the rewrite would not carry:
 * rows of the table's (or a partition's) row type stored in another table, and objects that depend on a partition
 * itself. Each is refused before anything changes, named, with what to do; once it is out of the way the job plans.
 */
class RowTypeAndPartitionDependentsTest {

    static TestDatabase.Database db;

    @TempDir
    Path dir;

    @BeforeAll
    static void database() {
        db = TestDatabase.newDatabase("dependents");
    }

    private CliRun plan(String yaml) throws Exception {
        Path f = Files.createTempFile(dir, "job", ".yaml");
        Files.writeString(f, "name: t\n" + yaml);
        return CliRun.run(db, "plan", f.toString());
    }

    private static void sql(String... statements) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            for (String s : statements) {
                st.execute(s);
            }
        }
    }

    /**
     * {@code holder.r} holds rows of w10: PostgreSQL's ALTER … TYPE refuses ("column "holder.r" uses its row type");
     * pgrewrite's new column would have left {@code (r).massa} NULL in every one of them. Through a domain and an
     * array too. The other operations leave such values as PostgreSQL's own ADD and DROP COLUMN do: planned.
     */
    @Test
    void rowsOfTheTableStoredInAnotherTableRefuseARetype() throws Exception {
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "w10", LocalDate.of(2024, 3, 1), 2, 10);
        }
        sql("CREATE TABLE holder (r w10)", "INSERT INTO holder SELECT w FROM w10 w LIMIT 3",
                "CREATE DOMAIN w10_row AS w10", "CREATE TABLE holder_list (rs w10_row[])");
        String retype = "table: w10\noperation: alter-column-type\ncolumn: massa\ntype: integer\n";
        CliRun r = plan(retype);
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("column r of table holder", "column rs of table holder_list (through type w10_row)",
                "hold rows of w10 as values (its row type)", "would lose theirs", "Drop that column, or change it to another type");
        for (String other : new String[] {"operation: compact\n", "operation: drop-column\ncolumn: extra\n",
                "operation: add-column\ncolumn: massa2\ntype: integer\nusing: massa * 2\n"}) {
            CliRun planned = plan("table: w10\n" + other);
            assertThat(planned.exitCode()).as(planned.toString()).isEqualTo(ExitCodes.OK);
        }
        sql("DROP TABLE holder", "DROP TABLE holder_list");
        CliRun after = plan(retype);
        assertThat(after.exitCode()).as(after.toString()).isEqualTo(ExitCodes.OK);
        assertThat(after.out()).contains("no column stores w10's row type");
    }

    /**
     * A partition's row type goes with it to {@code P__old} at the swap, for every operation: a column of it (here
     * inside a composite type), a function taking it. compact failed at retire, and {@code holder2.r} ended typed
     * {@code P__old}.
     */
    @Test
    void whatUsesAPartitionsRowTypeRefusesEveryOperation() throws Exception {
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "w11", LocalDate.of(2024, 3, 1), 2, 10);
        }
        sql("CREATE TABLE holder2 (r w11_20240301)", "INSERT INTO holder2 SELECT p FROM w11_20240301 p LIMIT 3",
                "CREATE TYPE w11_wrap AS (day w11_20240302, note text)", "CREATE TABLE holder3 (y w11_wrap)",
                "CREATE FUNCTION w11_weight(w11_20240302) RETURNS int LANGUAGE sql AS 'SELECT $1.massa::int'");
        CliRun r = plan("table: w11\noperation: compact\n");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(r.err()).contains("column r of table holder2 (w11_20240301)", "column day of composite type w11_wrap (w11_20240302)",
                "column y of table holder3 (through column day of composite type w11_wrap) (w11_20240302)",
                "function w11_weight(w11_20240302) (w11_20240302)", "use the row type of the partition named",
                "renamed with it to <partition>__old", "Drop them, or make them use w11's row type");
        CliRun oneDay = plan("table: w11\noperation: compact\npartitions:\n  from: 2024-03-02\n");
        assertThat(oneDay.exitCode()).as(oneDay.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(oneDay.err()).contains("w11_weight").doesNotContain("holder2");
        sql("DROP TABLE holder2", "DROP TABLE holder3", "DROP TYPE w11_wrap", "DROP FUNCTION w11_weight");
        CliRun after = plan("table: w11\noperation: compact\n");
        assertThat(after.exitCode()).as(after.toString()).isEqualTo(ExitCodes.OK);
        assertThat(after.out()).contains("nothing uses a partition's row type");
    }

    /**
     * A view on one day reads {@code P__old} after its swap (rows the application no longer writes to), and retire
     * cannot drop it; so does a materialized view or a {@code BEGIN ATOMIC} function; a rule on the day, or a sequence
     * owned by its column, would go with {@code P__old} at retire. Refused for every operation, named. What the swap
     * carries (the day's own index, CHECK, default, policy, extended statistics) is not.
     */
    @Test
    void objectsOnAPartitionItselfRefuseEveryOperation() throws Exception {
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "w17", LocalDate.of(2024, 3, 1), 2, 10);
        }
        sql("CREATE VIEW w17_first_day AS SELECT id, massa FROM w17_20240301",
                "CREATE MATERIALIZED VIEW w17_counts AS SELECT count(*) FROM w17_20240302",
                "CREATE FUNCTION w17_rows() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM w17_20240302; END",
                "CREATE RULE w17_keep AS ON DELETE TO w17_20240302 DO INSTEAD NOTHING",
                "CREATE SEQUENCE w17_seq OWNED BY w17_20240301.id",
                "CREATE INDEX w17_day_label ON w17_20240301 (label)", "CREATE STATISTICS w17_day_stats ON id, label FROM w17_20240301",
                "ALTER TABLE w17_20240301 ADD CONSTRAINT w17_day_small CHECK (label <> '')",
                "ALTER TABLE w17_20240301 ALTER COLUMN label SET DEFAULT 'day'",
                "ALTER TABLE w17_20240301 ENABLE ROW LEVEL SECURITY", "CREATE POLICY w17_day_all ON w17_20240301 USING (true)");
        for (String job : new String[] {"operation: compact\n", "operation: alter-column-type\ncolumn: massa\ntype: integer\n"}) {
            CliRun r = plan("table: w17\n" + job);
            assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(r.err()).contains("view w17_first_day (on w17_20240301)", "materialized view w17_counts (on w17_20240302)",
                    "function w17_rows() (on w17_20240302)", "rule w17_keep on table w17_20240302 (on w17_20240302)",
                    "sequence w17_seq (on w17_20240301)", "depend on the partition named itself, not on w17",
                    "Make them use w17 instead").doesNotContain("w17_day_label", "w17_day_stats", "w17_day_small", "w17_day_all");
        }
        sql("DROP VIEW w17_first_day", "DROP MATERIALIZED VIEW w17_counts", "DROP FUNCTION w17_rows",
                "DROP RULE w17_keep ON w17_20240302", "DROP SEQUENCE w17_seq");
        CliRun after = plan("table: w17\noperation: compact\n");
        assertThat(after.exitCode()).as(after.toString()).isEqualTo(ExitCodes.OK);
        assertThat(after.out()).contains("nothing else depends on a partition");
    }
}
