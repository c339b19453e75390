package io.pgrewrite.definition;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** An operator writes a job definition with a mistake: the message names the file, the key, the value and the fix. */
class DefinitionErrorsTest {

    private static final Path FILE = Path.of("jobs/x.yaml");
    private static final String VALID = """
            name: x
            table: passage
            operation: compact
            """;

    private static String errors(String yaml) {
        return assertThatThrownBy(() -> JobDefinitions.parse(yaml, FILE))
                .isInstanceOf(DefinitionException.class)
                .actual().getMessage();
    }

    @Test
    void unknownTopLevelKey() {
        assertThat(errors(VALID + "worker: 2\n")).isEqualTo("jobs/x.yaml: unknown key 'worker'; allowed keys: name, schema,"
                + " table, operation, column, type, using, set, storage, partitions, workers, copy, swap, disk, retire, statistics, schedule, throttle");
    }

    @Test
    void unknownNestedKey() {
        assertThat(errors(VALID + "copy: {chunk-size: 1000}\n"))
                .isEqualTo("jobs/x.yaml: unknown key 'copy.chunk-size'; allowed keys under copy: chunk-rows, pause");
    }

    @Test
    void missingRequiredKeys() {
        assertThat(errors("name: x\n")).isEqualTo("""
                jobs/x.yaml: missing required key 'table' (the partitioned table to rewrite)
                jobs/x.yaml: missing required key 'operation' (one of compact, backfill, add-column, alter-column-type, \
                drop-column)""");
    }

    @Test
    void requiredKeyWithoutValue() {
        assertThat(errors("name: x\ntable:\noperation: compact\n"))
                .isEqualTo("jobs/x.yaml: 'table' has no value; give the partitioned table to rewrite");
    }

    @Test
    void missingKeysOfTheOperation() {
        assertThat(errors("name: x\ntable: passage\noperation: add-column\n")).isEqualTo("""
                jobs/x.yaml: missing required key 'column' (the column to add)
                jobs/x.yaml: missing required key 'type' (the new column's SQL type, e.g. text)
                jobs/x.yaml: missing required key 'using' (the SQL expression that computes each row's value, \
                e.g. md5(kenteken))""");
        assertThat(errors("name: x\ntable: passage\noperation: backfill\n")).isEqualTo("jobs/x.yaml: missing required key"
                + " 'set' (the columns to set and an SQL expression for each, e.g. set: {passage_id: id})");
        assertThat(errors("name: x\ntable: passage\noperation: backfill\nset: {}\n")).isEqualTo("jobs/x.yaml: 'set' is"
                + " empty; give at least one column and its SQL expression, e.g. set: {passage_id: id}");
        assertThat(errors("name: x\ntable: passage\noperation: drop-column\n"))
                .isEqualTo("jobs/x.yaml: missing required key 'column' (the column to drop)");
    }

    @Test
    void wrongOperation() {
        assertThat(errors("name: x\ntable: passage\noperation: alter-type\n")).isEqualTo("jobs/x.yaml: 'operation' is"
                + " 'alter-type'; allowed: compact, backfill, add-column, alter-column-type, drop-column");
    }

    @Test
    void keyForbiddenByTheOperation() {
        assertThat(errors("name: x\ntable: passage\noperation: backfill\nset: {a: b}\ntype: integer\n"))
                .isEqualTo("jobs/x.yaml: 'type' is not allowed for operation backfill (use 'set' to give column expressions)");
        assertThat(errors(VALID + "column: a\n")).isEqualTo("jobs/x.yaml: 'column' is not allowed for operation compact"
                + " (compact rewrites the rows as they are; it takes no column, type, using or set)");
        assertThat(errors("name: x\ntable: t\noperation: drop-column\ncolumn: a\nusing: '1'\nset: {a: '1'}\n")).isEqualTo("""
                jobs/x.yaml: 'using' is not allowed for operation drop-column (drop-column takes only column)
                jobs/x.yaml: 'set' is not allowed for operation drop-column (drop-column takes only column)""");
        assertThat(errors("name: x\ntable: t\noperation: alter-column-type\ncolumn: a\ntype: int\nset:\n"))
                .isEqualTo("jobs/x.yaml: 'set' is not allowed for operation alter-column-type"
                        + " (alter-column-type takes column, type and optionally using)");
    }

    @Test
    void durationWithoutUnit() {
        assertThat(errors(VALID + "swap: {lock-timeout: 2}\n"))
                .isEqualTo("jobs/x.yaml: 'swap.lock-timeout' is '2'; give a unit, e.g. 200ms or 2s");
    }

    @Test
    void badDuration() {
        assertThat(errors(VALID + "copy: {pause: 5 sec}\n")).isEqualTo("jobs/x.yaml: 'copy.pause' is '5 sec';"
                + " give a whole number with a unit ms, s, m, h or d, e.g. 200ms, 5s or 4h");
        assertThat(errors(VALID + "swap: {lock-timeout: 2m}\n"))
                .isEqualTo("jobs/x.yaml: 'swap.lock-timeout' is '2m'; allowed: 1ms to 60s");
        assertThat(errors(VALID + "schedule: {cron: \"0 0 1 * * ?\", window: 0s}\n"))
                .isEqualTo("jobs/x.yaml: 'schedule.window' is '0s'; allowed: 1ms to 31d");
        assertThat(errors(VALID + "copy: {pause: 2h}\n")).isEqualTo("jobs/x.yaml: 'copy.pause' is '2h'; allowed: 0ms to 1h");
        assertThat(errors(VALID + "copy: {pause: 99999999999999999999d}\n")).startsWith("jobs/x.yaml: 'copy.pause' is"
                + " '99999999999999999999d'; too large");
    }

    @Test
    void badSize() {
        assertThat(errors(VALID + "disk: {max-extra: 20 GiB}\n")).isEqualTo("jobs/x.yaml: 'disk.max-extra' is '20 GiB';"
                + " give a whole number of bytes with an optional unit B, kB, MB, GB or TB (powers of 1024), e.g. 500MB or 20GB");
        assertThat(errors(VALID + "disk: {max-extra: 1.5GB}\n")).startsWith("jobs/x.yaml: 'disk.max-extra' is '1.5GB'; give");
        assertThat(errors(VALID + "disk: {max-extra: 0}\n"))
                .isEqualTo("jobs/x.yaml: 'disk.max-extra' is '0'; give at least 1 byte, or leave the key out for no limit");
        assertThat(errors(VALID + "disk: {max-extra: 99999999TB}\n")).contains("'disk.max-extra' is '99999999TB'; too large");
    }

    @Test
    void badDate() {
        assertThat(errors(VALID + "partitions: {from: 2024-02-30}\n")).isEqualTo("jobs/x.yaml: 'partitions.from' is"
                + " '2024-02-30'; there is no such day; give a date as YYYY-MM-DD, e.g. 2024-03-01");
        assertThat(errors(VALID + "partitions: {to: 2024-3-1}\n"))
                .isEqualTo("jobs/x.yaml: 'partitions.to' is '2024-3-1'; give a date as YYYY-MM-DD, e.g. 2024-03-01");
        assertThat(errors(VALID + "partitions: {from: '2024-03-01T10:00:00'}\n"))
                .startsWith("jobs/x.yaml: 'partitions.from' is '2024-03-01T10:00:00'; give a date as YYYY-MM-DD");
    }

    @Test
    void partitionsFromNotBeforeTo() {
        assertThat(errors(VALID + "partitions: {from: 2024-03-02, to: 2024-03-02}\n")).isEqualTo("jobs/x.yaml:"
                + " 'partitions.from' (2024-03-02) must be before 'partitions.to' (2024-03-02); 'to' is exclusive:"
                + " from: 2024-03-01, to: 2024-04-01 is March");
    }

    @Test
    void numbersOutOfRangeOrNotNumbers() {
        assertThat(errors(VALID + "workers: 0\n")).isEqualTo("jobs/x.yaml: 'workers' is '0'; allowed: 1 to 64");
        assertThat(errors(VALID + "workers: 65\n")).isEqualTo("jobs/x.yaml: 'workers' is '65'; allowed: 1 to 64");
        assertThat(errors(VALID + "workers: two\n"))
                .isEqualTo("jobs/x.yaml: 'workers' is 'two'; give a whole number from 1 to 64");
        assertThat(errors(VALID + "copy: {chunk-rows: 99}\n"))
                .isEqualTo("jobs/x.yaml: 'copy.chunk-rows' is '99'; allowed: 100 to 10000000");
        assertThat(errors(VALID + "swap: {max-attempts: 1001}\n"))
                .isEqualTo("jobs/x.yaml: 'swap.max-attempts' is '1001'; allowed: 1 to 1000");
        assertThat(errors(VALID + "schedule: {cron: \"0 0 1 * * ?\", max-relaunches: -1}\n"))
                .isEqualTo("jobs/x.yaml: 'schedule.max-relaunches' is '-1'; allowed: 0 to 100");
    }

    @Test
    void cronWithWrongFieldCount() {
        assertThat(errors(VALID + "schedule: {cron: '0 1 * * *'}\n")).isEqualTo("jobs/x.yaml: 'schedule.cron' is"
                + " '0 1 * * *'; give a Quartz cron expression of 6 or 7 fields (seconds minutes hours day-of-month"
                + " month day-of-week [year]), e.g. \"0 0 1 * * ?\"; this one has 5");
    }

    @Test
    void scheduleWithoutCron() {
        assertThat(errors(VALID + "schedule: {window: 4h}\n")).isEqualTo(
                "jobs/x.yaml: missing required key 'schedule.cron' (a Quartz cron expression, e.g. \"0 0 1 * * ?\")");
    }

    @Test
    void badZone() {
        assertThat(errors(VALID + "schedule: {cron: \"0 0 1 * * ?\", zone: Europe/Amsterdan}\n")).isEqualTo("jobs/x.yaml:"
                + " 'schedule.zone' is 'Europe/Amsterdan'; give a time zone such as UTC, Europe/Amsterdam or +01:00");
    }

    @Test
    void semicolonInAnExpression() {
        assertThat(errors("name: x\ntable: t\noperation: backfill\nset: {a: \"1; DROP TABLE t\"}\n"))
                .isEqualTo("jobs/x.yaml: 'set.a' is '1; DROP TABLE t'; give a single SQL expression:"
                        + " the ';' at position 2 is outside quotes and comments and would end the statement");
        assertThat(errors("name: x\ntable: t\noperation: add-column\ncolumn: c\ntype: text\nusing: md5(k);\n"))
                .startsWith("jobs/x.yaml: 'using' is 'md5(k);'; give a single SQL expression: the ';' at position 7");
        assertThat(errors("name: x\ntable: t\noperation: add-column\ncolumn: c\ntype: text; drop table t\nusing: k\n"))
                .startsWith("jobs/x.yaml: 'type' is 'text; drop table t'; give a single SQL type: the ';' at position 5");
    }

    /** Issue 9 defect 3: a quote inside a comment hid the ';' from the old check, and plan ran the DROP. */
    @Test
    void semicolonBehindACommentedQuote() {
        assertThat(errors("name: x\ntable: passage\noperation: add-column\ncolumn: c\ntype: text\nusing: \"kenteken /* ' */)"
                + " AS text) FROM passage WHERE false; DROP TABLE victim; SELECT CAST(( /* ' */ kenteken\"\n"))
                .contains("'using' is 'kenteken /* ' */) AS text)", "give a single SQL expression: the ')' at position 17"
                        + " closes a parenthesis the text did not open");
        assertThat(errors("name: x\ntable: t\noperation: backfill\nset: {a: \"k /* ' */ ; DROP TABLE victim\"}\n"))
                .contains("'set.a'", "the ';' at position 11 is outside quotes and comments");
        assertThat(errors("name: x\ntable: t\noperation: backfill\nset: {a: \"k /* swallows the rest\"}\n"))
                .contains("'set.a'", "the quote or comment that starts at position 3 is never closed");
    }

    @Test
    void emptyExpression() {
        assertThat(errors("name: x\ntable: t\noperation: backfill\nset: {a: ~, b: ' '}\n")).isEqualTo("""
                jobs/x.yaml: 'set.a' has no value; give an SQL expression, e.g. NULL or id
                jobs/x.yaml: 'set.b' is ' '; give an SQL expression, e.g. md5(kenteken)""");
    }

    @Test
    void badNames() {
        assertThat(errors("name: my job\ntable: t\noperation: compact\n")).isEqualTo("jobs/x.yaml: 'name' is 'my job';"
                + " use 1 to 80 letters, digits, '_', '.' or '-', e.g. passage-massa-to-integer");
        assertThat(errors("name: x\ntable: ''\noperation: compact\n"))
                .isEqualTo("jobs/x.yaml: 'table' is ''; give a name (any characters; it is quoted)");
        assertThat(errors("name: x\ntable: " + "t".repeat(64) + "\noperation: compact\n"))
                .endsWith("; PostgreSQL names have at most 63 bytes; this one has 64");
    }

    @Test
    void badStorageParameters() {
        assertThat(errors(VALID + "storage: {FillFactor: 90, autovacuum_enabled: 'no way'}\n")).isEqualTo("""
                jobs/x.yaml: 'storage' has key 'FillFactor'; give a storage parameter name in lower case, \
                e.g. fillfactor or toast.autovacuum_enabled
                jobs/x.yaml: 'storage.autovacuum_enabled' is 'no way'; give a plain value of letters, digits, '_' and '.', \
                e.g. 90 or off""");
    }

    @Test
    void badRetire() {
        assertThat(errors(VALID + "retire: later\n")).isEqualTo("jobs/x.yaml: 'retire' is 'later'; allowed:"
                + " drop (drop the old partition after the swap), keep (leave it, detached)");
    }

    @Test
    void badStatistics() {
        assertThat(errors(VALID + "statistics: later\n")).isEqualTo("jobs/x.yaml: 'statistics' is 'later'; allowed:"
                + " after-swap (ANALYZE each partition after its swap, in the background), before-swap (ANALYZE its copy"
                + " before the swap)");
    }

    @Test
    void wrongShapes() {
        assertThat(errors(VALID + "copy: 5\n"))
                .isEqualTo("jobs/x.yaml: 'copy' is '5'; give a map, e.g. copy: {chunk-rows: 20000, pause: 50ms}");
        assertThat(errors(VALID + "schedule: [a, b]\n")).isEqualTo(
                "jobs/x.yaml: 'schedule' is a list; give a map, e.g. schedule: {cron: \"0 0 1 * * ?\", window: 4h}");
        assertThat(errors("name: x\ntable: [a, b]\noperation: compact\n"))
                .isEqualTo("jobs/x.yaml: 'table' is a list; give a single value");
    }

    @Test
    void emptyColumnNameInSet() {
        assertThat(errors("name: x\ntable: t\noperation: backfill\nset: {'': '1'}\n"))
                .isEqualTo("jobs/x.yaml: 'set' has key ''; give a name (any characters; it is quoted)");
    }

    @Test
    void mergeKeysAreRefused() {
        assertThat(errors("name: x\ntable: t\noperation: compact\ncopy: {<<: {pause: 1s}}\n"))
                .isEqualTo("jobs/x.yaml: merge keys ('<<') under copy are not supported; write the keys out");
    }

    @Test
    void keyGivenTwice() {
        assertThat(errors(VALID + "workers: 2\nworkers: 3\n"))
                .isEqualTo("jobs/x.yaml: key 'workers' is given twice; keep one");
    }

    @Test
    void allProblemsAreReportedTogetherOnePerLine() {
        String message = errors("""
                name: x
                operation: alter-type
                workers: 100
                copy: {chunk-size: 10}
                swap: {lock-timeout: 2}
                """);
        assertThat(message.lines()).hasSize(5).allMatch(line -> line.startsWith("jobs/x.yaml: "));
    }

    @Test
    void fileMissing() {
        assertThatThrownBy(() -> JobDefinitions.load(Path.of("jobs/no-such-job.yaml")))
                .isInstanceOf(DefinitionException.class)
                .hasMessageStartingWith("jobs/no-such-job.yaml: file not found (looked for /")
                .hasMessageEndingWith("jobs/no-such-job.yaml)");
        assertThatThrownBy(() -> JobDefinitions.load(Path.of("src")))
                .hasMessageStartingWith("src: is a directory");
    }

    @Test
    void invalidYaml() {
        assertThat(errors("name: x\n  table: passage\n")).isEqualTo(
                "jobs/x.yaml: is not valid YAML: mapping values are not allowed here (line 2, column 8)");
        assertThat(errors("name: x\n---\nname: y\n")).isEqualTo(
                "jobs/x.yaml: is not valid YAML: expected a single document in the stream, but found another document (line 2, column 1)");
    }

    @Test
    void emptyOrNotAMap() {
        assertThat(errors("# nothing yet\n")).isEqualTo(
                "jobs/x.yaml: is empty; a job definition needs at least name, table and operation");
        assertThat(errors("- name: x\n")).isEqualTo(
                "jobs/x.yaml: the top level is a list; give a map of keys, e.g. name: ..., table: ..., operation: ...");
    }

    @Test
    void messagesWithoutAFileSayJobDefinition() {
        assertThatThrownBy(() -> JobDefinitions.parse("name: x\n", null))
                .hasMessageStartingWith("job definition: missing required key 'table'");
    }
}
