package io.pgrewrite.definition;

import io.pgrewrite.definition.JobDefinition.Copy;
import io.pgrewrite.definition.JobDefinition.Disk;
import io.pgrewrite.definition.JobDefinition.Schedule;
import io.pgrewrite.definition.JobDefinition.Swap;
import io.pgrewrite.definition.JobDefinition.Throttle;
import io.pgrewrite.definition.Values.Invalid;
import io.pgrewrite.definition.Values.Parser;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.nodes.MappingNode;

/**
 * Binds the top-level YAML map of a definition to a {@link JobDefinition}, key by key, collecting
 * every problem before it gives up.
 */
final class Binder {

    static final List<String> TOP_KEYS = List.of("name", "schema", "table", "operation", "column", "type", "using",
            "set", "storage", "partitions", "workers", "copy", "swap", "disk", "retire", "statistics", "schedule", "throttle");

    static final List<String> THROTTLE_KEYS = List.of("replication-lag", "replication-lag-bytes", "wal-per-minute",
            "lock-waiters", "oldest-transaction", "anti-wraparound", "query", "query-max", "resume-below", "check-every");

    private final Problems problems;

    Binder(Problems problems) {
        this.problems = problems;
    }

    JobDefinition bind(Path file, MappingNode root) {
        Section top = Section.of(root, "", TOP_KEYS, problems);
        String name = required(top, "name", Values::name, "a name for this job, e.g. passage-massa-to-integer");
        String schema = optional(top, "schema", Values::identifier, null);
        Values.QualifiedName qualified = required(top, "table", Values::qualifiedName,
                "the partitioned table to rewrite");
        String table = qualified == null ? null : qualified.name();
        if (qualified != null && qualified.schema() != null) {
            if (schema != null && !schema.equals(qualified.schema())) {
                problems.add("'schema' is '" + Problems.shown(schema) + "' but 'table' names schema '"
                        + Problems.shown(qualified.schema()) + "'; give the schema once: remove 'schema:' or write only"
                        + " the table's name in 'table:'");
            }
            schema = qualified.schema();
        }
        schema = schema == null ? JobDefinition.DEFAULT_SCHEMA : schema;
        Operation operation = required(top, "operation", Values::operation, "one of " + Operation.yamlNames());
        String column = forOperation(top, operation, "column", Values::identifier);
        String type = forOperation(top, operation, "type", Values::type);
        String using = forOperation(top, operation, "using", Values::expression);
        Map<String, String> set = set(top, operation);
        Map<String, String> storage = entries(top.section("storage", null, "storage: {fillfactor: 90}"),
                Values::storageName, Values::storageValue);

        Section partitions = top.section("partitions", List.of("from", "to"),
                "partitions: {from: 2024-03-01, to: 2024-04-01}");
        LocalDate from = optional(partitions, "from", Values::date, null);
        LocalDate to = optional(partitions, "to", Values::date, null);
        if (from != null && to != null && !from.isBefore(to)) {
            problems.add("'partitions.from' (" + from + ") must be before 'partitions.to' (" + to
                    + "); 'to' is exclusive: from: 2024-03-01, to: 2024-04-01 is March");
        }
        int workers = optional(top, "workers", RuntimeSettings.WORKERS, 1);
        Copy copy = copy(top);
        Swap swap = swap(top);
        Disk disk = disk(top);
        Retire retire = optional(top, "retire", Values::retire, Retire.DROP);
        Statistics statistics = optional(top, "statistics", Values::statistics, Statistics.AFTER_SWAP);
        Schedule schedule = schedule(top);
        Throttle throttle = throttle(top);
        problems.throwIfAny();
        return new JobDefinition(file, name, schema, table, operation, column, type, using, set, storage,
                from, to, workers, copy, swap, disk, retire, schedule, throttle, statistics);
    }

    private Copy copy(Section top) {
        Section copy = top.section("copy", List.of("chunk-rows", "pause"), "copy: {chunk-rows: 20000, pause: 50ms}");
        return new Copy(
                optional(copy, "chunk-rows", RuntimeSettings.CHUNK_ROWS, Copy.DEFAULT.chunkRows()),
                optional(copy, "pause", RuntimeSettings.PAUSE, Copy.DEFAULT.pause()));
    }

    private Swap swap(Section top) {
        Section swap = top.section("swap", List.of("lock-timeout", "max-attempts", "window"),
                "swap: {lock-timeout: 200ms, max-attempts: 20}");
        return new Swap(
                optional(swap, "lock-timeout", Quantities.duration("1ms", "60s"),
                        Swap.DEFAULT.lockTimeout()),
                optional(swap, "max-attempts", Values.wholeNumber(1, 1000), Swap.DEFAULT.maxAttempts()),
                optional(swap, "window", TimeWindow::parse, null));
    }

    private Throttle throttle(Section top) {
        Section t = top.section("throttle", THROTTLE_KEYS, "throttle: {replication-lag: 30s, wal-per-minute: 1GB}");
        Throttle none = Throttle.NONE;
        String query = optional(t, "query", Values::query, null);
        Double queryMax = optional(t, "query-max", Values::decimal, null);
        if (t.present("query") != t.present("query-max") && t.readable()) {
            problems.add("'throttle.query' and 'throttle.query-max' go together: the query returns a number, the job"
                    + " holds back while it is above query-max");
        }
        return new Throttle(
                optional(t, "replication-lag", RuntimeSettings.LAG, null),
                optional(t, "replication-lag-bytes", Quantities::size, null),
                optional(t, "wal-per-minute", Quantities::size, null),
                optional(t, "lock-waiters", RuntimeSettings.LOCK_WAITERS, null),
                optional(t, "oldest-transaction", RuntimeSettings.LAG, null),
                optional(t, "anti-wraparound", Values::bool, false),
                query, queryMax,
                optional(t, "resume-below", Values::percent, none.resumeBelowPercent()),
                optional(t, "check-every", RuntimeSettings.CHECK_EVERY, none.checkEvery()));
    }

    private Disk disk(Section top) {
        Section disk = top.section("disk", List.of("max-extra", "wait"), "disk: {max-extra: 20GB, wait: 30m}");
        return new Disk(optional(disk, "max-extra", Quantities::size, null),
                optional(disk, "wait", Quantities.duration("1s", "7d"), Disk.DEFAULT_WAIT));
    }

    private Schedule schedule(Section top) {
        if (!top.contains("schedule")) {
            return null;
        }
        Section schedule = top.section("schedule", List.of("cron", "window", "zone", "max-relaunches"),
                "schedule: {cron: \"0 0 1 * * ?\", window: 4h}");
        String cron = required(schedule, "cron", Values::cron, "a Quartz cron expression, e.g. \"0 0 1 * * ?\"");
        Duration window = optional(schedule, "window", Quantities.duration("1ms", "31d"), null);
        ZoneId zone = optional(schedule, "zone", Values::zone, Schedule.DEFAULT_ZONE);
        int maxRelaunches = optional(schedule, "max-relaunches", Values.wholeNumber(0, 100), 3);
        return cron == null ? null : new Schedule(cron, window, zone, maxRelaunches);
    }

    /** {@code column}, {@code type} or {@code using}: allowed, required or forbidden by the operation. */
    private String forOperation(Section top, Operation operation, String key, Parser<String> parser) {
        if (!allowed(top, operation, key)) {
            return null;
        }
        String text = key.equals("using") ? top.expressionText(key) : top.text(key);
        if (text == null) {
            if (operation != null && OperationKeys.requires(operation, key)) {
                missing(top, key, OperationKeys.meaning(operation, key));
            }
            return null;
        }
        return parse(top, key, text, parser);
    }

    private Map<String, String> set(Section top, Operation operation) {
        if (!allowed(top, operation, "set")) {
            return Map.of();
        }
        Section set = top.section("set", null, "set: {passage_id: id}");
        if (operation != null && set.readable() && set.isEmpty()) {
            if (top.present("set")) {
                problems.add("'set' is empty; give at least one column and its SQL expression,"
                        + " e.g. set: {passage_id: id}");
            } else {
                missing(top, "set", OperationKeys.meaning(operation, "set"));
            }
        }
        Map<String, String> columns = new LinkedHashMap<>();
        for (String column : set.keys()) {
            if (checkKey(set, column, Values::identifier)) {
                String text = set.expressionText(column);
                if (text == null) {
                    missing(set, column, "an SQL expression, e.g. NULL or id");
                } else {
                    putIfValid(columns, column, parse(set, column, text, Values::expression));
                }
            }
        }
        return columns;
    }

    /** A map of plain values under free keys, such as {@code storage}. */
    private Map<String, String> entries(Section section, Parser<String> keyParser, Parser<String> valueParser) {
        Map<String, String> entries = new LinkedHashMap<>();
        for (String key : section.keys()) {
            if (checkKey(section, key, keyParser)) {
                String text = section.text(key);
                if (text == null) {
                    missing(section, key, "a value");
                } else {
                    putIfValid(entries, key, parse(section, key, text, valueParser));
                }
            }
        }
        return entries;
    }

    private boolean checkKey(Section section, String key, Parser<String> keyParser) {
        try {
            keyParser.parse(key);
            return true;
        } catch (Invalid e) {
            problems.add("'" + section.path() + "' has key '" + Problems.shown(key) + "'; " + e.getMessage());
            return false;
        }
    }

    private static void putIfValid(Map<String, String> map, String key, String value) {
        if (value != null) {
            map.put(key, value);
        }
    }

    private boolean allowed(Section top, Operation operation, String key) {
        if (operation == null || OperationKeys.allows(operation, key)) {
            return true;
        }
        if (top.contains(key)) {
            problems.add("'" + key + "' is not allowed for operation " + operation.yamlName()
                    + " (" + OperationKeys.instead(operation) + ")");
        }
        return false;
    }

    private <T> T required(Section section, String key, Parser<T> parser, String meaning) {
        String text = section.text(key);
        if (text == null) {
            missing(section, key, meaning);
            return null;
        }
        return parse(section, key, text, parser);
    }

    /** The value, or {@code fallback} when the key is absent or its value is refused (and reported). */
    private <T> T optional(Section section, String key, Parser<T> parser, T fallback) {
        String text = section.text(key);
        T value = text == null ? null : parse(section, key, text, parser);
        return value == null ? fallback : value;
    }

    private <T> T parse(Section section, String key, String text, Parser<T> parser) {
        try {
            return parser.parse(text);
        } catch (Invalid e) {
            problems.badValue(section.path(key), text, e.getMessage());
            return null;
        }
    }

    /** Reports a required key that is absent or has no value (one that holds a list or map is reported already). */
    private void missing(Section section, String key, String meaning) {
        if (!section.readable()) {
            return;
        }
        if (!section.contains(key)) {
            problems.missing(section.path(key), meaning);
        } else if (!section.present(key)) {
            problems.add("'" + section.path(key) + "' has no value; give " + meaning);
        }
    }
}
