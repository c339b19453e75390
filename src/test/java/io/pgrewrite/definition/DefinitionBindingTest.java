package io.pgrewrite.definition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgrewrite.definition.JobDefinition.Copy;
import io.pgrewrite.definition.JobDefinition.Disk;
import io.pgrewrite.definition.JobDefinition.Schedule;
import io.pgrewrite.definition.JobDefinition.Swap;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a definition holds: the defaults of a minimal one, every key of a full one, values taken as written. */
class DefinitionBindingTest {

    private static JobDefinition parse(String yaml) {
        return JobDefinitions.parse(yaml, Path.of("jobs/x.yaml"));
    }

    @Test
    void aMinimalDefinitionGetsTheDefaults() {
        JobDefinition job = parse("name: x\ntable: passage\noperation: compact\n");

        assertThat(job.file()).isEqualTo(Path.of("jobs/x.yaml"));
        assertThat(job.schema()).isEqualTo("public");
        assertThat(job.column()).isNull();
        assertThat(job.type()).isNull();
        assertThat(job.using()).isNull();
        assertThat(job.set()).isEmpty();
        assertThat(job.storage()).isEmpty();
        assertThat(job.partitionsFrom()).isNull();
        assertThat(job.partitionsTo()).isNull();
        assertThat(job.workers()).isEqualTo(1);
        assertThat(job.copy()).isEqualTo(new Copy(20_000, Duration.ZERO));
        assertThat(job.swap()).isEqualTo(new Swap(Duration.ofMillis(200), 20));
        assertThat(job.disk()).isEqualTo(new Disk(null));
        assertThat(job.retire()).isEqualTo(Retire.DROP);
        assertThat(job.statistics()).isEqualTo(Statistics.AFTER_SWAP);
        assertThat(job.schedule()).isNull();
        assertThat(job.jobKey()).isEqualTo("x@public.passage");
    }

    @Test
    void everyKeyIsBound() {
        JobDefinition job = parse("""
                name: full.job_1
                schema: Archief
                table: My "Passage" table
                operation: backfill
                set:
                  passage_id: id
                  volgnummer: 010
                  Kenteken Land: "upper(land_code)"
                  opmerking: null
                storage: {fillfactor: 90, toast.autovacuum_enabled: off}
                partitions: {from: 2024-03-01, to: '2024-04-01'}
                workers: 64
                copy: {chunk-rows: 10_000_000, pause: 50ms}
                swap: {lock-timeout: 2s, max-attempts: 1000}
                disk: {max-extra: 20GB}
                retire: keep
                statistics: before-swap
                schedule: {cron: "0 0 1 * * ? 2030", window: 4h, zone: Europe/Amsterdam, max-relaunches: 0}
                """);

        assertThat(job.name()).isEqualTo("full.job_1");
        assertThat(job.schema()).isEqualTo("Archief");
        assertThat(job.table()).isEqualTo("My \"Passage\" table");
        assertThat(job.operation()).isEqualTo(Operation.BACKFILL);
        assertThat(job.set()).containsExactly(Map.entry("passage_id", "id"), Map.entry("volgnummer", "010"),
                Map.entry("Kenteken Land", "upper(land_code)"), Map.entry("opmerking", "null"));
        assertThat(job.storage()).containsExactly(Map.entry("fillfactor", "90"), Map.entry("toast.autovacuum_enabled", "off"));
        assertThat(job.partitionsFrom()).isEqualTo(LocalDate.of(2024, 3, 1));
        assertThat(job.partitionsTo()).isEqualTo(LocalDate.of(2024, 4, 1));
        assertThat(job.workers()).isEqualTo(64);
        assertThat(job.copy()).isEqualTo(new Copy(10_000_000, Duration.ofMillis(50)));
        assertThat(job.swap()).isEqualTo(new Swap(Duration.ofSeconds(2), 1000));
        assertThat(job.disk().maxExtraBytes()).isEqualTo(20L * 1024 * 1024 * 1024);
        assertThat(job.retire()).isEqualTo(Retire.KEEP);
        assertThat(job.statistics()).isEqualTo(Statistics.BEFORE_SWAP);
        assertThat(job.schedule()).isEqualTo(
                new Schedule("0 0 1 * * ? 2030", Duration.ofHours(4), ZoneId.of("Europe/Amsterdam"), 0));
        assertThat(job.jobKey()).isEqualTo("full.job_1@Archief.My \"Passage\" table");
    }

    @Test
    void scheduleDefaults() {
        Schedule schedule = parse("name: x\ntable: t\noperation: compact\nschedule: {cron: \"0 0 1 * * ?\"}\n").schedule();

        assertThat(schedule).isEqualTo(new Schedule("0 0 1 * * ?", null, ZoneId.of("UTC"), 3));
    }

    @Test
    void alterColumnTypeDefaultsUsingToACastOfTheQuotedColumn() {
        JobDefinition job = parse("name: x\ntable: t\noperation: alter-column-type\ncolumn: Massa \"ledig\"\ntype: integer\n");

        assertThat(job.using()).isEqualTo("\"Massa \"\"ledig\"\"\"::integer");
        assertThat(job.operation().changesShape()).isTrue();
    }

    @Test
    void alterColumnTypeKeepsAGivenUsing() {
        JobDefinition job = parse("""
                name: x
                table: t
                operation: alter-column-type
                column: massa
                type: integer
                using: "CASE WHEN massa < 0 THEN NULL ELSE massa END"
                """);

        assertThat(job.using()).isEqualTo("CASE WHEN massa < 0 THEN NULL ELSE massa END");
    }

    @Test
    void semicolonsInsideQuotesAreFine() {
        JobDefinition job = parse("""
                name: x
                table: t
                operation: add-column
                column: c
                type: text
                using: "coalesce(\\"a;b\\", 'x;y', $$;$$)"
                """);

        assertThat(job.using()).isEqualTo("coalesce(\"a;b\", 'x;y', $$;$$)");
    }

    @Test
    void sizesAndDurationsInEveryUnit() {
        assertThat(maxExtra("1234")).isEqualTo(1234L);
        assertThat(maxExtra("7B")).isEqualTo(7L);
        assertThat(maxExtra("512kB")).isEqualTo(512L * 1024);
        assertThat(maxExtra("512KB")).isEqualTo(512L * 1024);
        assertThat(maxExtra("500 mb")).isEqualTo(500L * 1024 * 1024);
        assertThat(maxExtra("1TB")).isEqualTo(1L << 40);

        assertThat(pause("0")).isEqualTo(Duration.ZERO);
        assertThat(pause("200ms")).isEqualTo(Duration.ofMillis(200));
        assertThat(pause("5s")).isEqualTo(Duration.ofSeconds(5));
        assertThat(pause("1m")).isEqualTo(Duration.ofMinutes(1));
        assertThat(pause("1H")).isEqualTo(Duration.ofHours(1));
        assertThat(window("4h")).isEqualTo(Duration.ofHours(4));
        assertThat(window("1d")).isEqualTo(Duration.ofDays(1));
    }

    @Test
    void setAndStorageCannotBeChangedAfterLoading() {
        JobDefinition job = parse("name: x\ntable: t\noperation: backfill\nset: {a: '1'}\nstorage: {fillfactor: 90}\n");

        assertThatThrownBy(() -> job.set().put("b", "2")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> job.storage().clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void operationAndRetireSpellings() {
        for (Operation operation : Operation.values()) {
            assertThat(Operation.fromYaml(operation.yamlName())).isEqualTo(operation);
        }
        assertThat(Operation.ADD_COLUMN.yamlName()).isEqualTo("add-column");
        assertThat(Operation.COMPACT.changesShape()).isFalse();
        assertThat(Operation.DROP_COLUMN.changesShape()).isFalse();
        assertThatThrownBy(() -> Operation.fromYaml("alter-type")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("alter-column-type");
        assertThat(Retire.fromYaml("keep")).isEqualTo(Retire.KEEP);
    }

    @Test
    void aDefinitionBuiltInCodeGetsTheSameDefaults() {
        JobDefinition job = new JobDefinition(null, "x", null, "t", Operation.ALTER_COLUMN_TYPE, "m", "integer", null,
                null, null, null, null, 1, null, null, null, null, null);

        assertThat(job).isEqualTo(JobDefinitions.parse(
                "name: x\ntable: t\noperation: alter-column-type\ncolumn: m\ntype: integer\n", null));
    }

    private static Long maxExtra(String size) {
        return parse("name: x\ntable: t\noperation: compact\ndisk: {max-extra: " + size + "}\n").disk().maxExtraBytes();
    }

    private static Duration window(String duration) {
        return parse("name: x\ntable: t\noperation: compact\nschedule: {cron: '0 0 1 * * ?', window: " + duration + "}\n")
                .schedule().window();
    }

    private static Duration pause(String duration) {
        return parse("name: x\ntable: t\noperation: compact\ncopy: {pause: " + duration + "}\n").copy().pause();
    }
}
