package io.pgrewrite.cli;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A monitoring script runs {@code status} every minute, and a DBA runs {@code plan} against a database
 * pgrewrite never ran on: both answer from a plain connection. Neither creates schema pgrewrite, and neither
 * starts the Spring context, the JobRepository, Flyway, Spring Batch, Quartz, Spring Integration or a web
 * server (the classes the JVM loaded say so), which is what made every command pay 3–4 s of start-up.
 */
class ReadOnlyCommandsStartNothingTest {

    /**
     * Classes that load only when a part starts: the Spring context, the JobRepository and Batch's
     * configuration, a Quartz scheduler, Flyway, Spring Integration, the web server, Security, Micrometer.
     * (A few Batch and Quartz types load without any of that: the verifier reads the worker and scheduler
     * commands' signatures when picocli builds the command line.)
     */
    static final List<String> HEAVY = List.of("org.springframework.boot.SpringApplication ",
            "org.springframework.context.support.AbstractApplicationContext ", "org.springframework.batch.core.repository.",
            "org.springframework.batch.core.configuration.", "org.quartz.impl.", "org.flywaydb.", "org.springframework.integration.",
            "org.apache.catalina.", "org.springframework.security.", "io.micrometer.");

    @TempDir
    Path dir;

    @Test
    void statusOfADatabasePgrewriteNeverRanOnListsNothingAndCreatesNothing() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("status_fresh");

        CliRun list = CliRun.run(db, "status");
        assertThat(list.exitCode()).as(list.toString()).isEqualTo(ExitCodes.OK);
        assertThat(list.out().lines().toList()).as(list.out()).hasSize(1).allMatch(l -> l.startsWith("id "));
        CliRun json = CliRun.run(db, "status", "--json");
        assertThat(json.out().replaceAll("\\s", "")).isEqualTo("[]");
        CliRun one = CliRun.run(db, "status", "1");
        assertThat(one.exitCode()).as(one.toString()).isEqualTo(ExitCodes.NOTHING_TO_DO);
        assertThat(one.err()).contains("No pgrewrite execution 1.");

        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgrewrite'")).as("schema pgrewrite").isZero();
        }
    }

    @Test
    void statusAndPlanLoadNoneOfTheHeavyParts() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("read_only_light");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 100);
        }
        Path job = dir.resolve("ev.yaml");
        Files.writeString(job, "name: ev-int\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
        // A job ran before, so status reads the JobRepository's tables (the Spring context made them).
        Path compact = dir.resolve("compact.yaml");
        Files.writeString(compact, "name: ev-compact\ntable: ev\noperation: compact\nworkers: 1\n");
        CliRun ran = CliRun.run(db, "run", compact.toString());
        assertThat(ran.exitCode()).as(ran.toString()).isEqualTo(ExitCodes.OK);

        for (List<String> command : List.of(List.of("status"), List.of("status", "--json"), List.of("status", "1"),
                List.of("plan", job.toString()), List.of("plan", job.toString(), "--dry-run"))) {
            Path classes = dir.resolve("classes-" + String.join("-", command).replaceAll("[^a-z0-9-]", "") + ".txt");
            List<String> args = new ArrayList<>(command);
            args.addAll(List.of(db.cliOptions()));
            CliRun run = JvmProcess.runToEnd(List.of("-Xlog:class+load=info:file=" + classes), Map.of(
                    "PGREWRITE_LOG_FILE", dir.resolve("pgrewrite.log").toString()), 120, args.toArray(String[]::new));
            assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);
            assertThat(run.out()).isNotEmpty();
            List<String> loaded = Files.readAllLines(classes);
            assertThat(loaded).as("classes loaded by %s", command).anyMatch(l -> l.contains(" org.postgresql.Driver "));
            for (String heavy : HEAVY) {
                assertThat(loaded).as("%s loaded %s", command, heavy).noneMatch(l -> l.contains(" " + heavy));
            }
        }
    }
}
