package io.pgrewrite.plan;

import java.util.LinkedHashMap;
import java.util.Map;

import io.pgrewrite.definition.JobDefinition;
import org.springframework.batch.core.partition.Partitioner;
import org.springframework.batch.infrastructure.item.ExecutionContext;

/**
 * The Partitioner: one execution context per table partition, keyed by its name, so the worker step
 * executions are named {@code rewrite:<partition>} and keep that name across restarts. Spring Batch asks
 * again on a restart (seen after a kill and after a failed swap), and the catalog may have drifted since: a partition created meanwhile is included (it is
 * rewritten like the others), and one this job had started on that is gone now (a retention job dropped
 * it) is listed too, so that its worker finds it gone, drops its working copy and log, and records it as
 * {@code gone}.
 */
public final class PartitionList implements Partitioner {

    public static final String PARTITION = "partition";
    public static final String ORDER = "order";

    private final Planner planner;
    private final JobDefinition definition;

    public PartitionList(Planner planner, JobDefinition definition) {
        this.planner = planner;
        this.definition = definition;
    }

    @Override
    public Map<String, ExecutionContext> partition(int gridSize) {
        Map<String, ExecutionContext> contexts = new LinkedHashMap<>();
        int order = 0;
        java.util.List<String> names = new java.util.ArrayList<>();
        for (Partition p : planner.selectedPartitions(definition)) {
            names.add(p.name());
        }
        for (String started : planner.catalog().partitionsStartedBy(definition.jobKey())) {
            if (!names.contains(started)) {
                names.add(started); // started on, and gone since: its worker finds it gone and cleans up
            }
        }
        for (String name : names) {
            ExecutionContext ctx = new ExecutionContext();
            ctx.putString(PARTITION, name);
            ctx.putInt(ORDER, order++);
            contexts.put(name, ctx);
        }
        return contexts;
    }
}
