package io.pgrewrite.definition;

import io.pgrewrite.definition.JobDefinition.Copy;
import io.pgrewrite.definition.JobDefinition.Swap;
import io.pgrewrite.definition.JobDefinition.Throttle;
import io.pgrewrite.definition.Values.Invalid;
import io.pgrewrite.definition.Values.Parser;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The job keys an operator may change while the job runs ({@code pgrewrite set ID key=value}), checked
 * with the same parsers, bounds and messages as in a job definition. A value {@code default} (or empty)
 * goes back to the definition's value; {@code swap.window=always} lifts a window the definition has.
 */
public final class RuntimeSettings {

    static final Parser<Integer> WORKERS = Values.wholeNumber(1, 64);
    static final Parser<Integer> CHUNK_ROWS = Values.wholeNumber(100, 10_000_000);
    static final Parser<Duration> PAUSE = Quantities.duration("0ms", "1h");
    static final Parser<Duration> LAG = Quantities.duration("1ms", "31d");
    static final Parser<Integer> LOCK_WAITERS = Values.wholeNumber(0, 100_000);
    static final Parser<Duration> CHECK_EVERY = Quantities.duration("100ms", "1h");

    /** Every key {@code set} takes, in the order {@code jobs/README.md} lists them. */
    public static final List<String> KEYS = List.of("workers", "copy.chunk-rows", "copy.pause", "swap.window",
            "throttle.replication-lag", "throttle.replication-lag-bytes", "throttle.wal-per-minute",
            "throttle.lock-waiters", "throttle.oldest-transaction", "throttle.anti-wraparound", "throttle.query-max",
            "throttle.resume-below", "throttle.check-every");

    public static final String DEFAULT = "default";
    public static final String ALWAYS = "always";

    private static final Map<String, Parser<?>> PARSERS = parsers();

    private RuntimeSettings() {
    }

    private static Map<String, Parser<?>> parsers() {
        Map<String, Parser<?>> m = new LinkedHashMap<>();
        m.put("workers", WORKERS);
        m.put("copy.chunk-rows", CHUNK_ROWS);
        m.put("copy.pause", PAUSE);
        m.put("swap.window", t -> t.strip().equals(ALWAYS) ? ALWAYS : TimeWindow.parse(t));
        m.put("throttle.replication-lag", LAG);
        m.put("throttle.replication-lag-bytes", Quantities::size);
        m.put("throttle.wal-per-minute", Quantities::size);
        m.put("throttle.lock-waiters", LOCK_WAITERS);
        m.put("throttle.oldest-transaction", LAG);
        m.put("throttle.anti-wraparound", Values::bool);
        m.put("throttle.query-max", Values::decimal);
        m.put("throttle.resume-below", Values::percent);
        m.put("throttle.check-every", CHECK_EVERY);
        return m;
    }

    /**
     * Checks one setting; the message of the exception names the key, the value and what to give.
     *
     * @return the value as stored (stripped), or {@code null} for {@code default}: back to the definition
     */
    public static String check(String key, String value) {
        Parser<?> parser = PARSERS.get(key);
        if (parser == null) {
            throw new IllegalArgumentException("'" + key + "' cannot be changed while a job runs; keys that can: "
                    + String.join(", ", KEYS));
        }
        String v = value == null ? "" : value.strip();
        if (v.isEmpty() || v.equals(DEFAULT)) {
            return null;
        }
        try {
            parser.parse(v);
        } catch (Invalid e) {
            throw new IllegalArgumentException("'" + key + "' is '" + Problems.shown(v) + "'; " + e.getMessage()
                    + " (or 'default' for the job definition's value)");
        }
        return v;
    }

    /**
     * The definition as it is now: {@code def} with the operator's settings over it. Settings were checked
     * when stored; one that no longer parses (stored by another version) is ignored.
     */
    public static JobDefinition apply(JobDefinition def, Map<String, String> settings) {
        if (settings.isEmpty()) {
            return def;
        }
        int workers = value(settings, "workers", WORKERS, def.workers());
        Copy copy = new Copy(value(settings, "copy.chunk-rows", CHUNK_ROWS, def.copy().chunkRows()),
                value(settings, "copy.pause", PAUSE, def.copy().pause()));
        TimeWindow window = def.swap().window();
        if (settings.containsKey("swap.window")) {
            String w = settings.get("swap.window").strip();
            window = w.equals(ALWAYS) ? null : value(settings, "swap.window", TimeWindow::parse, window);
        }
        Swap swap = new Swap(def.swap().lockTimeout(), def.swap().maxAttempts(), window);
        Throttle t = def.throttle();
        Throttle throttle = new Throttle(
                value(settings, "throttle.replication-lag", LAG, t.replicationLag()),
                value(settings, "throttle.replication-lag-bytes", Quantities::size, t.replicationLagBytes()),
                value(settings, "throttle.wal-per-minute", Quantities::size, t.walPerMinute()),
                value(settings, "throttle.lock-waiters", LOCK_WAITERS, t.lockWaiters()),
                value(settings, "throttle.oldest-transaction", LAG, t.oldestTransaction()),
                value(settings, "throttle.anti-wraparound", Values::bool, t.antiWraparound()),
                t.query(),
                value(settings, "throttle.query-max", Values::decimal, t.queryMax()),
                value(settings, "throttle.resume-below", Values::percent, t.resumeBelowPercent()),
                value(settings, "throttle.check-every", CHECK_EVERY, t.checkEvery()));
        return def.with(workers, copy, swap, throttle);
    }

    private static <T> T value(Map<String, String> settings, String key, Parser<T> parser, T fallback) {
        String text = settings.get(key);
        if (text == null) {
            return fallback;
        }
        try {
            return parser.parse(text.strip());
        } catch (Invalid e) {
            return fallback;
        }
    }
}
