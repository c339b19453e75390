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
        Table table = catalog.find(def.schema(), def.table()).orElseThrow(() -> new IllegalStateException(
                "table " + def.schema() + "." + def.table() + " disappeared while the job ran"));
        Partition p = table.partitions().stream().filter(x -> x.name().equals(partitionName)).findFirst()
                .orElseThrow(() -> new IllegalStateException(partitionName + " is no longer a partition of "
                        + table.name() + " (detached or dropped by someone else?). Check the table; `pgrewrite status` shows where the job stands."));
        return new PartitionWork(def, table, p, PartitionNames.of(table, p), Projection.of(def, table), Keys.of(table));
    }
}
