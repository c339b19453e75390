package io.pgrewrite.demo;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * What the simulated application felt during one run: per kind of statement the count, errors, p50 /
 * p99 / max latency; and the longest time between two successful writes (from the start, and up to
 * the end, so a write stuck at the end counts too).
 *
 * @param longestWriteGapStartS when that longest gap began, in seconds from the start
 */
public record TrafficResult(Traffic.Settings settings, String table, double seconds, long rowsInserted,
                            List<Latencies.Summary> kinds, double longestWriteGapMs, double longestWriteGapStartS) {

    public long errors() {
        return kinds.stream().mapToLong(Latencies.Summary::errors).sum();
    }

    /** Plain text for a terminal, one kind a line. */
    public String toText() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "traffic on %s: %.1f s, %d rows inserted, %d errors, longest gap between writes %.0f ms (from %.1f s)%n",
                table, seconds, rowsInserted, errors(), longestWriteGapMs, longestWriteGapStartS));
        b.append(String.format(Locale.ROOT, "%-12s %8s %7s %10s %10s %10s %10s%n", "kind", "count", "errors", "unfinished",
                "p50 ms", "p99 ms", "max ms"));
        for (Latencies.Summary k : kinds) {
            b.append(String.format(Locale.ROOT, "%-12s %8d %7d %10d %10.1f %10.1f %10.1f%n", k.kind(), k.count(), k.errors(),
                    k.unfinished(), k.p50Ms(), k.p99Ms(), k.maxMs()));
            for (String m : k.firstErrors()) {
                b.append("  ").append(k.kind()).append(" error: ").append(m).append(System.lineSeparator());
            }
        }
        return b.toString();
    }

    /** The same figures as JSON, for scripts (bench/run.sh reads it with jq). */
    public String toJson() {
        String kindsJson = kinds.stream().map(k -> String.format(Locale.ROOT,
                "    \"%s\": {\"count\": %d, \"errors\": %d, \"unfinished\": %d, \"p50_ms\": %.1f, \"p99_ms\": %.1f, \"max_ms\": %.1f, \"first_errors\": [%s]}",
                k.kind(), k.count(), k.errors(), k.unfinished(), k.p50Ms(), k.p99Ms(), k.maxMs(),
                k.firstErrors().stream().map(TrafficResult::quote).collect(Collectors.joining(", "))))
                .collect(Collectors.joining(",\n"));
        return String.format(Locale.ROOT, """
                {
                  "table": %s,
                  "seconds": %.3f,
                  "insert_rate": %.2f,
                  "readers": %d,
                  "rows_inserted": %d,
                  "errors": %d,
                  "longest_write_gap_ms": %.1f,
                  "longest_write_gap_start_s": %.3f,
                  "kinds": {
                %s
                  }
                }
                """, quote(table), seconds, settings.insertRate(), settings.readers(), rowsInserted, errors(),
                longestWriteGapMs, longestWriteGapStartS, kindsJson);
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
