package io.pgrewrite.cli;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.OffsetDateTime;
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
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A monitoring script reads {@code status --json}: it is JSON on stdout whatever else gets logged
 * (the embedded server's start line goes to stderr), the list and the detail use one key style
 * (camelCase) and ISO-8601 times with their offset. Executions are the job's, never a partition's
 * sub-execution, and the report uses the words status uses.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StatusJsonTest {

    @TempDir
    static Path dir;

    TestDatabase.Database db;
    CliRun run;

    @BeforeAll
    void runASmallJob() throws Exception {
        db = TestDatabase.newDatabase("status_json");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 300);
        }
        Path job = dir.resolve("compact.yaml");
        Files.writeString(job, "name: ev-compact\ntable: ev\noperation: compact\nworkers: 1\n");
        run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);
    }

    @Test
    void jsonOnTheEmbeddedServerIsJson() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        CliRun status = JvmProcess.runToEnd(List.of(), Map.of("PGREWRITE_EMBEDDED_PORT", String.valueOf(port),
                "PGREWRITE_LOG_FILE", dir.resolve("embedded.log").toString()), 300,
                "status", "--json", "--embedded-dir", dir.resolve("embedded").toString());
        assertThat(status.exitCode()).as(status.toString()).isZero();
        JsonNode list = JsonMapper.builder().build().readTree(status.out());
        assertThat(list.isArray()).as(status.out()).isTrue();
        assertThat(status.err()).contains("Embedded PostgreSQL with data in");
    }

    @Test
    void listAndDetailShareOneKeyStyleAndZonedTimes() throws Exception {
        JsonMapper mapper = JsonMapper.builder().build();
        JsonNode list = mapper.readTree(CliRun.run(db, "status", "--json").out());
        assertThat(list.size()).isEqualTo(1);
        JsonNode first = list.get(0);
        JsonNode detail = mapper.readTree(CliRun.run(db, "status", first.get("id").asText(), "--json").out());
        for (JsonNode node : List.of(first, detail)) {
            assertCamelCase(node, "");
            OffsetDateTime started = OffsetDateTime.parse(node.get("started").asText());
            OffsetDateTime ended = OffsetDateTime.parse(node.get("ended").asText());
            assertThat(ended).isAfterOrEqualTo(started);
            assertThat(node.get("jobKey").asText()).isEqualTo("ev-compact@public.ev");
        }
        assertThat(first.get("started").asText()).isEqualTo(detail.get("started").asText());
    }

    /** A copy that took less than half a second still has its rate once done (it read "-" / 0 in status). */
    @Test
    void aFinishedPartitionKeepsItsCopyRate() throws Exception {
        JsonNode detail = JsonMapper.builder().build().readTree(CliRun.run(db, "status", "1", "--json").out());
        assertThat(detail.get("partitions")).hasSize(2).allSatisfy(p -> {
            assertThat(p.get("state").asText()).isEqualTo("done");
            assertThat(p.get("rowsPerSecond").asDouble()).as(p.toString()).isPositive();
        });
    }

    @Test
    void partitionsAreNotExecutions() throws Exception {
        long top;
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            top = one(st, "SELECT max(e.job_execution_id) FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                    + " USING (job_instance_id) WHERE i.job_name = 'rewrite'");
            // A partition is one step of the execution (rewrite:P), not a job execution of its own: ids do not jump.
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.batch_job_execution")).isEqualTo(1);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.batch_step_execution WHERE step_name LIKE 'rewrite:ev_2024%'"))
                    .isEqualTo(2);
        }
        CliRun list = CliRun.run(db, "status");
        assertThat(list.out().lines().skip(1).toList()).hasSize(1).allMatch(l -> l.startsWith(top + " "));
        assertThat(run.out()).contains("Execution " + top + ": COMPLETED");
        assertThat(top).isEqualTo(1);
    }

    @Test
    void reportAndStatusUseTheSameWords() {
        List<String> reportRows = run.out().lines().filter(l -> l.startsWith("ev_2024")).toList();
        assertThat(reportRows).hasSize(2).allSatisfy(l -> assertThat(l.split("\\s+")[1]).isEqualTo("done"));
        CliRun status = CliRun.run(db, "status", CliRun.run(db, "status").out().lines().skip(1).findFirst().orElseThrow().split("\\s+")[0]);
        assertThat(status.out()).doesNotContain("retired", "swapped");
        assertThat(status.out().lines().filter(l -> l.startsWith("ev_2024")).toList()).hasSize(4) // table and report
                .allSatisfy(l -> assertThat(l.split("\\s+")[1]).isEqualTo("done"));
    }

    private static void assertCamelCase(JsonNode node, String path) {
        if (node.isObject()) {
            for (var e : node.properties()) {
                if (!path.endsWith("partitionsByState")) {
                    assertThat(e.getKey()).as(path + "." + e.getKey()).matches("[a-z][a-zA-Z0-9]*");
                }
                assertCamelCase(e.getValue(), path + "." + e.getKey());
            }
        } else if (node.isArray()) {
            node.forEach(n -> assertCamelCase(n, path + "[]"));
        }
    }
}
