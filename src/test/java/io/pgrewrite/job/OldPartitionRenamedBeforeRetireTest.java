package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
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
import org.junit.jupiter.api.Test;

/**
 * The pgrewrite process is killed right after the first day's swap, before its retire. The DBA renames that day's
 * {@code ev_20240301__old} to keep it, and creates a table of their own under the freed name. {@code restart}
 * retires the day without touching either by name: their table is as they made it, the kept one holds the day's
 * original rows without the capture trigger, and the job completes with no capture function or change log left
 * (before, retire dropped the table of that name, and failed on the function the renamed table's trigger still used).
 */
class OldPartitionRenamedBeforeRetireTest {

    @Test
    void restartRetiresTheDayAndLeavesBothTablesAlone() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("old_renamed_before_retire");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 500);
            st.execute("ALTER TABLE ev ALTER COLUMN massa SET NOT NULL, ALTER COLUMN massa SET DEFAULT 7");
        }
        Path job = Files.createTempFile("old-renamed", ".yaml");
        Files.writeString(job, CrashWindowsTest.JOB);
        String day = CrashWindowsTest.killAt(db, "after-swap", job).split(" ")[2];
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            st.execute("ALTER TABLE " + day + "__old RENAME TO " + day + "_backup");
            st.execute("CREATE TABLE " + day + "__old (keep_me text)");
            st.execute("INSERT INTO " + day + "__old VALUES ('mine')");
        }

        CliRun restart = CliRun.run(db, "restart", String.valueOf(CrashWindowsTest.lastExecution(db)));
        assertThat(restart.exitCode()).as(restart.toString()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM " + day + "__old WHERE keep_me = 'mine'")).isOne();
            assertThat(one(st, "SELECT count(*) FROM " + day + "_backup")).isEqualTo(500);
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(1500);
            // The kept table is the DBA's now: it keeps the shadow column it had at the swap, and nothing else of the job's.
            assertThat(AbandonAfterAKillTest.leftovers(st)).containsExactly("column massa__pgrewrite");
        }
    }
}
