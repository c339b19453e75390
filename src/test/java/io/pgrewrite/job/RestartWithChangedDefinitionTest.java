package io.pgrewrite.job;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run of {@code code text → integer} fails on a row that does not convert. Before restarting, the
 * operator edits the file (issue 9, defect 3: {@code restart} re-read the YAML but never re-planned).
 * A change to what the run already rests on ({@code type}, {@code name}) is refused by {@code restart}
 * and by {@code run}, naming the key and what to do, and nothing changes; a new {@code using} that does
 * not type-check is refused by the server; a fixed {@code using} with more workers and another pause is
 * taken, said so, and the job completes.
 */
class RestartWithChangedDefinitionTest {

    static final String START = "name: code-to-int\ntable: ev\noperation: alter-column-type\ncolumn: code\n";

    @TempDir
    Path dir;

    @Test
    void onlyKeysThatPaceTheWorkMayChange() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("restart_changed");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 3, 300);
            st.execute("ALTER TABLE ev ADD COLUMN code text");
            st.execute("UPDATE ev SET code = (id % 1000)::text");
            st.execute("UPDATE ev SET code = '12a' WHERE id = 1000100");
        }
        Path job = dir.resolve("code.yaml");
        Files.writeString(job, START + "type: integer\n");
        CliRun first = CliRun.run(db, "run", job.toString());
        assertThat(first.exitCode()).as(first.toString()).isEqualTo(ExitCodes.JOB_FAILED);
        long id = executionId(first);
        long executions = executions(db);

        Files.writeString(job, START + "type: bigint\nworkers: 2\n");
        for (String[] command : new String[][] {{"restart", String.valueOf(id)}, {"run", job.toString()}}) {
            CliRun r = CliRun.run(db, command);
            assertThat(r.exitCode()).as(command[0] + "\n" + r).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(r.err()).contains("Execution " + id + " of job code-to-int on public.ev started with a different"
                    + " definition: type has changed in " + job, "Put it back to continue it (`pgrewrite restart " + id + "`)",
                    "`pgrewrite abandon " + id + " --cleanup`", "A restart may change only workers, copy.*, swap.*",
                    "Nothing was changed.").doesNotContain("workers has");
        }
        Files.writeString(job, START.replace("code-to-int", "code-to-integer") + "type: integer\n");
        CliRun renamed = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(renamed.exitCode()).as(renamed.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(renamed.err()).contains("name has changed");

        Files.writeString(job, START + "type: integer\nusing: code + 1\n");
        CliRun untyped = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(untyped.exitCode()).as(untyped.toString()).isEqualTo(ExitCodes.PRECONDITION);
        assertThat(untyped.err()).contains("using type-checks", "does not type-check against ev", "operator does not exist");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev_20240302 WHERE code = '12a'")).isEqualTo(1);
            assertThat(executions(db)).as(CliRun.run(db, "status").out()).isEqualTo(executions); // no new execution
        }

        Files.writeString(job, START + "type: integer\nusing: \"CASE WHEN code ~ '^[0-9]+$' THEN code::integer END\"\n"
                + "workers: 2\ncopy:\n  pause: 5ms\n");
        CliRun fixed = CliRun.run(db, "restart", String.valueOf(id));
        assertThat(fixed.exitCode()).as(fixed.toString()).isEqualTo(ExitCodes.OK);
        assertThat(fixed.out()).contains("Changed since execution " + id + " started, applied from now on: using, workers, copy.pause");
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM ev WHERE code IS NULL")).isEqualTo(1);
            assertThat(one(st, "SELECT count(*) FROM ev WHERE code = id % 1000")).isEqualTo(899);
        }
    }

    private static long executions(TestDatabase.Database db) throws Exception {
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            return one(st, "SELECT count(*) FROM pgrewrite.batch_job_execution");
        }
    }

    private static long executionId(CliRun r) {
        Matcher m = Pattern.compile("Execution (\\d+): ").matcher(r.out());
        assertThat(m.find()).as(r.toString()).isTrue();
        return Long.parseLong(m.group(1));
    }
}
