package io.pgrewrite.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * An operator's {@code using:} turns one value per partition into something that is not an integer.
 * {@code run} says so in a few lines on stderr — which partition, which row, what to fix and how to
 * continue, and where the stack trace went — with the plan alone on stdout. {@code status ID} of the
 * failed execution names each failed partition and its row, not Spring Batch's "Partition handler
 * returned an unsuccessful step".
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FailedRowStoryTest {

    @TempDir
    static Path dir;

    TestDatabase.Database db;
    CliRun run;
    Path log;

    @BeforeAll
    void runAJobWhoseUsingFailsOnARow() throws Exception {
        db = TestDatabase.newDatabase("failed_row");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 500);
        }
        Path job = dir.resolve("bad-using.yaml");
        Files.writeString(job, "name: bad-using\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "using: \"(CASE WHEN massa = 7 THEN 'x' ELSE massa::text END)::integer\"\nworkers: 1\n");
        log = dir.resolve("pgrewrite.log");
        List<String> args = new ArrayList<>(List.of("run", job.toString()));
        args.addAll(List.of(db.cliOptions()));
        run = JvmProcess.runToEnd(List.of(), Map.of("PGREWRITE_LOG_FILE", log.toString()), 300, args.toArray(String[]::new));
        System.out.println("run with a failing using:\n" + run);
    }

    @Test
    void runSaysWhatWhichAndWhatNextInAFewLines() throws Exception {
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.JOB_FAILED);
        List<String> err = run.err().lines().filter(l -> !l.isBlank()).toList();
        assertThat(err).as(run.err()).hasSizeLessThanOrEqualTo(8);
        assertThat(run.err()).doesNotContain("\tat ", "Exception", "Caused by")
                .contains("ev_20240301", "row (id=", "does not become integer", "Fix 'using:'", "pgrewrite restart",
                        "Stack trace in " + log);
        assertThat(run.out()).contains("Preconditions:").doesNotContain(" INFO ", " ERROR ", "\tat ");
        assertThat(Files.readString(log)).as("the whole story is in the log file").contains("\tat ", "RowFailedException");
    }

    @Test
    void statusNamesTheFailedPartitionsAndTheirRows() {
        CliRun list = CliRun.run(db, "status");
        String id = list.out().lines().skip(1).findFirst().orElseThrow().trim().split("\\s+")[0];
        CliRun status = CliRun.run(db, "status", id);
        System.out.println("status of the failed execution:\n" + status.out());
        assertThat(status.exitCode()).as(status.toString()).isEqualTo(ExitCodes.OK);
        assertThat(status.out()).doesNotContain("Partition handler returned", "Exception")
                .containsPattern("Failed: ev_20240301: row \\(id=\\d+, at=[^)]*\\) value '7' of massa does not become integer")
                .containsPattern("Failed: ev_20240302: row \\(id=\\d+, at=[^)]*\\) value '7' of massa does not become integer")
                .contains("`pgrewrite restart " + id + "`");
        CliRun json = CliRun.run(db, "status", id, "--json");
        assertThat(json.out()).contains("\"reason\" : \"ev_20240301: row (id=");
    }
}
