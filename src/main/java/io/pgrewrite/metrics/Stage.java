package io.pgrewrite.metrics;

import java.util.Arrays;
import java.util.List;

import io.pgrewrite.job.PartitionState;

/**
 * Where a partition stands, in the operator's words: the one vocabulary of {@code status}, the report,
 * the progress bars and log lines of {@code run}, and the meters {@code pgrewrite_partitions_<stage>}.
 * The finer states pgrewrite records per partition ({@link PartitionState}) map onto these.
 */
public enum Stage {
    /** Not started. */
    PENDING,
    /** capture, copy. */
    COPYING,
    /** index, catch up, verify. */
    VERIFYING,
    /** Verified; the swap has not committed yet. */
    SWAPPING,
    /** Swapped in (retire included). */
    DONE,
    /** stop or the end of a window interrupted it; restart continues it. */
    STOPPED,
    /** Failed; the reason is in status. */
    FAILED;

    /** The word shown to the operator (lower case). */
    public String word() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public String toString() {
        return word();
    }

    public static List<String> words() {
        return Arrays.stream(values()).map(Stage::word).toList();
    }

    /**
     * @param recorded the state in {@code pgrewrite.partition_state}, or null
     * @param workerStatus the status of the partition's worker step {@code rewrite:P}, or null when unknown
     */
    public static Stage of(String recorded, String workerStatus) {
        if (PartitionState.SWAPPED.equals(recorded) || PartitionState.RETIRED.equals(recorded)
                || PartitionState.EMPTY.equals(recorded)) {
            return DONE;
        }
        if ("FAILED".equals(workerStatus) || PartitionState.FAILED.equals(recorded)) {
            return FAILED;
        }
        if ("STOPPED".equals(workerStatus) || "ABANDONED".equals(workerStatus)) {
            return recorded == null ? PENDING : STOPPED;
        }
        if (recorded == null) {
            return PENDING;
        }
        return switch (recorded) {
            case PartitionState.CAPTURING, PartitionState.COPYING -> COPYING;
            case PartitionState.VERIFIED -> SWAPPING;
            default -> VERIFYING; // copied, indexed: past the copy, not verified yet
        };
    }
}
