package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Things go wrong in the middle of a run: each fails only its partition, says why, and a restart finishes. */
class FailureStoriesTest {

    @TempDir
    Path dir;

    @Test
    void aValueThatDoesNotCastFailsItsPartitionUntilUsingIsFixed() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("cast");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 1000);
            st.execute("ALTER TABLE ev ADD COLUMN code text");
            st.execute("UPDATE ev SET code = (id % 1000)::text");
            st.execute("UPDATE ev SET code = '12a' WHERE id = 1000500");
        }
        Path job = dir.resolve("code.yaml");
        Files.writeString(job, "name: code-to-int\ntable: ev\noperation: alter-column-type\ncolumn: code\ntype: integer\n");

        CliRun first = CliRun.run(db, "run", job.toString());
        assertThat(first.exitCode()).as(first.toString()).isEqualTo(ExitCodes.JOB_FAILED);
        assertThat(first.err()).contains("ev_20240302", "id=1000500", "value '12a' of code", "integer",
                "left attached and untouched", "Fix 'using:'");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            // the failed partition: attached, no working copy, no capture left behind
            assertThat(one(st, "SELECT count(*) FROM pg_inherits WHERE inhrelid = 'ev_20240302'::regclass")).isEqualTo(1);
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname = 'ev_20240302__rw'")).isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ev_20240302'::regclass AND tgname = 'pgrewrite_capture'")).isZero();
            assertThat(one(st, "SELECT count(*) FROM ev_20240302 WHERE code = '12a'")).isEqualTo(1);
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(3000);
        }

        Files.writeString(job, "name: code-to-int\ntable: ev\noperation: alter-column-type\ncolumn: code\ntype: integer\n"
                + "using: \"CASE WHEN code ~ '^[0-9]+$' THEN code::integer END\"\n");
        CliRun second = CliRun.run(db, "run", job.toString());
        assertThat(second.exitCode()).as(second.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(3000);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE code IS NULL")).isEqualTo(1);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE code = id % 1000")).isEqualTo(2999);
            try (ResultSet rs = st.executeQuery("SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid = 'ev'::regclass AND attname = 'code'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("integer");
            }
        }

        CliRun third = CliRun.run(db, "run", job.toString());
        assertThat(third.exitCode()).isEqualTo(ExitCodes.NOTHING_TO_DO);
        assertThat(third.err()).contains("already completed", "new 'name:'");
    }

    @Test
    void aLockHeldTooLongExhaustsTheAttemptsAndNamesTheHolder() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("locked");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 500);
        }
        Path job = dir.resolve("compact.yaml");
        Files.writeString(job, "name: compact\ntable: ev\noperation: compact\nswap:\n  lock-timeout: 50ms\n  max-attempts: 2\n");
        try (Connection holder = db.connect(); Statement st = holder.createStatement()) {
            holder.setAutoCommit(false);
            st.executeQuery("SELECT count(*) /* long report */ FROM ev_20240301").close();
            CliRun r = CliRun.run(db, "run", job.toString());
            assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCodes.JOB_FAILED);
            assertThat(r.err()).contains("swap of ev_20240301", "2 attempts", "long report", "AccessShareLock granted", "idle in transaction");
            holder.rollback();
        }
        CliRun again = CliRun.run(db, "run", job.toString());
        assertThat(again.exitCode()).as(again.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(1000);
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname LIKE 'ev_%\\_\\_%'")).isZero();
        }
    }

}
