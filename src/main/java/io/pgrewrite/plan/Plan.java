package io.pgrewrite.plan;

import java.util.List;

import io.pgrewrite.definition.JobDefinition;

/**
 * What a run would do: the table, the partitions in the order they are rewritten, the preconditions
 * checked, and the estimated peak extra disk.
 */
public record Plan(JobDefinition definition, Table table, List<Partition> partitions, List<Check> checks,
        long estimatedPeakExtraBytes) {

    /**
     * One precondition and its outcome; {@code detail} says what was found or what to do.
     *
     * @param nothingToDo failed because the job's change is already there (exit 5, not 4)
     */
    public record Check(String name, boolean ok, String detail, boolean nothingToDo) {

        public Check(String name, boolean ok, String detail) {
            this(name, ok, detail, false);
        }

        /** Failed because the table already is as the job would make it. */
        public static Check alreadyDone(String name, String detail) {
            return new Check(name, false, detail, true);
        }
    }

    public boolean ok() {
        return checks.stream().allMatch(Check::ok);
    }

    public long totalBytes() {
        return partitions.stream().mapToLong(Partition::totalBytes).sum();
    }

    public long rowsEstimate() {
        return partitions.stream().mapToLong(p -> Math.max(0, p.rowsEstimate())).sum();
    }
}
