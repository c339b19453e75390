package io.pgrewrite.swap;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.List;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.job.FaultPoints;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A partition was copied and verified; before the swap, something changes it where the capture trigger
 * cannot see: a retention job TRUNCATEs the day (as the table's owner), or someone disables the
 * partition's triggers, writes a row and enables them again. The swap must not put the stale copy in
 * place (the truncated day would come back, the row would be lost): it notices under its lock, copies
 * the partition again, and the job ends with exactly what the blocking ALTER would give on the changed
 * table.
 */
class ChangesBehindCaptureTest {

    static final int DAYS = 2;
    static final int ROWS = 2000;
    static final String DAY = "ev_20240301";

    @ParameterizedTest
    @ValueSource(strings = {"truncate", "disable-enable", "disable-enable-always"})
    void aChangeTheTriggerDidNotSeeMakesTheSwapCopyAgain(String change) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("behind_" + change.replace('-', '_'));
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
        }
        Path job = Files.createTempFile("behind", ".yaml");
        Files.writeString(job, "name: behind\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\n");

        long expectedDay;
        String output;
        try (JvmProcess run = JvmProcess.start("run", List.of("-D" + FaultPoints.ANNOUNCE + "=swap:before-lock",
                "-Dpgrewrite.test.announce-ms=3000"), db, "run", job.toString())) {
            assertThat(run.await(l -> l.startsWith("PGREWRITE-REACHED swap:before-lock"), 180)).endsWith(DAY);
            // Verified and about to swap: now the change nobody logs.
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                switch (change) {
                    case "truncate" -> {
                        st.execute("TRUNCATE " + DAY); // a retention job, as the table's owner
                        expectedDay = 0;
                    }
                    case "disable-enable" -> {
                        st.execute("ALTER TABLE " + DAY + " DISABLE TRIGGER ALL");
                        st.execute("INSERT INTO ev (id, at, massa) VALUES (-1, '2024-03-01 12:00', 7)");
                        st.execute("ALTER TABLE " + DAY + " ENABLE TRIGGER ALL");
                        expectedDay = ROWS + 1;
                    }
                    default -> {
                        // Even put back exactly as it was (ALWAYS), the trigger missed the row.
                        st.execute("ALTER TABLE " + DAY + " DISABLE TRIGGER pgrewrite_capture");
                        st.execute("INSERT INTO ev (id, at, massa) VALUES (-1, '2024-03-01 12:00', 7)");
                        st.execute("ALTER TABLE " + DAY + " ENABLE ALWAYS TRIGGER pgrewrite_capture");
                        expectedDay = ROWS + 1;
                    }
                }
            }
            assertThat(run.waitFor(180)).as(run.output()).isEqualTo(ExitCodes.OK);
            output = run.output();
        }

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev WHERE at < '2024-03-02'")).isEqualTo(expectedDay);
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(expectedDay + ROWS);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE id = -1 AND massa = 7")).isEqualTo(expectedDay > ROWS ? 1 : 0);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE id > 0 AND massa = (id % 1000000) % 3000")).isEqualTo(expectedDay
                    - (expectedDay > ROWS ? 1 : 0) + ROWS);
            try (ResultSet rs = st.executeQuery("SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
                    + " WHERE attrelid = 'ev'::regclass AND attname = 'massa'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("integer");
            }
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.partition_state WHERE state = 'retired'")).isEqualTo(DAYS);
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname ~ '__(rw|old)$'")).isZero();
        }
        assertThat(output).contains(DAY + ": not swapped, because").contains("copied again from scratch");
    }
}
