package io.pgrewrite.demo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Latencies and errors of one kind of statement of the simulated application. Every sample is kept
 * (a run of an hour at 10 inserts a second is 36 000 longs), so the percentiles are exact.
 */
final class Latencies {

    /** Enough to see what went wrong; the count says how often. */
    static final int MESSAGES_KEPT = 5;

    private final String kind;
    private final List<Long> nanos = new ArrayList<>();
    private final List<String> firstErrors = new ArrayList<>();
    private long errors;
    private long unfinished;

    Latencies(String kind) {
        this.kind = kind;
    }

    synchronized void ok(long latencyNanos) {
        nanos.add(latencyNanos);
    }

    synchronized void error(long latencyNanos, String message) {
        errors++;
        nanos.add(latencyNanos);
        if (firstErrors.size() < MESSAGES_KEPT) {
            firstErrors.add(message);
        }
    }

    /** A statement still running when the run ended: its latency so far is a lower bound, and counts. */
    synchronized void unfinished(long latencyNanos) {
        unfinished++;
        nanos.add(latencyNanos);
    }

    synchronized Summary summary() {
        long[] sorted = nanos.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(sorted);
        return new Summary(kind, sorted.length, errors, unfinished, ms(percentile(sorted, 0.50)),
                ms(percentile(sorted, 0.99)), ms(sorted.length == 0 ? 0 : sorted[sorted.length - 1]),
                List.copyOf(firstErrors));
    }

    /** Nearest rank: the smallest sample with at least p of all samples at or below it. */
    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
    }

    private static double ms(long nanos) {
        return nanos / 1_000_000.0;
    }

    /**
     * One kind's figures.
     *
     * @param count statements issued, failed and unfinished ones included
     * @param errors statements that failed
     * @param unfinished statements still waiting when the run ended
     */
    record Summary(String kind, long count, long errors, long unfinished, double p50Ms, double p99Ms, double maxMs,
                   List<String> firstErrors) {
    }
}
