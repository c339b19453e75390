package io.pgrewrite.definition;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The example jobs in {@code jobs/} load as the README describes them. */
class ExampleJobsTest {

    static Stream<Path> exampleJobs() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("jobs"))) {
            List<Path> yaml = files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
            return yaml.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("exampleJobs")
    void everyExampleLoadsAndIsNamedAfterItsFile(Path file) {
        JobDefinition job = JobDefinitions.load(file);

        assertThat(job.file()).isEqualTo(file);
        assertThat(job.name() + ".yaml").isEqualTo(file.getFileName().toString());
        assertThat(job.table()).isEqualTo("passage");
    }

    @Test
    void thereAreSevenExamples() throws IOException {
        assertThat(exampleJobs()).extracting(f -> f.getFileName().toString()).containsExactly(
                "passage-add-column.yaml", "passage-backfill.yaml", "passage-compact.yaml",
                "passage-drop-column.yaml", "passage-id-to-bigint.yaml", "passage-massa-to-integer.yaml", "passage-nightly.yaml");
    }

    @Test
    void nightlyRunsInAWindow() {
        JobDefinition job = JobDefinitions.load(Path.of("jobs/passage-nightly.yaml"));

        assertThat(job.schedule().cron()).isEqualTo("0 0 1 * * ?");
        assertThat(job.schedule().window()).isEqualTo(java.time.Duration.ofHours(4));
        assertThat(job.schedule().zone()).isEqualTo(java.time.ZoneId.of("Europe/Amsterdam"));
        assertThat(job.schedule().maxRelaunches()).isEqualTo(2);
    }

    @Test
    void theReadmeDocumentsEveryKey() throws IOException {
        String readme = Files.readString(Path.of("jobs/README.md"));

        assertThat(Binder.TOP_KEYS).allSatisfy(key -> assertThat(readme).contains("| `" + key));
        assertThat(List.of("partitions.from", "partitions.to", "copy.chunk-rows", "copy.pause", "swap.lock-timeout",
                "swap.max-attempts", "disk.max-extra", "schedule.cron", "schedule.window", "schedule.zone",
                "schedule.max-relaunches", "swap.window")).allSatisfy(key -> assertThat(readme).contains("| `" + key + "` |"));
        assertThat(Binder.THROTTLE_KEYS).allSatisfy(key -> assertThat(readme).contains("| `throttle." + key + "` |"));
    }

    @Test
    void massaToInteger() {
        JobDefinition job = JobDefinitions.load(Path.of("jobs/passage-massa-to-integer.yaml"));

        assertThat(job.operation()).isEqualTo(Operation.ALTER_COLUMN_TYPE);
        assertThat(job.column()).isEqualTo("massa_ledig_voertuig");
        assertThat(job.type()).isEqualTo("integer");
        assertThat(job.using()).isEqualTo("\"massa_ledig_voertuig\"::integer");
        assertThat(job.workers()).isEqualTo(2);
        assertThat(job.swap().lockTimeout()).isEqualTo(Duration.ofMillis(200));
        assertThat(job.disk().maxExtraBytes()).isEqualTo(2L << 30);
        assertThat(job.jobKey()).isEqualTo("passage-massa-to-integer@public.passage");
    }

    @Test
    void backfill() {
        JobDefinition job = JobDefinitions.load(Path.of("jobs/passage-backfill.yaml"));

        assertThat(job.operation()).isEqualTo(Operation.BACKFILL);
        assertThat(job.set()).containsExactly(Map.entry("passage_id", "id"));
        assertThat(job.workers()).isEqualTo(2);
    }

    @Test
    void compact() {
        JobDefinition job = JobDefinitions.load(Path.of("jobs/passage-compact.yaml"));

        assertThat(job.operation()).isEqualTo(Operation.COMPACT);
        assertThat(job.storage()).containsExactly(Map.entry("fillfactor", "100"));
        assertThat(job.workers()).isEqualTo(2);
        assertThat(job.schedule()).isNull();
    }

    @Test
    void addColumn() {
        JobDefinition job = JobDefinitions.load(Path.of("jobs/passage-add-column.yaml"));

        assertThat(job.operation()).isEqualTo(Operation.ADD_COLUMN);
        assertThat(job.column()).isEqualTo("kenteken_hash");
        assertThat(job.type()).isEqualTo("text");
        assertThat(job.using()).isEqualTo("md5(kenteken)");
    }

    @Test
    void dropColumn() {
        JobDefinition job = JobDefinitions.load(Path.of("jobs/passage-drop-column.yaml"));

        assertThat(job.operation()).isEqualTo(Operation.DROP_COLUMN);
        assertThat(job.column()).isEqualTo("extra_data");
    }
}
