package io.pgrewrite.schedule;

import static io.pgrewrite.testsupport.Tables.one;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.JvmProcess;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two scheduler processes (one of them in a JVM of its own) against one database (high availability), a trigger every second: they form
 * one Quartz cluster, the job runs once (one execution, every row copied once), and the scheduler serving
 * HTTP shows the job's progress at /actuator/prometheus and its health at /actuator/health meanwhile.
 */
class TwoSchedulersTest {

    static final int DAYS = 3;
    static final int ROWS = 4000;

    @TempDir
    Path dir;

    @Test
    void twoSchedulersRunTheJobOnce() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("two_schedulers");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
        }
        Path job = dir.resolve("twice.yaml");
        Files.writeString(job, "name: twice\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                + "workers: 1\ncopy:\n  chunk-rows: 500\n  pause: 250ms\nschedule:\n  cron: \"* * * * * ?\"\n");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        CompletableFuture<CliRun> a = CompletableFuture.supplyAsync(() -> CliRun.run(db, "scheduler", job.toString(),
                "--http-port", String.valueOf(port), "--exit-when-done", "--run-for", "PT50S"));
        // The second in a JVM of its own, as in production: Quartz keeps one connection provider per scheduler name
        // per JVM, so two cluster members in one JVM would share the first one's pool, closed when it exits.
        try (JvmProcess b = JvmProcess.start("scheduler-b", java.util.List.of(), db, "scheduler", job.toString(),
                "--no-http", "--exit-when-done", "--run-for", "PT50S")) {
            whileBothRun(db, http(), port, a, b);
        }
    }

    private void whileBothRun(TestDatabase.Database db, HttpClient http, int port, CompletableFuture<CliRun> a, JvmProcess b)
            throws Exception {
        String metrics = "";
        String health = "";
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        long schedulers = 0;
        while (System.nanoTime() < deadline && (schedulers < 2 || !metrics.contains("pgrewrite_rows_copied_total{job=\"twice\""))) {
            Thread.sleep(500);
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                if (one(st, "SELECT count(*) FROM pg_tables WHERE schemaname = 'pgrewrite' AND tablename = 'qrtz_scheduler_state'") > 0) {
                    schedulers = Math.max(schedulers, one(st, "SELECT count(*) FROM pgrewrite.qrtz_scheduler_state"));
                }
            }
            try {
                metrics = get(http, port, "/actuator/prometheus");
                health = get(http, port, "/actuator/health");
            } catch (java.io.IOException e) {
                // not listening yet
            }
        }
        assertThat(schedulers).as("both schedulers checked in to the cluster").isEqualTo(2);
        assertThat(metrics).contains("pgrewrite_rows_copied_total{job=\"twice\",table=\"public.ev\"}",
                "pgrewrite_partitions_pending{job=\"twice\",table=\"public.ev\"}",
                "pgrewrite_swap_lock_hold_seconds_count{job=\"twice\",table=\"public.ev\"}",
                "pgrewrite_disk_extra_inflight_bytes{job=\"twice\",table=\"public.ev\"}");
        assertThat(health).contains("\"scheduler\"", "\"rewrite\"", "\"db\"", "\"clustered\":true");

        CliRun ra = a.get(60, TimeUnit.SECONDS);
        int rb = b.waitFor(60);
        assertThat(ra.exitCode()).as(ra.toString()).isEqualTo(ExitCodes.OK);
        assertThat(rb).as(b.output()).isEqualTo(ExitCodes.OK);
        try (Connection c = db.connect(); Statement st = c.createStatement()) {
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                    + " USING (job_instance_id) WHERE i.job_name = 'rewrite'")).as("executions of the job").isEqualTo(1);
            assertThat(one(st, "SELECT count(*) FROM pgrewrite.batch_job_execution e JOIN pgrewrite.batch_job_instance i"
                    + " USING (job_instance_id) WHERE i.job_name = 'rewrite' AND e.status = 'COMPLETED'")).isEqualTo(1);
            assertThat(one(st, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(one(st, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(one(st, "SELECT sum(rows_copied) FROM pgrewrite.partition_state")).isEqualTo((long) DAYS * ROWS);
        }
    }

    static HttpClient http() {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    }

    static String get(HttpClient http, int port, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

}
