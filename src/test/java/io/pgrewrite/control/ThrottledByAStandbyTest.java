package io.pgrewrite.control;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.metrics.JobMeters;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.StreamingStandby;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A primary with a real streaming standby. The job watches the standby's replay lag in bytes and in time.
 * First pgrewrite's role cannot see the standby's positions (no pg_monitor): plan refuses and names the
 * GRANT, rather than run unthrottled. Granted, the job runs; mid-run the standby stops replaying (it still
 * receives WAL) and the primary writes a few MB: the copy holds at its next chunk boundary, no swap starts,
 * and {@code status} (and the gauge pgrewrite.throttled) says it is throttled by replication-lag-bytes and its value. The operator lifts the
 * byte limit and sets a time limit with {@code pgrewrite set}: the job stays held, now by replication-lag
 * in seconds. Replay resumes: the job goes on by itself, completes, and the standby has the rewritten table.
 */
class ThrottledByAStandbyTest {

    static final int DAYS = 2;
    static final int ROWS = 12000;

    @TempDir
    Path dir;

    @Test
    void holdsWhileTheStandbyFallsBehind() throws Exception {
        try (StreamingStandby cluster = StreamingStandby.start()) {
            TestDatabase.Database db = cluster.newDatabase("lag");
            try (Connection c = db.connect(); Statement st = c.createStatement()) {
                Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), DAYS, ROWS);
            }
            Path job = dir.resolve("lag.yaml");
            Files.writeString(job, "name: lag\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n"
                    + "copy: {chunk-rows: 500, pause: 200ms}\n"
                    + "throttle: {replication-lag-bytes: 1MB, replication-lag: 1h, check-every: 200ms}\n");

            CliRun refused = CliRun.run(db, "plan", job.toString());
            assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(ExitCodes.PRECONDITION);
            assertThat(refused.err() + refused.out()).contains("throttle.replication-lag, throttle.replication-lag-bytes need to see"
                    + " other sessions and standbys", "GRANT pg_monitor TO \"pgrewrite_owner\"").doesNotContain("Exception");

            try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
                st.execute("GRANT pg_monitor TO " + TestDatabase.OWNER);
            }
            CompletableFuture<CliRun> run = CompletableFuture.supplyAsync(() -> CliRun.run(db, "run", job.toString()));
            long id = Watch.copying(db);

            cluster.pauseReplay();
            try (Connection c = db.connectAsSuperuser(); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE filler AS SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 4000) g"); // ~5 MB of WAL
            }
            Watch.until("the sampler sees the standby behind", 30, () -> Watch.number(db, "SELECT count(*) FROM pgrewrite.job_control"
                    + " WHERE throttle_signal = 'replication-lag-bytes' AND throttle_value > 1048576") == 1);
            long held = Watch.standsStill(db, 2);
            assertThat(held).isLessThan((long) DAYS * ROWS);
            assertThat(Watch.swapped(db)).isZero();
            CliRun status = CliRun.run(db, "status", String.valueOf(id));
            System.out.println("status while the standby is behind:\n" + status.out());
            assertThat(status.out()).contains("STARTED", "Copy rate: - (copies held: see Controls); ETA: -;").containsPattern("Controls: throttled: replication-lag-bytes = \\d+ bytes"
                    + " \\(max 1048576 bytes, since ");

            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            try (JobMeters meters = new JobMeters(db.dataSource())) {
                meters.bindTo(registry);
                meters.refresh();
                assertThat(registry.get("pgrewrite.throttled").gauge().value()).isEqualTo(1);
                // which signal and its value: the lag in bytes, over its 1 MB maximum; the other signals NaN
                assertThat(registry.get("pgrewrite.throttle.value").tag("signal", "replication-lag-bytes").gauge().value())
                        .isGreaterThan(1048576);
                assertThat(registry.get("pgrewrite.throttle.value").tag("signal", "query").gauge().value()).isNaN();
            }

            CliRun set = CliRun.run(db, "set", String.valueOf(id), "throttle.replication-lag-bytes=1TB", "throttle.replication-lag=2s");
            assertThat(set.exitCode()).as(set.toString()).isEqualTo(ExitCodes.OK);
            Watch.until("the time lag holds it now", 30, () -> Watch.number(db, "SELECT count(*) FROM pgrewrite.job_control"
                    + " WHERE throttle_signal = 'replication-lag' AND throttle_value > 2") == 1);
            assertThat(Watch.rowsCopied(db)).isEqualTo(held);
            status = CliRun.run(db, "status", String.valueOf(id));
            System.out.println("status while the standby's replay lag is over 2 s:\n" + status.out());
            assertThat(status.out()).containsPattern("Controls: throttled: replication-lag = [0-9.]+ s \\(max 2 s, since ");

            cluster.resumeReplay();
            CliRun done = run.get(120, TimeUnit.SECONDS);
            assertThat(done.exitCode()).as(done.toString()).isEqualTo(ExitCodes.OK);
            assertThat(done.err() + done.out()).doesNotContain("Exception");
            assertThat(Watch.number(db, "SELECT count(DISTINCT id) FROM ev")).isEqualTo((long) DAYS * ROWS);
            assertThat(Watch.number(db, "SELECT count(*) FROM pgrewrite.job_control WHERE throttle_signal IS NOT NULL")).isZero();

            String lsn;
            try (Connection c = db.connect(); Statement st = c.createStatement();
                    var rs = st.executeQuery("SELECT pg_current_wal_lsn()")) {
                rs.next();
                lsn = rs.getString(1);
            }
            try (Connection s = cluster.connectToStandby(db.name()); Statement st = s.createStatement()) {
                Watch.until("the standby replays the rewrite", 30, () -> Tables.one(st,
                        "SELECT (pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn)::int") == 1);
                assertThat(Tables.one(st, "SELECT count(*) FROM ev")).isEqualTo((long) DAYS * ROWS);
                assertThat(Tables.one(st, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'ev'::regclass AND attname = 'massa'"
                        + " AND atttypid = 'integer'::regtype")).isEqualTo(1);
            }
        }
    }
}
