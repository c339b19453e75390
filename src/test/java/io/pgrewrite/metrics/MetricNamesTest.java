package io.pgrewrite.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.LocalDate;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pgrewrite.cli.ExitCodes;
import io.pgrewrite.testsupport.CliRun;
import io.pgrewrite.testsupport.Tables;
import io.pgrewrite.testsupport.TestDatabase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A dashboard is built on the metric names and tags: after a job, its meters are all {@code pgrewrite.*},
 * tagged with {@code job} and {@code table} and nothing else (no partition), and they add up to what the
 * job did. Spring Batch's own step meters lose the partition suffix of {@code rewrite:<partition>}.
 */
class MetricNamesTest {

    @TempDir
    Path dir;

    @Test
    void namesTagsAndFiguresOfAJob() throws Exception {
        TestDatabase.Database db = TestDatabase.newDatabase("metrics");
        try (Connection c = db.connect()) {
            Tables.daily(c, "public", "ev", LocalDate.of(2024, 3, 1), 2, 1000);
        }
        Path job = dir.resolve("m.yaml");
        Files.writeString(job, "name: metered\ntable: ev\noperation: alter-column-type\ncolumn: massa\ntype: integer\n");
        CliRun run = CliRun.run(db, "run", job.toString());
        assertThat(run.exitCode()).as(run.toString()).isEqualTo(ExitCodes.OK);

        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (JobMeters meters = new JobMeters(db.dataSource())) {
            meters.bindTo(registry);
            meters.refresh();
            assertThat(meters.jobKeys()).containsExactly("metered@public.ev");

            Set<String> names = registry.getMeters().stream().map(m -> m.getId().getName()).collect(Collectors.toCollection(TreeSet::new));
            assertThat(names).containsAll(JobMeters.names());
            for (String state : JobProgress.STATES) {
                assertThat(names).contains("pgrewrite.partitions." + state);
            }
            for (Meter m : registry.getMeters()) {
                assertThat(m.getId().getName()).startsWith("pgrewrite.");
                if (m.getId().getName().equals("pgrewrite.throttle.value")) { // one per signal: the only third tag
                    assertThat(m.getId().getTags()).as(m.getId().getName()).hasSize(3)
                            .contains(Tag.of("job", "metered"), Tag.of("table", "public.ev"));
                    assertThat(JobMeters.THROTTLE_SIGNALS).contains(m.getId().getTag("signal"));
                    assertThat(((io.micrometer.core.instrument.Gauge) m).value()).as("not throttled now").isNaN();
                    continue;
                }
                assertThat(m.getId().getTags()).as(m.getId().getName())
                        .containsExactlyInAnyOrder(Tag.of("job", "metered"), Tag.of("table", "public.ev"));
            }
            assertThat(registry.find("pgrewrite.throttle.value").gauges()).hasSize(JobMeters.THROTTLE_SIGNALS.size());
            assertThat(registry.get("pgrewrite.rows.copied").functionCounter().count()).isEqualTo(2000);
            assertThat(registry.get("pgrewrite.bytes.copied").functionCounter().count()).isGreaterThan(0);
            assertThat(registry.get("pgrewrite.partitions.done").gauge().value()).isEqualTo(2);
            assertThat(registry.get("pgrewrite.partitions.pending").gauge().value()).isZero();
            assertThat(registry.get("pgrewrite.swap.lock.hold").functionTimer().count()).isEqualTo(2);
            assertThat(registry.get("pgrewrite.swap.lock.hold").functionTimer().totalTime(java.util.concurrent.TimeUnit.MILLISECONDS)).isGreaterThan(0);
            assertThat(registry.get("pgrewrite.swap.lock.retries").functionCounter().count()).isZero();
            assertThat(registry.get("pgrewrite.disk.extra.inflight").gauge().value()).isZero();
            assertThat(registry.get("pgrewrite.copy.rate").gauge().value()).isZero(); // nothing copying now
        }

        // The names as Prometheus shows them, as the README lists them.
        io.micrometer.prometheusmetrics.PrometheusMeterRegistry prometheus = new io.micrometer.prometheusmetrics.PrometheusMeterRegistry(
                io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT);
        try (JobMeters meters = new JobMeters(db.dataSource())) {
            meters.bindTo(prometheus);
            meters.refresh();
            String scrape = prometheus.scrape();
            String tags = "{job=\"metered\",table=\"public.ev\"}";
            assertThat(scrape).contains("pgrewrite_rows_copied_total" + tags + " 2000", "pgrewrite_bytes_copied_bytes_total" + tags,
                    "pgrewrite_partitions_done" + tags + " 2", "pgrewrite_partitions_pending" + tags + " 0",
                    "pgrewrite_copy_rate_rows_per_second" + tags, "pgrewrite_copy_eta_seconds" + tags,
                    "pgrewrite_swap_lock_wait_seconds_count" + tags + " 2", "pgrewrite_swap_lock_hold_seconds_sum" + tags,
                    "pgrewrite_swap_lock_retries_total" + tags + " 0", "pgrewrite_disk_extra_inflight_bytes" + tags,
                    "pgrewrite_disk_extra_peak_bytes" + tags);
        }
    }

    @Test
    void springBatchStepMetersLoseThePartition() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        registry.config().meterFilter(MetricsConfiguration.PARTITION_OUT_OF_STEP_NAMES);
        registry.timer("spring.batch.step", "spring.batch.step.name", "rewrite:ev_20240301", "spring.batch.step.job.name", "rewrite").record(java.time.Duration.ofMillis(5));
        registry.timer("spring.batch.step", "spring.batch.step.name", "rewrite:ev_20240302", "spring.batch.step.job.name", "rewrite").record(java.time.Duration.ofMillis(7));
        registry.timer("spring.batch.step", "spring.batch.step.name", "copy", "spring.batch.step.job.name", "rewrite-partition").record(java.time.Duration.ofMillis(1));
        assertThat(registry.find("spring.batch.step").timers()).hasSize(2);
        assertThat(registry.get("spring.batch.step").tag("spring.batch.step.name", "rewrite").timer().count()).isEqualTo(2);
        assertThat(registry.get("spring.batch.step").tag("spring.batch.step.name", "copy").timer().count()).isEqualTo(1);
    }
}
