package io.pgrewrite.definition;

import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What differs between the definition an execution started with and the one a restart reads from the
 * file, and whether the difference may apply to a run under way.
 *
 * <p>What a run has already done rests on what it started with: expand added the column of that
 * {@code type}, the sync trigger computes that {@code using}, swapped partitions hold those values and
 * that {@code storage}, the partitions were chosen by those {@code partitions}, and plan proved those
 * expressions to be one expression each. A change to any of that would leave the table half one way and
 * half the other, so a restart refuses it. What only paces or bounds the work may change: {@code workers},
 * {@code copy.*}, {@code swap.*}, {@code disk.*}, {@code schedule.*}, {@code throttle.*} and {@code statistics}
 * (a partition swapped with its statistics still to sample gets them before contract either way). And
 * {@code using} / {@code set} may change, because fixing them is the way past a row that does not
 * convert (expand replaces the sync function on every restart, and the partitions not yet swapped are
 * copied with the new text), but only after PostgreSQL has proven the new text again: see
 * {@link #RECHECKED}.
 */
public final class DefinitionChanges {

    /** Keys (or key prefixes ending in '.') a restart may change. */
    public static final List<String> MAY_CHANGE = List.of("workers", "copy.", "swap.", "disk.", "schedule", "throttle.",
            "using", "set", "statistics");

    /** Keys a restart may change only once the server proved the new text to be one expression that type-checks. */
    public static final List<String> RECHECKED = List.of("using", "set", "throttle.query");

    private DefinitionChanges() {
    }

    /** The changed keys as written in YAML, e.g. {@code using}, {@code copy.pause}; empty when equal. */
    public static List<String> changedKeys(JobDefinition started, JobDefinition now) {
        List<String> changed = new ArrayList<>();
        compare("", started, now, changed);
        return changed;
    }

    /** The changed keys that a restart may not change. */
    public static List<String> refused(List<String> changedKeys) {
        return changedKeys.stream().filter(k -> !mayChange(k)).toList();
    }

    static boolean mayChange(String key) {
        return MAY_CHANGE.stream().anyMatch(m -> m.endsWith(".") ? key.startsWith(m) : key.equals(m) || key.startsWith(m + "."));
    }

    private static void compare(String prefix, Record a, Record b, List<String> changed) {
        for (RecordComponent c : a.getClass().getRecordComponents()) {
            if (a instanceof JobDefinition && c.getName().equals("file")) {
                continue; // where it was read from is no part of what it says
            }
            String key = prefix + yamlName(c.getName());
            Object x = value(c, a);
            Object y = value(c, b);
            if (x instanceof Record rx && y instanceof Record ry && rx.getClass() == ry.getClass()) {
                compare(key + ".", rx, ry, changed);
            } else if (x instanceof Map<?, ?> mx && y instanceof Map<?, ?> my && !mx.equals(my)) {
                changed.add(key); // set and storage: the whole map, its order aside
            } else if (!(x instanceof Map) && !Objects.equals(x, y)) {
                changed.add(key);
            }
        }
    }

    private static Object value(RecordComponent c, Record r) {
        try {
            return c.getAccessor().invoke(r);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + c.getName() + " of " + r.getClass().getSimpleName(), e);
        }
    }

    /** {@code chunkRows} → {@code chunk-rows}; the few components whose key reads otherwise by name. */
    static String yamlName(String component) {
        return switch (component) {
            case "partitionsFrom" -> "partitions.from";
            case "partitionsTo" -> "partitions.to";
            case "maxExtraBytes" -> "max-extra";
            case "maxWait" -> "wait";
            case "resumeBelowPercent" -> "resume-below";
            default -> component.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
        };
    }
}
