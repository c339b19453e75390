package io.pgrewrite.swap;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
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
 * A partition was copied, indexed and caught up; just before verification something makes the copy differ
 * from the partition where no change log can tell: a row of the copy is altered, or a row of the
 * partition is updated while its triggers are disabled. Verification compares every stored row, so it
 * fails the partition: the day stays attached and untouched, its copy is dropped, the job fails and says
 * to restart. (Verification skips its anti-join when the log is empty: these run down that path.)
 */
class VerifyAfterCopyTest {

    static final String DAY = "ev_20240301";

    @ParameterizedTest
    @ValueSource(strings = {"copy-row-altered", "source-row-updated-behind-capture"})
    void aDifferenceNoLogShowsFailsVerification(String change) throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("verify_after_" + change.replace('-', '_'));
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 1, 2000);
        }
        Path job = Files.createTempFile("verify-after", ".yaml");
        Files.writeString(job, "name: va\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\nworkers: 1\n");
        String output;
        try (JvmProcess run = JvmProcess.start("run", List.of("-D" + FaultPoints.ANNOUNCE + "=verify:before-snapshot",
                "-Dpgrewrite.test.announce-ms=3000"), db, "run", job.toString())) {
            assertThat(run.await(l -> l.startsWith("PGREWRITE-REACHED verify:before-snapshot"), 180)).endsWith(DAY);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                if (change.equals("copy-row-altered")) {
                    st.execute("UPDATE " + DAY + "__rw SET label = 'tampered' WHERE id = 7");
                } else {
                    st.execute("ALTER TABLE " + DAY + " DISABLE TRIGGER ALL");
                    st.execute("UPDATE " + DAY + " SET label = 'changed unseen' WHERE id = 7");
                    st.execute("ALTER TABLE " + DAY + " ENABLE TRIGGER ALL");
                }
            }
            assertThat(run.waitFor(180)).as(run.output()).isEqualTo(ExitCodes.JOB_FAILED);
            output = run.output();
        }
        assertThat(output).contains(DAY + ": verification failed", "checksums differ", "pgrewrite restart");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo(2000);
            assertThat(one(st, "SELECT count(*) FROM pg_class WHERE relname = '" + DAY + "__rw'")).as("its copy dropped").isZero();
            assertThat(one(st, "SELECT count(*) FROM pg_inherits WHERE inhrelid = '" + DAY + "'::regclass"
                    + " AND inhparent = 'ev'::regclass")).as("the day still attached, the original").isEqualTo(1);
        }
    }
}
