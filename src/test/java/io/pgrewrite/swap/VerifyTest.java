package io.pgrewrite.swap;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;

import io.pgrewrite.copy.Capture;
import io.pgrewrite.definition.JobDefinitions;
import io.pgrewrite.pg.LockRetry;
import io.pgrewrite.pg.SqlRunner;
import io.pgrewrite.plan.Catalog;
import io.pgrewrite.plan.PartitionWork;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.StatementLog;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * verify catches a copy that differs from its partition — a changed value, one jsonb value, a missing row, a row
 * too many — and forgives only the rows whose keys still wait in the change log (the swap replays those); whether
 * it reads the two sides one after the other (a small partition) or at once on two connections.
 */
class VerifyTest {

    @Test
    void aCopyThatDiffersFailsVerification() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("verify");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 500);
        }
        CliRun.makeSchema(db);
        var ds = db.dataSource();
        JdbcTemplate jdbc = new JdbcTemplate(ds);
        TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(ds));
        SqlRunner sql = SqlRunner.live(jdbc);
        var def = JobDefinitions.parse("name: v\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n", null);
        // as after expand: the shadow column exists, filled for no row yet
        jdbc.execute("ALTER TABLE ev ADD COLUMN massa__pgrewrite integer");
        PartitionWork w = PartitionWork.load(new Catalog(jdbc), def, "ev_20240301");
        new Capture(sql, new LockRetry(tx, sql, java.time.Duration.ofMillis(200), 3)).install(w.names(), w.table());
        for (Verify verify : java.util.List.of(new Verify(sql, tx), new Verify(sql, tx, 0))) { // one after the other, at once
            jdbc.execute("DROP TABLE IF EXISTS ev_20240301__rw");
            jdbc.execute("TRUNCATE " + w.names().qLog());
            jdbc.execute("CREATE TABLE ev_20240301__rw AS SELECT id, at, massa, label, extra, massa::integer AS massa__pgrewrite FROM ev_20240301");
            differencesFail(jdbc, w, verify);
        }
    }

    private static void differencesFail(JdbcTemplate jdbc, PartitionWork w, Verify verify) {
        assertThat(verify.verify(w).ok()).as(verify.verify(w).describe()).isTrue();

        // one jsonb value of one row differs, the row's other columns equal: every column is compared
        jdbc.update("UPDATE ev_20240301__rw SET extra = extra || '{\"g\": 0}' WHERE id = 11");
        Verify.Result jsonb = verify.verify(w);
        assertThat(jsonb.ok()).isFalse();
        assertThat(jsonb.describe()).contains("MISMATCH", "500 rows in the partition, 500 in the copy", "checksums differ");
        jdbc.update("UPDATE ev_20240301__rw SET extra = jsonb_build_object('g', id) WHERE id = 11");
        assertThat(verify.verify(w).ok()).isTrue();

        jdbc.update("UPDATE ev_20240301__rw SET massa__pgrewrite = massa__pgrewrite + 1 WHERE id = 7");
        Verify.Result changed = verify.verify(w);
        assertThat(changed.ok()).isFalse();
        assertThat(changed.describe()).contains("MISMATCH", "500 rows in the partition, 500 in the copy", "checksums differ");

        // the same row changed at the source since: its key is in the log, so the difference is forgiven
        jdbc.update("UPDATE ev SET label = 'changed' WHERE id = 7");
        assertThat(verify.verify(w).ok()).isTrue();

        jdbc.update("DELETE FROM ev_20240301__rw WHERE id = 8"); // row 7 stays out of both counts: its key is logged
        assertThat(verify.verify(w).describe()).contains("499 rows in the partition, 498 in the copy (-1)");
        jdbc.update("INSERT INTO ev_20240301__rw SELECT id, at, massa, label, extra, massa::integer FROM ev_20240301 WHERE id = 8");
        jdbc.update("INSERT INTO ev_20240301__rw SELECT id, at, massa, label, extra, massa::integer FROM ev_20240301 WHERE id = 9");
        assertThat(verify.verify(w).describe()).contains("in the copy (1)");
    }

    @Test
    void aBackfillsExpressionsAreProvedImmutableOnceARunNotOnceAPartition() throws Exception {
        // 365 small partitions once paid a temporary table of the parent's columns each, to learn what the
        // first one had learnt: which expression is immutable (compared) and which is not (left out).
        TestDatabase.Database db = TestDatabase.newDatabase("verify_once");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 200);
        }
        CliRun.makeSchema(db);
        StatementLog log = new StatementLog(db.dataSource());
        JdbcTemplate jdbc = new JdbcTemplate(log.dataSource());
        TransactionTemplate tx = new TransactionTemplate(new DataSourceTransactionManager(log.dataSource()));
        SqlRunner sql = SqlRunner.live(jdbc);
        var def = JobDefinitions.parse("name: v\ntable: ev\noperation: backfill\nset:\n  label: \"label || '!'\"\n"
                + "  extra: \"jsonb_build_object('r', random())\"\n", null);
        Verify verify = new Verify(sql, tx);
        log.clear();
        for (String day : java.util.List.of("ev_20240301", "ev_20240302")) {
            PartitionWork w = PartitionWork.load(new Catalog(jdbc), def, day);
            new Capture(sql, new LockRetry(tx, sql, java.time.Duration.ofMillis(200), 3)).install(w.names(), w.table());
            jdbc.execute("CREATE TABLE " + day + "__rw AS SELECT id, at, massa, label || '!' AS label, extra FROM " + day);
            Verify.Result r = verify.verify(w);
            assertThat(r.ok()).as(r.describe()).isTrue();
            assertThat(r.excluded()).as("random() is not immutable: left out").containsExactly("extra");
        }
        assertThat(log.countStartingWith("CREATE TEMP TABLE pgrewrite_probe")).as("one probe per expression, for both partitions")
                .isEqualTo(2);
        assertThat(log.count(Verify.HASH_FUNCTIONS)).as("hash functions looked up once").isEqualTo(1);

        // The parent's columns change (a deploy widens one): what was learnt about the old shape is not reused.
        jdbc.execute("ALTER TABLE ev ALTER COLUMN massa TYPE integer");
        log.clear();
        PartitionWork w = PartitionWork.load(new Catalog(jdbc), def, "ev_20240301");
        jdbc.execute("DROP TABLE ev_20240301__rw");
        jdbc.execute("CREATE TABLE ev_20240301__rw AS SELECT id, at, massa, label || '!' AS label, extra FROM ev_20240301");
        assertThat(verify.verify(w).ok()).isTrue();
        assertThat(log.countStartingWith("CREATE TEMP TABLE pgrewrite_probe")).isEqualTo(2);
        assertThat(log.count(Verify.HASH_FUNCTIONS)).isEqualTo(1);
    }
}
