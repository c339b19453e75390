package io.pgrewrite.swap;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.time.Duration;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.copy.Capture;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.Catalog;
import io.pgrewrite.plan.PartitionWork;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * verify compares every kind of column, whichever way it hashes it: a boolean by three constants (also the retyped
 * column, computed from its expression on the partition's side), date and a domain over it, bytea and money in an
 * array of their type, point by its coordinates, and by their text the types without a hash function (box, json)
 * or whose function takes no plain value (an enum, an array). In each column of a copy, one value changed to
 * another row's, the values of two rows swapped, and one value set to NULL (a boolean false, for one) each fail verification;
 * so do two numeric columns both changed from 0 to NULL in one row.
 */
class VerifyEveryKindOfColumnTest {

    /** Per column: the expression for row id {@code g}, with NULLs and extreme values among the rows. */
    private static final List<String[]> COLUMNS = List.of(
            new String[] {"flag", "boolean", "CASE g % 3 WHEN 0 THEN true WHEN 1 THEN false END"},
            new String[] {"day", "date", "CASE WHEN g = 5 THEN 'infinity' WHEN g = 6 THEN '-infinity' WHEN g % 7 = 0 THEN NULL"
                    + " ELSE date '2024-01-01' + g END"},
            new String[] {"born", "birth", "CASE WHEN g % 5 = 0 THEN NULL ELSE date '1990-01-01' - g END"},
            new String[] {"spot", "point", "CASE WHEN g % 4 = 0 THEN NULL ELSE point(g * 0.5, -g) END"},
            new String[] {"raw", "bytea", "CASE WHEN g % 6 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END"},
            new String[] {"price", "money", "(g * 1.25)::numeric::money"},
            new String[] {"tags", "integer[]", "ARRAY[g, g % 5]"},
            new String[] {"area", "box", "box(point(g, 0), point(0, g))"},
            new String[] {"mood", "mood", "(ARRAY['sad', 'ok', 'happy']::mood[])[g % 3 + 1]"},
            new String[] {"doc", "json", "json_build_object('g', g)"},
            new String[] {"yes", "text", "CASE g % 3 WHEN 0 THEN 'yes' WHEN 1 THEN 'no' END"},
            new String[] {"n1", "numeric", "CASE WHEN g % 2 = 0 THEN 0 ELSE g END"},
            new String[] {"n2", "numeric", "CASE WHEN g % 2 = 0 THEN 0 ELSE -g END"});

    @Test
    void aDifferenceInAnyKindOfColumnFailsVerification() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("verify_kinds");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 300);
        }
        CliRun.makeSchema(db);
        var ds = db.dataSource();
        JdbcTemplate jdbc = new JdbcTemplate(ds);
        TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(ds));
        SqlRunner sql = SqlRunner.live(jdbc);
        jdbc.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
        jdbc.execute("CREATE DOMAIN birth AS date");
        for (String[] col : COLUMNS) {
            jdbc.execute("ALTER TABLE ev ADD COLUMN " + col[0] + " " + col[1]);
            jdbc.update("UPDATE ev SET " + col[0] + " = v FROM (SELECT g, " + col[2] + " AS v FROM (SELECT id::int AS g FROM ev) i) x"
                    + " WHERE x.g = ev.id");
        }
        var def = JobDefinitions.parse("name: v\ntable: ev\noperation: alter-column-type\ncolumn: yes\ntype: boolean\n", null);
        jdbc.execute("ALTER TABLE ev ADD COLUMN yes__pgrewrite boolean"); // as after expand, filled for no row yet
        PartitionWork w = PartitionWork.load(new Catalog(jdbc), def, "ev_20240301");
        new Capture(sql, new LockRetry(tx, sql, Duration.ofMillis(200), 3)).install(w.names(), w.table());
        for (Verify verify : List.of(new Verify(sql, tx), new Verify(sql, tx, 0))) { // one after the other, at once
            jdbc.execute("DROP TABLE IF EXISTS ev_20240301__rw");
            jdbc.execute("CREATE TABLE ev_20240301__rw AS SELECT id, at, massa, label, extra, flag, day, born, spot, raw, price,"
                    + " tags, area, mood, doc, yes, n1, n2, yes::boolean AS yes__pgrewrite FROM ev_20240301");
            assertThat(verify.verify(w).ok()).as(verify.verify(w).describe()).isTrue();
            for (String column : List.of("flag", "day", "born", "spot", "raw", "price", "tags", "area", "mood", "doc",
                    "yes__pgrewrite")) {
                // rows 10 and 12 differ in every column (flag false and true, yes 'no' and 'yes'); 5's day is infinity
                for (int[] rows : List.of(new int[] {10, 12}, new int[] {5, 12})) {
                    int a = rows[0], b = rows[1];
                    String c = '"' + column + '"';
                    fails(jdbc, verify, w, column + " of row " + a + " set to row " + b + "'s",
                            "UPDATE ev_20240301__rw SET " + c + " = (SELECT " + c + " FROM ev_20240301__rw WHERE id = " + b
                                    + ") WHERE id = " + a, column, a, b);
                    fails(jdbc, verify, w, column + " of rows " + a + " and " + b + " swapped",
                            "UPDATE ev_20240301__rw r SET " + c + " = o." + c + " FROM ev_20240301__rw o WHERE (r.id, o.id) IN (("
                                    + a + ", " + b + "), (" + b + ", " + a + "))", column, a, b);
                    fails(jdbc, verify, w, column + " of row " + a + " (or " + b + " where " + a + "'s is NULL) set to NULL",
                            "UPDATE ev_20240301__rw SET " + c + " = NULL WHERE id = (SELECT min(id) FROM ev_20240301__rw"
                                    + " WHERE id IN (" + a + ", " + b + ") AND " + c + " IS NOT NULL)", column, a, b);
                }
            }
            fails(jdbc, verify, w, "spot's y of row 10 changed, its x not",
                    "UPDATE ev_20240301__rw SET spot = point(spot[0], spot[1] + 1) WHERE id = 10", "spot", 10, 10);
            // numeric's extended hash of 0 is its seed - 1: with NULL as the seed's complement, two columns both
            // changed from 0 to NULL kept the row's hash
            assertThat(jdbc.update("UPDATE ev_20240301__rw SET n1 = NULL, n2 = NULL WHERE id = 10 AND n1 = 0 AND n2 = 0")).isOne();
            Verify.Result both = verify.verify(w);
            assertThat(both.ok()).as("n1 and n2 of row 10 both 0, set to NULL: " + both.describe()).isFalse();
            jdbc.update("UPDATE ev_20240301__rw SET n1 = 0, n2 = 0 WHERE id = 10");
            assertThat(verify.verify(w).ok()).as("n1 and n2 put back").isTrue();
        }
    }

    /** The copy changed by {@code change} fails verification; put back from the partition, it passes again. */
    private static void fails(JdbcTemplate jdbc, Verify verify, PartitionWork w, String what, String change, String column,
            int a, int b) {
        String c = '"' + column + '"';
        String from = column.equals("yes__pgrewrite") ? "p.yes::boolean" : "p." + c;
        assertThat(jdbc.update(change)).as(what).isPositive();
        Verify.Result r = verify.verify(w);
        assertThat(r.ok()).as(what + ": " + r.describe()).isFalse();
        jdbc.update("UPDATE ev_20240301__rw r SET " + c + " = " + from + " FROM ev_20240301 p WHERE p.id = r.id AND r.id IN ("
                + a + ", " + b + ")");
        assertThat(verify.verify(w).ok()).as(what + ", put back").isTrue();
    }
}
