package io.pgrewrite.plan;

import io.pgrewrite.definition.JobDefinition;

/**
 * Everything the steps of one partition need, read fresh from the catalog at the start of each step
 * (so a restart sees the catalog as it is, not as it was).
 */
public record PartitionWork(JobDefinition definition, Table table, Partition partition, PartitionNames names,
        Projection projection, Keys keys) {

    public String jobKey() {
        return definition.jobKey();
    }

    public String name() {
        return partition.name();
    }

    /** Reads table and partition from the catalog. The partition may have been swapped already: it is
     * looked up by name, so after a swap this is the rewritten one. */
    public static PartitionWork load(Catalog catalog, JobDefinition def, String partitionName) {
        Table table = catalog.findWithPartition(def.schema(), def.table(), partitionName).orElseThrow(() -> new IllegalStateException(
                "table " + def.schema() + "." + def.table() + " disappeared while the job ran"));
        Partition p = table.partitions().stream().filter(x -> x.name().equals(partitionName)).findFirst()
                .orElseThrow(() -> new Gone(partitionName + " is no longer a partition of " + table.name()
                        + " (dropped by a retention job, or detached)"));
        return new PartitionWork(def, table, p, PartitionNames.of(table, p), Projection.of(def, table), Keys.of(table));
    }

    /** Whether the partition is still attached to the table (cheap: one catalog read). */
    public static boolean attached(org.springframework.jdbc.core.JdbcTemplate jdbc, JobDefinition def, String partitionName) {
        return Boolean.TRUE.equals(jdbc.queryForObject(ATTACHED, Boolean.class,
                io.pgrewrite.pg.Identifiers.qualified(def.schema(), def.table()), partitionName));
    }

    /**
     * Catalog only: is a relation of that name a partition of the table now? (the table, the partition's name) Not
     * one pending detach (a {@code DETACH … CONCURRENTLY} begun, or interrupted): it is leaving the table, and its
     * swap's DETACH would fail.
     */
    public static final String ATTACHED = "SELECT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            + " WHERE i.inhparent = to_regclass(?) AND c.relname = ? AND NOT i.inhdetachpending)";

    /** The partition is not attached any more: a retention job dropped it, or someone detached it. */
    public static final class Gone extends IllegalStateException {
        public Gone(String message) {
            super(message);
        }
    }

    /**
     * P is no longer what its copy was made from, found before anything of P changed: the partition is rolled back
     * (its copy and capture dropped) and copied again from scratch. Writes that bypassed its capture trigger
     * (TRUNCATE, triggers disabled, VACUUM FULL), or its bound changed since the copy's bound CHECK was made.
     * {@code remedy} says what an operator stops when it happens again and again.
     */
    public static class SourceChanged extends RuntimeException {
        private final String remedy;

        public SourceChanged(String message, String remedy) {
            super(message);
            this.remedy = remedy;
        }

        public String remedy() {
            return remedy;
        }
    }

    /** What to stop when writes keep bypassing a partition's capture trigger. */
    public static final String BEHIND_ITS_TRIGGERS = "stop what keeps changing it behind its triggers (TRUNCATE,"
            + " triggers disabled, VACUUM FULL or CLUSTER)";
    /** What to stop when a partition's bound keeps changing. */
    public static final String ITS_BOUND = "stop detaching it and attaching it again with another bound while the job runs";
    /** What to stop when the parent's columns or CHECKs keep changing. */
    public static final String ITS_SHAPE = "stop changing the table's columns or CHECK constraints while the job runs";

    /**
     * P's bound as a fingerprint: its {@code relpartbound} without the positions of the statement that attached it,
     * so a bound attached again as it was is the same bound and any other is not; unlike the bound's text, it does not
     * depend on the session's TimeZone. Part of a statement that reads {@code pg_class c}.
     */
    public static final String BOUND_FINGERPRINT = "hashtextextended(regexp_replace(c.relpartbound::text,"
            + " ' :location -?[0-9]+', '', 'g'), 0)::text";

    /**
     * The parent's shape changed under a partition's copy (a column, a CHECK added by a deploy): redone as any other
     * {@link SourceChanged}, within the same budget of copies thrown away.
     */
    public static final class ShapeDrift extends SourceChanged {
        public ShapeDrift(String message) {
            super(message, ITS_SHAPE);
        }
    }
}
